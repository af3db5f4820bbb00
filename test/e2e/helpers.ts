/**
 * Shared set-up for end-to-end tests: throwaway hosts with a real sshd, the built CLI run inside them, and
 * snapshots of file trees to prove that a run changed nothing.
 */
import { fileURLToPath } from 'node:url';
import { linkHosts, startHost, type HostRunOptions, type ThrowawayHost } from '../../src/system/hosts.js';

export const CLI = fileURLToPath(new URL('../../bin/sftp-setup', import.meta.url));

let counter = 0;
/** Host names unique across parallel test files. */
export function uniqueName(base: string): string {
  return `${base}-${process.pid % 10000}-${counter++}`;
}

/** The package (clone) the tests run: bin/, dist/, templates/, node_modules/. */
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
/** Inside a host, where any user can read the package (see cliPath). Under the host's own tmpfs /mnt. */
const READABLE_ROOT = '/mnt/sftp-setup-clone';
const readable = new WeakMap<ThrowawayHost, Promise<void>>();

/**
 * The CLI's path inside the host for this user. Root runs it from the clone; another user (pi) may not be able
 * to reach the clone (a clone in a 0700 home, adduser's default), so the host gets a read-only bind mount of the
 * clone under its own /mnt, which only that host sees and no test's snapshot covers.
 */
export async function cliPath(host: ThrowawayHost, user?: string): Promise<string> {
  if (!user || user === 'root') return CLI;
  let ready = readable.get(host);
  if (!ready) {
    ready = host
      .sh(`mkdir -p ${READABLE_ROOT} && mount --bind "$1" ${READABLE_ROOT} && mount -o remount,bind,ro ${READABLE_ROOT}`.replace('"$1"', JSON.stringify(PACKAGE_ROOT)))
      .then(() => undefined);
    readable.set(host, ready);
  }
  await ready;
  return `${READABLE_ROOT}/bin/sftp-setup`;
}

export async function cli(host: ThrowawayHost, args: string[], opts: HostRunOptions = {}) {
  return host.run(['node', await cliPath(host, opts.user), ...args], opts);
}

export interface Pair {
  collector: ThrowawayHost;
  camera: ThrowawayHost;
  collectorAddr: string;
  cameraAddr: string;
  destroy(): Promise<void>;
}

/**
 * sshd arguments that exempt `addr` from PerSourcePenalties where the host's sshd has them (OpenSSH 9.8+, read
 * from sshd -T): the tests make many failed logins from one camera in a few seconds, which a real camera
 * does not, and would otherwise be refused ("Not allowed at this time") by later tests.
 */
export async function penaltyExemption(host: ThrowawayHost, addr: string): Promise<string[]> {
  const t = await host.run(['sh', '-c', '/usr/sbin/sshd -T 2>/dev/null | grep -i "^persourcepenalties "']);
  return t.exitCode === 0 ? ['-o', `PerSourcePenaltyExemptList=${addr}`] : [];
}

/** A collector running sshd and a camera, joined by a veth link; the camera knows the collector as "collector". */
export async function startPair(): Promise<Pair> {
  const [collector, camera] = await Promise.all([startHost('collector'), startHost('camera')]);
  const link = await linkHosts(collector, camera);
  collector.sshdArgs = await penaltyExemption(collector, link.b);
  await collector.startSshd();
  return {
    collector, camera, collectorAddr: link.a, cameraAddr: link.b,
    async destroy() {
      await Promise.all([collector.destroy(), camera.destroy()]);
    },
  };
}

/** Make a client key on a host and return its public line. */
export async function makeKey(host: ThrowawayHost, path: string, opts: { user?: string; type?: string } = {}): Promise<string> {
  const type = opts.type ?? 'ed25519';
  await host.sh(`rm -f ${path} ${path}.pub; ssh-keygen -q -t ${type} -N '' -C test@${host.name} -f ${path}`, { user: opts.user });
  return (await host.sh(`cat ${path}.pub`)).trim();
}

/**
 * A fingerprint of everything under the given paths: type, owner, mode, size, mtime and content hash of
 * every entry. Two equal snapshots mean nothing there changed, timestamps included. A chroot's dev/log (a
 * socket bound onto a file, which find takes for a file) is listed but not read.
 */
export async function snapshot(host: ThrowawayHost, paths: string[], opts: { mtime?: boolean } = {}): Promise<string> {
  const fmt = opts.mtime === false ? '%y %u:%g %m %s %p\\n' : '%y %u:%g %m %s %T@ %p\\n';
  return host.sh(
    `for p in ${paths.join(' ')}; do [ -e "$p" ] || continue; find "$p" -xdev \\( -name '*.pid' -o -path /var/log -o -path '/var/log/*' -o -path /var/cache -o -path '/var/cache/*' -o -path /var/lib/apt -o -path '/var/lib/apt/*' \\) -prune -o -printf '${fmt}' | sort -k5; done;` +
      ` for p in ${paths.join(' ')}; do [ -e "$p" ] || continue; find "$p" -xdev -type f ! -path '/var/log/*' ! -name '*.pid' ! -path '*/dev/log' -print0 | sort -z | xargs -0 -r sha256sum; done`,
  );
}

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

export async function cli(host: ThrowawayHost, args: string[], opts: HostRunOptions = {}) {
  return host.run(['node', CLI, ...args], opts);
}

export interface Pair {
  collector: ThrowawayHost;
  camera: ThrowawayHost;
  collectorAddr: string;
  cameraAddr: string;
  destroy(): Promise<void>;
}

/** A collector running sshd and a camera, joined by a veth link; the camera knows the collector as "collector". */
export async function startPair(): Promise<Pair> {
  const [collector, camera] = await Promise.all([startHost('collector'), startHost('camera')]);
  const link = await linkHosts(collector, camera);
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
 * every entry. Two equal snapshots mean nothing there changed, timestamps included.
 */
export async function snapshot(host: ThrowawayHost, paths: string[], opts: { mtime?: boolean } = {}): Promise<string> {
  const fmt = opts.mtime === false ? '%y %u:%g %m %s %p\\n' : '%y %u:%g %m %s %T@ %p\\n';
  return host.sh(
    `for p in ${paths.join(' ')}; do [ -e "$p" ] || continue; find "$p" -xdev \\( -name '*.pid' -o -path /var/log -o -path '/var/log/*' -o -path /var/cache -o -path '/var/cache/*' -o -path /var/lib/apt -o -path '/var/lib/apt/*' \\) -prune -o -printf '${fmt}' | sort -k5; done;` +
      ` for p in ${paths.join(' ')}; do [ -e "$p" ] || continue; find "$p" -xdev -type f ! -path '/var/log/*' ! -name '*.pid' -print0 | sort -z | xargs -0 -r sha256sum; done`,
  );
}

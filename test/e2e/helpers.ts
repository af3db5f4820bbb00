/**
 * Shared set-up for end-to-end tests: throwaway hosts with a real sshd, the built CLI run inside them, the
 * actions tests repeat (an sftp session, a login, a pinned host key, an admin's access), and snapshots of
 * file trees to prove that a run changed nothing. The names they use are in vocabulary.ts, re-exported here:
 * a test imports everything from this module.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../../src/system/exec.js';
import { linkHosts, startHost, type HostRunOptions, type ThrowawayHost } from '../../src/system/hosts.js';
import { ADMIN_KEY, COLLECTOR, destination, KNOWN_HOSTS, REMOTE_CLI, sshOptions, type Login } from './vocabulary.js';

export * from './vocabulary.js';

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

/** A lone collector running sshd (no camera): its tests log in over loopback, as `target: '127.0.0.1'`. */
export async function collectorHost(base = 'safe'): Promise<ThrowawayHost> {
  const h = await startHost(uniqueName(base));
  try {
    await h.startSshd();
  } catch (err) {
    await h.destroy();
    throw err;
  }
  return h;
}

/** Make a client key on a host and return its public line. */
export async function makeKey(host: ThrowawayHost, path: string, opts: { user?: string; type?: string } = {}): Promise<string> {
  const type = opts.type ?? 'ed25519';
  await host.sh(`rm -f ${path} ${path}.pub; ssh-keygen -q -t ${type} -N '' -C test@${host.name} -f ${path}`, { user: opts.user });
  return (await host.sh(`cat ${path}.pub`)).trim();
}

/**
 * A real sftp session from `host` as `who`, with `batch` on stdin: one command a line, and sftp -b stops at
 * the first that fails (a leading "-" lets one fail). Bounded at 30 s, so that a hang fails the test.
 */
export function sftpAs(host: ThrowawayHost, who: Login, batch: string, opts: HostRunOptions = {}): Promise<RunResult> {
  return host.run(['sftp', ...sshOptions(who).argv, '-b', '-', destination(who)], { timeoutMs: 30_000, ...opts, input: `${batch}\n` });
}

/** Does sshd let `who` in? A real sftp login that runs pwd; when it does not, stderr says why. */
export async function login(host: ThrowawayHost, who: Login): Promise<{ ok: boolean; stderr: string }> {
  const r = await sftpAs(host, who, 'pwd');
  return { ok: r.exitCode === 0, stderr: r.stderr };
}

/** Pin the collector's ed25519 host key in the camera's `file`, read from the collector's own file, not from the network. */
export async function pinHostKey(p: Pair, file = KNOWN_HOSTS): Promise<void> {
  const hostKey = (await p.collector.sh('cat /etc/ssh/ssh_host_ed25519_key.pub')).trim().split(' ').slice(0, 2).join(' ');
  await p.camera.sh(`echo '${COLLECTOR} ${hostKey}' > ${file}`);
}

/** The SHA256 fingerprint of a host's ed25519 host key (what --host-key pins). */
export async function hostKeyFingerprint(host: ThrowawayHost): Promise<string> {
  return (await host.sh('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1]!;
}

/** An admin's own access: root on `client` logs in as root on `server` with a new `key`. Returns its public line. */
export async function authorizeAdmin(client: ThrowawayHost, server: ThrowawayHost, key = ADMIN_KEY): Promise<string> {
  await client.sh(`mkdir -p -m 700 ${dirname(key)}`);
  const pub = await makeKey(client, key);
  await server.sh(`mkdir -p -m 700 /root/.ssh && echo '${pub}' >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys`);
  return pub;
}

/**
 * A stand-in for a long sftp-setup run on `host`: a process whose command line reads as sftp-setup (what the
 * lock trusts), holding the collector lock with its pid and start time. Returns its pid (kill it, then remove
 * /run/sftp-setup/lock).
 */
export async function holdCollectorLock(host: ThrowawayHost): Promise<string> {
  return (await host.sh(
    `mkdir -p /run/sftp-setup; bash -c 'exec -a /usr/local/bin/sftp-setup sleep 600' >/dev/null 2>&1 & p=$!; i=0;` +
      ` while [ "$(tr '\\0' ' ' < /proc/$p/cmdline)" != "/usr/local/bin/sftp-setup 600 " ]; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done;` +
      ` (umask 077; echo "$p $(cut -d' ' -f22 /proc/$p/stat)" > /run/sftp-setup/lock); echo $p`,
  )).trim();
}

/** sftp-setup callable on `host` at REMOTE_CLI, where --via runs it (SFTP_SETUP_REMOTE_COMMAND); returns that path. */
export async function installRemoteCli(host: ThrowawayHost): Promise<string> {
  await host.sh(`mkdir -p ${dirname(REMOTE_CLI)} && printf '#!/bin/sh\\nexec %s %s "$@"\\n' '${process.execPath}' '${CLI}' > ${REMOTE_CLI} && chmod 755 ${REMOTE_CLI}`);
  return REMOTE_CLI;
}

export interface SnapshotOptions {
  /** false: modification times left out (a rewrite with the same bytes is then no change) */
  mtime?: boolean;
  /**
   * A form two hosts can be compared by: no times (none of the entries', and contents hashed with the times
   * they carry masked: the time a key was added, the day of the last password change in shadow), nothing
   * each host has of its own (host keys, its name and addresses, the linker's cache), and sftp-setup's
   * temporary directories in /run counted by name without their random suffix.
   */
  acrossHosts?: boolean;
}

/**
 * A fingerprint of everything under the given paths: type, owner, mode, size, mtime and content hash of
 * every entry. Two equal snapshots mean nothing there changed, timestamps included. Never looked at: pid
 * files and logs (sshd writes them), and caches (the real machine's show through the overlays).
 */
export async function snapshot(host: ThrowawayHost, paths: string[], opts: SnapshotOptions = {}): Promise<string> {
  const across = opts.acrossHosts === true;
  const skipped = [`-name '*.pid'`, '-path /var/log', `-path '/var/log/*'`, '-path /var/cache', `-path '/var/cache/*'`, '-path /var/lib/apt', `-path '/var/lib/apt/*'`];
  const ownPerHost = [`-name 'ssh_host_*'`, '-name hostname', '-name hosts', '-name mtab', '-path /etc/ld.so.cache'];
  const pruned = [...skipped, ...(across ? ownPerHost : [])].join(' -o ');
  // A chroot's dev/log is a socket bound onto a file, which find takes for a file: listed, never read.
  const unhashed = [`-path '/var/log/*'`, `-name '*.pid'`, `-path '*/dev/log'`, ...(across ? ownPerHost : [])].map((t) => `! ${t}`).join(' ');
  const fmt = opts.mtime === false || across ? '%y %u:%g %m %s %p\\n' : '%y %u:%g %m %s %T@ %p\\n';
  const each = (body: string) => `for p in ${paths.join(' ')}; do [ -e "$p" ] || continue; ${body}; done`;
  const listing = each(`find "$p" -xdev \\( ${pruned} \\) -prune -o -printf '${fmt}' | sort -k5`);
  if (!across) return host.sh(`${listing}; ${each(`find "$p" -xdev -type f ${unhashed} -print0 | sort -z | xargs -0 -r sha256sum`)}`);
  return host.sh(
    `timeless() { case "$1" in */shadow|*/shadow-) sed -E 's/^([^:]*:[^:]*:)[0-9]*:/\\1DAY:/' "$1";;` +
      ` *) sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/TIME/g' "$1";; esac; }; ${listing};` +
      ` ${each(`find "$p" -xdev -type f ${unhashed} | sort | while IFS= read -r f; do echo "$(timeless "$f" | sha256sum | cut -c1-64)  $f"; done`)};` +
      ` ls -d /run/sftp-setup-* 2>/dev/null | sed 's/-[^-]*$/-XXX/'`,
  );
}

/**
 * A snapshot of /etc without what the shadow tools keep of the previous account files ("passwd-" etc.:
 * not ours to compare) and without directory sizes (the overlay's business): /etc as it was before init.
 */
export const withoutShadowBackups = (s: string) =>
  s.split('\n').filter((l) => !/\/etc\/(passwd|shadow|group|gshadow)-$/.test(l)).map((l) => l.replace(/^(d \S+ \d+) \d+ /, '$1 ')).join('\n');

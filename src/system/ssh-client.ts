/**
 * The camera's ssh client effects: running programs as the Allsky owner, fetching a collector's host keys,
 * ssh's own settings, SFTP sessions as the uploads make them or with exactly one key, the admin's SSH
 * session for `--via`, and closing a shared (multiplexed) connection.
 */
import { FailError } from '../errors.js';
import { run, type RunOptions, type RunResult } from './exec.js';
import { keyscanKeyLines } from '../camera/known-hosts.js';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

// ssh's UpdateHostKeys would add the collector's other host keys to known_hosts after a login: a check or a
// probe must leave the pinned file as it is.
const NO_UPDATE = ['-o', 'UpdateHostKeys=no'];

const destination = (user: string, host: string) => `${user}@${host.includes(':') ? `[${host}]` : host}`;

/** Run a program as another local user (root acting for the Allsky owner), or directly when that is us. */
export function runAsUser(who: RunAs | undefined, cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!who) return run(cmd, args, opts);
  const env = { ...opts.env, HOME: who.home, USER: who.name, LOGNAME: who.name };
  if (process.getuid?.() === who.uid) return run(cmd, args, { ...opts, env });
  return run('setpriv', [`--reuid=${who.uid}`, `--regid=${who.gid}`, `--init-groups`, '--', cmd, ...args], { ...opts, env });
}

/**
 * The collector's host keys as `host type base64` lines (ssh-keyscan). Each key type costs a connection, so
 * callers ask for ed25519 first and for the others only when they need them.
 */
export async function scanHostKeys(host: string, port: number, types = 'ed25519,ecdsa,rsa'): Promise<string> {
  const r = await run('ssh-keyscan', ['-T', '5', '-t', types, '-p', String(port), host], { timeoutMs: 20_000 });
  // OpenSSH 10's ssh-keyscan prints its `# host:port SSH-2.0-…` comment on stdout (older ones on stderr).
  const keys = keyscanKeyLines(r.stdout);
  if (keys === '') {
    const why = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).pop();
    throw new FailError(
      `cannot reach the collector ${host} on port ${port}${why ? `: ${why}` : ': no SSH server answered'}; nothing was changed`,
      'check --collector and --port, that the collector is on, and that sshd runs there (sudo sftp-setup doctor on the collector)',
    );
  }
  return keys;
}

/**
 * One SFTP login with the same ssh command lftp runs (its connect-program, then `-s -l USER -p PORT HOST
 * sftp`), ended at once by an empty stdin. It tells a refused key or host key from a working login in one
 * connection, where lftp would retry for seconds before giving up.
 */
export async function checkSftpLogin(who: RunAs | undefined, sshWords: string[], user: string, port: number, host: string): Promise<RunResult> {
  const [cmd, ...args] = sshWords;
  const all = [...args, ...NO_UPDATE, '-o', 'ConnectTimeout=10', '-s', '-l', user, '-p', String(port), host, 'sftp'];
  return runAsUser(who, cmd!, all, { input: '', timeoutMs: 30_000 });
}

/**
 * An sftp batch with exactly one key and the pinned host key: no ssh config, no agent, no prompt, no shared
 * connection. What it proves is that this key, as its owner can read it, logs in and may write.
 */
export async function sftpWithKey(
  who: RunAs,
  o: { key: string; knownHosts: string; host: string; port: number; user: string },
  batch: string,
  cwd: string,
): Promise<RunResult> {
  return runAsUser(who, 'sftp', [
    '-F', '/dev/null', '-i', o.key,
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'PasswordAuthentication=no',
    '-o', `UserKnownHostsFile=${o.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'ConnectTimeout=10', ...NO_UPDATE,
    '-P', String(o.port), '-b', '-', destination(o.user, o.host),
  ], { input: batch, cwd, timeoutMs: 30_000 });
}

/** Does ssh hash the host names it writes to known_hosts for this user (HashKnownHosts, Debian's default)? */
export async function sshHashesKnownHosts(who: RunAs, host: string, port: number): Promise<boolean> {
  const r = await runAsUser(who, 'ssh', ['-G', '-p', String(port), host]);
  return /^hashknownhosts yes$/m.test(r.stdout);
}

/**
 * A shell command on the collector over the admin's own SSH access (their keys, their known_hosts, plus
 * `knownHosts`, the camera's pinned file, when given). At a terminal ssh may ask for the admin's password or
 * key passphrase (read from the terminal, not stdin, which carries `input`); elsewhere BatchMode, so it
 * never waits for an answer nobody can type. No shared connection and no known_hosts updates.
 */
export async function viaSsh(
  admin: { user: string; host: string },
  command: string,
  o: { input?: string; port?: number; knownHosts?: string; lockWaitSeconds?: number } = {},
): Promise<RunResult> {
  const args = [
    '-o', 'ConnectTimeout=10', ...(process.stdin.isTTY ? [] : ['-o', 'BatchMode=yes']), '-o', 'ControlPath=none', ...NO_UPDATE,
    ...(o.knownHosts ? ['-o', `UserKnownHostsFile=~/.ssh/known_hosts ${o.knownHosts}`] : []),
    ...(o.port && o.port !== 22 ? ['-p', String(o.port)] : []),
    destination(admin.user, admin.host), '--', command,
  ];
  // The remote run may first wait up to --wait for the collector's lock: that wait is on top of the run's own time.
  return run('ssh', args, { input: o.input ?? '', timeoutMs: 120_000 + (o.lockWaitSeconds ?? 0) * 1000 });
}

/**
 * Close the shared connection a multiplexed connect-program keeps open (ControlPersist). Key rotation and
 * removal must call this: the master stays authenticated after its key is revoked until it is closed.
 * Runs as the Allsky owner with the owner's ssh config, so that ssh computes the same ControlPath (%C) as
 * the uploads do.
 */
export async function closeSharedConnection(
  who: RunAs,
  o: { controlPath: string; host: string; port: number; user: string },
): Promise<boolean> {
  const r = await runAsUser(who, 'ssh', ['-o', `ControlPath=${o.controlPath}`, '-p', String(o.port), '-l', o.user, '-O', 'exit', o.host], { timeoutMs: 10_000 });
  return r.exitCode === 0;
}

/** The host certificates the collector presents (`ssh-keyscan -c`): `[host] TYPE-cert-v01@openssh.com BASE64` lines. */
export async function scanHostCertificates(host: string, port: number): Promise<string[]> {
  const r = await run('ssh-keyscan', ['-c', '-T', '5', '-p', String(port), host], { timeoutMs: 20_000 });
  return keyscanKeyLines(r.stdout).split('\n').map((l) => l.trim().split(/\s+/)).map((f) => f.slice(f[0]?.endsWith('-cert-v01@openssh.com') ? 0 : 1))
    .filter((f) => f.length >= 2 && f[0]!.endsWith('-cert-v01@openssh.com')).map((f) => `${f[0]} ${f[1]}`);
}

/**
 * The camera's ssh client effects: fetching a collector's host keys, ssh's own settings, the admin's SSH
 * session for `--via`, running programs as the Allsky owner, and closing a shared (multiplexed) connection.
 */
import { FailError } from '../errors.js';
import { run, type RunOptions, type RunResult } from './exec.js';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Run a program as another local user (root acting for the Allsky owner), or directly when that is us. */
export function runAsUser(who: RunAs, cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
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
  if (r.stdout.trim() === '') {
    const why = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).pop();
    throw new FailError(
      `cannot reach the collector ${host} on port ${port}${why ? `: ${why}` : ': no SSH server answered'}; nothing was changed`,
      'check --collector and --port, that the collector is on, and that sshd runs there (sudo sftp-setup doctor on the collector)',
    );
  }
  return r.stdout;
}

/**
 * One SFTP login with the same ssh command lftp runs (its connect-program, then `-s -l USER -p PORT HOST
 * sftp`), ended at once by an empty stdin. It tells a refused key or host key from a working login in one
 * connection, where lftp would retry for seconds before giving up.
 */
export async function checkSftpLogin(who: RunAs | undefined, sshWords: string[], user: string, port: number, host: string): Promise<RunResult> {
  const [cmd, ...args] = sshWords;
  const all = [...args, '-o', 'ConnectTimeout=10', '-s', '-l', user, '-p', String(port), host, 'sftp'];
  const opts = { input: '', timeoutMs: 30_000 };
  return who ? runAsUser(who, cmd!, all, opts) : run(cmd!, all, opts);
}

/** Does ssh hash the host names it writes to known_hosts for this user (HashKnownHosts, Debian's default)? */
export async function sshHashesKnownHosts(who: RunAs, host: string, port: number): Promise<boolean> {
  const r = await runAsUser(who, 'ssh', ['-G', '-p', String(port), host]);
  return /^hashknownhosts yes$/m.test(r.stdout);
}

/** A shell command on the collector over the admin's own SSH access (their keys, their known_hosts). */
export async function viaSsh(admin: string, host: string, script: string, input?: string): Promise<RunResult> {
  const interactive = Boolean(process.stdin.isTTY);
  const args = ['-o', 'ConnectTimeout=10', ...(interactive ? [] : ['-o', 'BatchMode=yes']), `${admin}@${host}`, script];
  return run('ssh', args, { input, timeoutMs: 120_000 });
}

/**
 * Close the shared connection a multiplexed connect-program keeps open (ControlPersist). Key rotation and
 * removal must call this: the master stays authenticated after its key is revoked until it is closed.
 * Runs as the Allsky owner, whose ssh computes the same ControlPath (%C) as the uploads do.
 */
export async function closeSharedConnection(
  who: RunAs,
  opts: { controlDir: string; host: string; port: number; user: string },
): Promise<boolean> {
  const r = await runAsUser(who, 'ssh', [
    '-o', `ControlPath=${opts.controlDir.replace(/\/+$/, '')}/cm-%C`, '-p', String(opts.port), '-O', 'exit', `${opts.user}@${opts.host}`,
  ], { timeoutMs: 10_000 });
  return r.exitCode === 0;
}

/**
 * The collector side of the key handoff: the command a person runs there, and the commands `--via` runs
 * over the admin's SSH session (allsky-config and keys rotate). Pure, but for reading the environment.
 */
import { UsageError } from '../errors.js';
import { MAX_LOCK_WAIT_SECONDS } from '../lock.js';
import { shQuote } from '../text/shell.js';
import type { AdminTarget } from '../validate.js';

export { shQuote };

/** A collector command line exactly as a person would type it there. */
export function collectorLine(args: string[]): string {
  return ['sudo', 'sftp-setup', ...args.map(shQuote)].join(' ');
}

/** What to run on the collector to authorize the camera's key. */
export function handoffLine(user: string, publicLine: string): string {
  return collectorLine(['keys', 'add', '--user', user, publicLine]);
}

/**
 * The program `--via` runs on the collector: sftp-setup on the PATH, or SFTP_SETUP_REMOTE_COMMAND (tests and
 * the demo point it at their build). It goes into a remote shell line, so only a plain path is taken.
 */
export function remoteCommand(): string {
  const p = process.env.SFTP_SETUP_REMOTE_COMMAND?.trim() || 'sftp-setup';
  if (!/^[A-Za-z0-9@%+=:,./_-]+$/.test(p)) {
    throw new UsageError(`SFTP_SETUP_REMOTE_COMMAND ${JSON.stringify(p)} is not a plain program path`, 'give a path such as /usr/local/bin/sftp-setup');
  }
  return p;
}

/**
 * Where `--via` runs the collector's sftp-setup: the admin's login there, and the camera run's own --wait,
 * which the collector's run then waits for its lock (instead of its default).
 */
export interface ViaTarget extends AdminTarget {
  wait: number;
}

/** `--wait SECONDS` for the collector's run: only a whole number in --wait's range reaches the remote shell line. */
export function waitArgs(seconds: number): string[] {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_LOCK_WAIT_SECONDS) {
    throw new UsageError(`--wait ${String(seconds)} is not a whole number of seconds`, `give a whole number of seconds from 0 to ${MAX_LOCK_WAIT_SECONDS}`);
  }
  return ['--wait', String(seconds)];
}

/**
 * The argument vector `sftp-setup ARGS` runs as over `--via`: through `sudo -n` unless the admin is root, so
 * that a sudo that wants a password fails at once (sudoWantsPassword) instead of waiting for one nobody can
 * type; the camera's --wait last (commander reads options after operands too).
 */
export function viaArgv(admin: string, args: string[], wait: number, program = remoteCommand()): string[] {
  return [...(admin === 'root' ? [] : ['sudo', '-n']), program, ...args, ...waitArgs(wait)];
}

/** viaArgv as the remote shell line ssh sends: every word quoted. */
export function viaCommand(admin: string, args: string[], wait: number, program = remoteCommand()): string {
  return viaArgv(admin, args, wait, program).map(shQuote).join(' ');
}

/** Did a `--via` command fail because sudo on the collector asks for a password? */
export function sudoWantsPassword(stderr: string): boolean {
  return /sudo: (a (terminal|password) is required|no tty present)/.test(stderr);
}

export const HOST_KEYS_MARK = '--- sftp-setup: end of host keys ---';

/**
 * One remote shell command for `--via`: print the collector's host keys (read through the admin's
 * authenticated session, so nothing is trusted on first use), a marker, then, unless only the keys are
 * wanted, authorize the key read from stdin.
 */
export function viaRemoteScript(opts: { admin: string; user: string; remoteCommand: string; addKey: boolean; wait: number }): string {
  const keys = `cat /etc/ssh/ssh_host_*_key.pub; echo ${shQuote(HOST_KEYS_MARK)}`;
  if (!opts.addKey) return keys;
  return `${keys}; ${viaCommand(opts.admin, ['keys', 'add', '--user', opts.user, '-'], opts.wait, opts.remoteCommand)}`;
}

/** Split the `--via` session output into the host key text and what `keys add` printed. */
export function splitViaOutput(stdout: string): { hostKeys: string; rest: string } | undefined {
  const at = stdout.indexOf(HOST_KEYS_MARK);
  if (at < 0) return undefined;
  return { hostKeys: stdout.slice(0, at), rest: stdout.slice(at + HOST_KEYS_MARK.length).replace(/^\r?\n/, '') };
}

/**
 * One remote shell command for `allsky-config --cert --via`: the collector's host keys (as for keys add),
 * the marker, then `keys sign --json` with the camera's public key on stdin (never in the command line);
 * with `dryRun` the collector signs nothing and only says which CAs it has.
 */
export function viaSignScript(opts: { admin: string; user: string; remoteCommand: string; dryRun: boolean; wait: number }): string {
  const keys = `cat /etc/ssh/ssh_host_*_key.pub; echo ${shQuote(HOST_KEYS_MARK)}`;
  const args = ['keys', 'sign', '--user', opts.user, '--json', ...(opts.dryRun ? ['--dry-run'] : []), '-'];
  return `${keys}; ${viaCommand(opts.admin, args, opts.wait, opts.remoteCommand)}`;
}

/** What to run on the collector to certify the camera's key by hand. */
export function signLine(user: string, publicLine: string): string {
  return collectorLine(['keys', 'sign', '--user', user, publicLine]);
}

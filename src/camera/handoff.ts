/**
 * The collector side of the key handoff: the command a person runs there, and the command `--via` runs
 * over the admin's SSH session. Pure.
 */

/** POSIX shell single-quoting. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** What to run on the collector to authorize the camera's key. */
export function handoffLine(user: string, publicLine: string, remoteCommand = 'sftp-setup'): string {
  return `sudo ${remoteCommand} keys add --user ${shQuote(user)} ${shQuote(publicLine)}`;
}

export const HOST_KEYS_MARK = '--- sftp-setup: end of host keys ---';

/**
 * One remote shell command for `--via`: print the collector's host keys (read through the admin's
 * authenticated session, so nothing is trusted on first use), a marker, then, unless only the keys are
 * wanted, authorize the key read from stdin. `sudo` unless the admin is root.
 */
export function viaRemoteScript(opts: { admin: string; user: string; remoteCommand: string; addKey: boolean }): string {
  const keys = `cat /etc/ssh/ssh_host_*_key.pub; echo ${shQuote(HOST_KEYS_MARK)}`;
  if (!opts.addKey) return keys;
  const sudo = opts.admin === 'root' ? '' : 'sudo ';
  return `${keys}; ${sudo}${opts.remoteCommand} keys add --user ${shQuote(opts.user)} -`;
}

/** Split the `--via` session output into the host key text and what `keys add` printed. */
export function splitViaOutput(stdout: string): { hostKeys: string; rest: string } | undefined {
  const at = stdout.indexOf(HOST_KEYS_MARK);
  if (at < 0) return undefined;
  return { hostKeys: stdout.slice(0, at), rest: stdout.slice(at + HOST_KEYS_MARK.length).replace(/^\r?\n/, '') };
}

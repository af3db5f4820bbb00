/**
 * The live probe's SFTP session as text: the batch of Allsky's upload sequence it sends for a directory, and
 * how it reads what sftp and ssh printed. Pure; system/probe.ts runs the session.
 */
import { isPlainDir } from './dirs.js';
import type { RunResult } from '../system/exec.js';

export const PROBE_NAME = '.sftp-setup-probe';
/** Every name a probe run may leave in an upload directory: ours, by prefix, with this run's tag. */
export const PROBE_LEFTOVER = /^\.sftp-setup-probe(-[0-9a-f]{1,32})?(\.tmp|\.read)?$/;

/**
 * Allsky's upload sequence: put to a temporary name (twice: overwrite), remove the target, rename. `d` is a
 * plain name (isPlainDir) and `tag` is ours: nothing here came from the tree, and nothing globs.
 */
export function dirBatch(d: string, tag: string, profile: 'allsky' | 'dropbox'): string[] {
  if (!isPlainDir(d) || !PROBE_LEFTOVER.test(tag)) throw new Error(`refusing to put ${JSON.stringify(d)} into an sftp batch`);
  const tmp = `/${d}/${tag}.tmp`;
  const final = `/${d}/${tag}`;
  if (profile === 'dropbox') return [`put payload ${tmp}`];
  return [`put payload ${tmp}`, `put payload ${tmp}`, `-rm ${final}`, `rename ${tmp} ${final}`, `rm ${final}`];
}

export function dirTitle(profile: 'allsky' | 'dropbox'): string {
  return profile === 'allsky' ? 'put, overwrite, rename, remove' : 'put accepted';
}

/**
 * The lines sftp printed for batch command `cmd`: between its echo and the echo of `next` (a command
 * holding this run's random tag, so that no name can forge it); null when those are not where they must be.
 */
export function outputOf(stdout: string, cmd: string, next: string): string[] | null {
  const lines = stdout.split('\n');
  const start = lines.indexOf(`sftp> ${cmd}`);
  if (start < 0) return null;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i]!.startsWith('sftp> ')) {
      end = i;
      break;
    }
  }
  if (lines[end] !== `sftp> ${next}`) return null;
  return lines.slice(start + 1, end);
}

/**
 * The names `ls -1a /` printed (the batch command `cmd`), up to the echo of `next`; null when that echo
 * is not where it must be. Only root can name things in the chroot's root, but a name with a line break
 * must not fool the check.
 */
export function listing(stdout: string, next: string, cmd = 'ls -1a /'): string[] | null {
  const lines = outputOf(stdout, cmd, next);
  if (lines === null) return null;
  const out: string[] = [];
  for (const l of lines) {
    const name = l.replace(/^\/+/, '');
    if (name && name !== '.' && name !== '..') out.push(name);
  }
  return out.sort();
}

/** The last two lines sftp or ssh complained with (sftp's echoed commands left out), or the exit code. */
export function oneLine(r: RunResult): string {
  const text = (r.stderr || r.stdout).trim().split('\n').filter((l) => !l.startsWith('sftp>'));
  return text.slice(-2).join(' / ') || `exit ${r.exitCode}`;
}

/** Why a login failed, in a few words, from what ssh printed. */
export function explainLoginFailure(r: RunResult): string {
  const e = r.stderr;
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(e)) return 'host key does not match';
  if (/Permission denied \(publickey/.test(e)) return 'key refused (Permission denied (publickey))';
  if (/Connection refused/.test(e)) return 'connection refused: sshd is not listening there';
  if (/Connection closed|closed by remote host/.test(e)) return 'connection closed after login: usually bad ownership or modes of the chroot';
  if (/timed out/i.test(e)) return 'connection timed out';
  return e.trim().split('\n').slice(-1)[0] ?? `exit ${r.exitCode}`;
}

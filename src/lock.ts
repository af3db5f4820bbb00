/**
 * What a lock file may be trusted for, decided from what was read (pure; src/system/lock.ts does the
 * reading). A lock blocks a run only when it is a regular file we own, with one link, in a directory only
 * we (or root) can write, holding the pid of a live sftp-setup run. Anything else is never trusted: a
 * stale or garbage lock of ours is taken over, a foreign or non-regular one is refused with the fix. A run
 * waits (up to `--wait`) only for a lock judged held.
 */
import { posix } from 'node:path';
import { RUN_DIR } from './collector/layout.js';

/**
 * How long a run waits for another run's lock by default (`--wait`). A changing run holds the lock for about
 * a second (keys add) to a few seconds (init with its self-test); cameras run `keys add` over `--via` and
 * `keys rotate` in bursts (a fleet rollout), so a minute lets dozens of them queue up, and still ends a run
 * stuck behind a forgotten prompt (init asks before it changes anything, holding the lock).
 */
export const DEFAULT_LOCK_WAIT_SECONDS = 60;
/** The longest --wait accepted: a day. */
export const MAX_LOCK_WAIT_SECONDS = 86_400;

/** `--wait SECONDS`: a whole number of seconds, 0 (do not wait) to a day; null when it is not one. */
export function parseWaitSeconds(text: string): number | null {
  if (!/^\d{1,6}$/.test(text.trim())) return null;
  const n = Number(text.trim());
  return n <= MAX_LOCK_WAIT_SECONDS ? n : null;
}

/** The one progress line a run prints when it starts waiting for another one. */
export function waitingLine(pid: number, lockedAt: Date | null, waitSeconds: number): string {
  const since = lockedAt ? ` (holding the lock since ${lockedAt.toTimeString().slice(0, 8)})` : '';
  return `sftp-setup: waiting for the sftp-setup run with pid ${pid}${since} to finish; up to ${waitSeconds} s (--wait)`;
}

/** Message and fix when the lock is still held after the wait (or at once with --wait 0). */
export function heldTooLong(pid: number, waitSeconds: number, path: string): { message: string; fix: string } {
  return waitSeconds > 0
    ? {
        message: `another sftp-setup run (pid ${pid}) is still changing this host after ${waitSeconds} s (--wait ${waitSeconds})`,
        fix: `run again later or with a longer --wait; if no such process runs, remove ${path}`,
      }
    : {
        message: `another sftp-setup run (pid ${pid}) is changing this host (--wait 0: not waiting)`,
        fix: `wait for it to finish, or give --wait SECONDS; if no such process runs, remove ${path}`,
      };
}

/** Where the collector's commands and a root camera run keep their lock: root-owned, 0755, not in /run/lock. */
export const ROOT_LOCK_DIR = RUN_DIR;

/** Metadata of the lock file or its directory (lstat/fstat). */
export interface LockStat {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'other';
  uid: number;
  mode: number;
  nlink: number;
}

/** The lock file's content: `PID START\n` (START: the process's start time in clock ticks, /proc/PID/stat). */
export function lockContent(pid: number, start: string | null): string {
  return start ? `${pid} ${start}\n` : `${pid}\n`;
}

export function parseLockContent(text: string): { pid: number; start: string | null } | null {
  const m = /^(\d{1,10})(?: (\d{1,20}))?\n?$/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  return pid > 1 ? { pid, start: m[2] ?? null } : null;
}

/** Field 22 of /proc/PID/stat (start time); the command name in field 2 may hold spaces and parentheses. */
export function startTimeOf(stat: string): string | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state): field 22 is fields[19]
  const v = fields[19];
  return v && /^\d+$/.test(v) ? v : null;
}

/** Is this /proc/PID/cmdline (NUL-separated argv) an sftp-setup run? `self` is our own script path. */
export function isSftpSetupCmdline(cmdline: string, self?: string): boolean {
  const argv = cmdline.split('\0').filter(Boolean);
  // node's own argv[0], then the script: bin/sftp-setup (or dist/cli.js inside an sftp-setup install)
  return argv.slice(0, 3).some((a) => posix.basename(a) === 'sftp-setup' || (self !== undefined && a === self) || /\/sftp-setup\/dist\/cli\.js$/.test(a));
}

export type LockVerdict =
  | { kind: 'held'; pid: number }
  | { kind: 'stale'; why: string }
  | { kind: 'foreign'; why: string };

export interface LockSeen {
  /** fstat of the file opened with O_NOFOLLOW|O_NONBLOCK, or lstat when it could not be opened */
  stat: LockStat;
  euid: number;
  /** up to the first bytes of the file; null when it is not a regular file */
  content: string | null;
  /** the holder as /proc shows it now, when the content names a pid */
  holder?: { alive: boolean; cmdline: string | null; start: string | null };
  self?: string;
  ownPid: number;
}

export function judgeLock(s: LockSeen): LockVerdict {
  if (s.stat.type !== 'file') return { kind: 'foreign', why: `it is a ${s.stat.type === 'fifo' ? 'FIFO' : s.stat.type === 'dir' ? 'directory' : s.stat.type === 'symlink' ? 'symbolic link' : 'special file'}, not a regular file` };
  if (s.stat.uid !== s.euid) return { kind: 'foreign', why: `it is owned by uid ${s.stat.uid}, not by uid ${s.euid}` };
  if (s.stat.nlink !== 1) return { kind: 'foreign', why: `it has ${s.stat.nlink} hard links` };
  const parsed = parseLockContent(s.content ?? '');
  if (!parsed) return { kind: 'stale', why: 'it does not hold a pid' };
  if (parsed.pid === s.ownPid) return { kind: 'stale', why: 'it names this very process' };
  const h = s.holder;
  if (!h || !h.alive) return { kind: 'stale', why: `pid ${parsed.pid} does not run` };
  if (!h.cmdline || !isSftpSetupCmdline(h.cmdline, s.self)) return { kind: 'stale', why: `pid ${parsed.pid} is not an sftp-setup run` };
  if (parsed.start && h.start && parsed.start !== h.start) return { kind: 'stale', why: `pid ${parsed.pid} is another process than the one that took the lock` };
  return { kind: 'held', pid: parsed.pid };
}

/**
 * Can a lock in this directory be trusted? It must be a real directory (not a link) owned by one of
 * `owners` and writable by no one else (so no other user can plant, replace or remove a lock there).
 * Returns why not, or null.
 */
export function unsafeLockDir(dir: LockStat | null, owners: number[]): string | null {
  if (!dir) return 'it does not exist';
  if (dir.type !== 'dir') return `it is a ${dir.type === 'symlink' ? 'symbolic link' : dir.type}, not a directory`;
  if (!owners.includes(dir.uid)) return `it is owned by uid ${dir.uid}`;
  if (dir.mode & 0o022) return `it is writable by group or others (mode ${(dir.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return null;
}

/**
 * The camera's lock: root uses the root-only directory; another user a directory of its own, in
 * $XDG_RUNTIME_DIR when set, owned by it and 0700 (a per-user tmpfs), or else ~/.cache. Never a world-writable directory.
 */
export function cameraLockPath(euid: number, env: { XDG_RUNTIME_DIR?: string }, home: string, runtimeDir?: LockStat | null): string {
  if (euid === 0) return `${ROOT_LOCK_DIR}/camera.lock`;
  const runtime = env.XDG_RUNTIME_DIR;
  // $XDG_RUNTIME_DIR only when it is ours and private (su and some sudo setups pass on another user's)
  const ours = runtimeDir && runtimeDir.type === 'dir' && runtimeDir.uid === euid && (runtimeDir.mode & 0o077) === 0;
  const base = runtime && posix.isAbsolute(runtime) && ours ? runtime : posix.join(home, '.cache');
  return posix.join(base, 'sftp-setup', 'camera.lock');
}

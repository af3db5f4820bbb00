/**
 * Effects for upload logging: which log socket this host has, what the chroot's `dev/log` is, and making or
 * removing its mount point. The chroot root is root's and the account cannot write there, but every look
 * inside it still goes through descriptors (safe-fs): nothing there is followed.
 */
import { promises as fs } from 'node:fs';
import { devLogPath, JOURNAL_SOCKET, SYSLOG_SOCKET, type DevLogFacts, type LogSocket } from '../collector/devlog.js';
import { canonicalPath, readMounts } from './mount.js';
import { createFileAt, ensureDirBeneath, lstatAt, lstatBeneath, rmdirBeneath, unlinkAt, withDir } from './safe-fs.js';
import { systemdRuns } from './sshd.js';

const ROOT_DIR = { mode: 0o755, uid: 0, gid: 0 };

async function socketAt(path: string): Promise<{ dev: number; ino: number } | null> {
  // stat follows /dev/log -> /run/systemd/journal/dev-log: both are root's.
  const s = await fs.stat(path).catch(() => null);
  return s?.isSocket() ? { dev: s.dev, ino: s.ino } : null;
}

/** The socket this host's own programs log through: journald's where systemd runs, else a syslog daemon's. */
export async function hostLogSocket(): Promise<LogSocket | null> {
  if (systemdRuns() && (await socketAt(JOURNAL_SOCKET))) return { path: JOURNAL_SOCKET, kind: 'journald' };
  if (await socketAt(SYSLOG_SOCKET)) return { path: SYSLOG_SOCKET, kind: 'syslog' };
  return null;
}

/** What `<root>/dev` and `<root>/dev/log` are now, and whether the latter is `socket` itself. */
export async function readDevLog(root: string, socket: LogSocket | null): Promise<DevLogFacts> {
  const dirStat = await lstatBeneath(root, 'dev').catch(() => 'bad' as const);
  const dir = dirStat === null ? 'missing' : dirStat !== 'bad' && dirStat.isDirectory() && dirStat.uid === 0 && (dirStat.mode & 0o022) === 0 ? 'ok' : 'bad';
  const fileStat = dir === 'ok' ? await lstatBeneath(root, 'dev/log').catch(() => null) : null;
  const file = !fileStat ? 'missing' : fileStat.isSocket() ? 'socket' : fileStat.isFile() ? 'file' : 'other';
  const target = devLogPath(await canonicalPath(root));
  const mounted = (await readMounts()).some((m) => m.mountPoint === target);
  const host = socket ? await socketAt(socket.path) : null;
  const live = Boolean(host && fileStat && file === 'socket' && fileStat.dev === host.dev && fileStat.ino === host.ino);
  return { dir, file, mounted, live };
}

/**
 * Make `<root>/dev` (root:root 0755) and the empty root-owned file `dev/log` to mount onto, as far as they
 * are missing. Returns what it made, for the rollback.
 */
export async function makeDevLogMountPoint(root: string): Promise<{ dir: boolean; file: boolean }> {
  const dir = (await ensureDirBeneath(root, 'dev', ROOT_DIR)).length > 0;
  const file = await withDir(root, 'dev', async (d) => {
    if (await lstatAt(d, 'log')) return false;
    await createFileAt(d, 'log', '', { mode: 0o644, uid: 0, gid: 0 });
    return true;
  });
  return { dir, file };
}

/**
 * Take away the mount point init made: `dev/log` while it is an empty regular file (the mount is gone), then
 * `dev` while it is empty. Anything else there is left alone.
 */
export async function removeDevLogMountPoint(root: string, what = { dir: true, file: true }): Promise<void> {
  if (what.file) {
    await withDir(root, 'dev', async (d) => {
      const s = await lstatAt(d, 'log');
      if (s?.isFile() && s.size === 0 && s.uid === 0) await unlinkAt(d, 'log');
    }).catch(() => {});
  }
  if (what.dir) await rmdirBeneath(root, 'dev');
}

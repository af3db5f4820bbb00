/**
 * Which files a user's processes hold open for writing, from /proc: what the watcher has instead of
 * inotify's IN_CLOSE_WRITE. For each process whose uid is the upload account's (its SFTP sessions), each
 * open descriptor is stat'ed through /proc/PID/fd/N (the open file itself: no path is resolved) and its
 * access mode read from /proc/PID/fdinfo/N. Reading another user's descriptors needs root (sshd's session
 * processes are not dumpable). Processes and descriptors that vanish meanwhile are skipped.
 */
import { promises as fs } from 'node:fs';

export const fileKey = (dev: number, ino: number) => `${dev}:${ino}`;

async function uidOf(pid: string): Promise<number[] | null> {
  const text = await fs.readFile(`/proc/${pid}/status`, 'latin1').catch(() => null);
  const m = text && /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(text);
  return m ? m.slice(1).map(Number) : null;
}

/** `O_WRONLY` or `O_RDWR` in /proc/PID/fdinfo/N's octal flags. */
async function writable(pid: string, fd: string): Promise<boolean> {
  const text = await fs.readFile(`/proc/${pid}/fdinfo/${fd}`, 'latin1').catch(() => null);
  const m = text && /^flags:\s+([0-7]+)/m.exec(text);
  return m ? (parseInt(m[1]!, 8) & 3) !== 0 : false;
}

/** Of `files` (fileKey(dev, ino)), those a process running as `uid` has open for writing. */
export async function openForWriting(uid: number, files: Set<string>): Promise<Set<string>> {
  const found = new Set<string>();
  if (files.size === 0) return found;
  const pids = (await fs.readdir('/proc')).filter((n) => /^\d+$/.test(n));
  await Promise.all(pids.map(async (pid) => {
    if (pid === String(process.pid)) return;
    const ids = await uidOf(pid);
    if (!ids?.includes(uid)) return;
    const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const s = await fs.stat(`/proc/${pid}/fd/${fd}`).catch(() => null);
      if (!s?.isFile()) continue;
      const key = fileKey(s.dev, s.ino);
      if (files.has(key) && !found.has(key) && (await writable(pid, fd))) found.add(key);
    }
  }));
  return found;
}

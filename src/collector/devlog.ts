/**
 * Upload logging. internal-sftp with `-l INFO` logs every open, close (with the bytes written), rename and
 * remove, but after the chroot it can only reach the log through `/dev/log` *inside* the chroot: without that
 * socket its lines are silently lost. init bind-mounts the host's log socket there (journald's
 * /run/systemd/journal/dev-log, or the /dev/log a syslog daemon made) and keeps the mount in /etc/fstab.
 * `<root>/dev` is root's (0755), so the account gains nothing it can write. Pure: the effects are in
 * src/system/devlog.ts, the step in devlog-step.ts.
 */
import { join } from 'node:path';
import { escapeMountPath, parseFstab, planMarkedEntry, removeMarkedEntry, type FstabEntry } from './mount.js';

/** journald's syslog socket; systemd keeps it across journald restarts (socket activation). */
export const JOURNAL_SOCKET = '/run/systemd/journal/dev-log';
/** A syslog daemon's socket (a symbolic link to JOURNAL_SOCKET where systemd runs). */
export const SYSLOG_SOCKET = '/dev/log';

export interface LogSocket {
  path: string;
  kind: 'journald' | 'syslog';
}

/** The mount point in the chroot (a root-owned empty file until the socket is bound onto it). */
export const devLogPath = (root: string) => join(root, 'dev', 'log');

/** Does a ForceCommand line make internal-sftp log (-l LEVEL)? */
export function logsUploads(forceCommand: string | undefined): boolean {
  return /(^|\s)-l\s*\S/.test(forceCommand ?? '');
}

export const devLogComment = (root: string) => `# sftp-setup: log socket for the uploads to ${escapeMountPath(root)} (init --log)`;

/**
 * The fstab line: a bind mount of the host's socket onto the file in the chroot; nofail so that a missing
 * socket never stops a boot. Under systemd the mount waits for journald's socket unit (mount units already
 * order themselves after journald's sockets; the requirement makes the socket exist first).
 */
export function devLogFstabLine(root: string, socket: LogSocket): string {
  const options = ['bind', 'nofail'];
  if (socket.kind === 'journald') options.push('x-systemd.requires=systemd-journald-dev-log.socket');
  return `${escapeMountPath(socket.path)} ${escapeMountPath(devLogPath(root))} none ${options.join(',')} 0 0`;
}

export function planDevLogFstab(text: string, root: string, socket: LogSocket) {
  return planMarkedEntry(text, devLogComment(root), devLogFstabLine(root, socket));
}

const oursFor = (root: string) => (e: FstabEntry) => e.target === devLogPath(root) && e.options.includes('bind');

/** fstab without our line for this chroot, and the socket that line bound (to bind it again on rollback). */
export function removeDevLogFstab(text: string, root: string): { text: string; removed: boolean; source?: string } {
  const lines = text.split('\n');
  const at = lines.findIndex((l, i) => l === devLogComment(root) && i + 1 < lines.length);
  const entry = at >= 0 ? parseFstab(lines[at + 1]!)[0] : undefined;
  const r = removeMarkedEntry(text, devLogComment(root), oursFor(root));
  return r.removed && entry ? { ...r, source: entry.source } : r;
}

/** What the host shows of the chroot's log socket (src/system/devlog.ts reads it). */
export interface DevLogFacts {
  /** `<root>/dev`: missing, a root-owned directory closed to others, or something else */
  dir: 'missing' | 'ok' | 'bad';
  /** `<root>/dev/log` as lstat sees it (through a mount: the mounted socket) */
  file: 'missing' | 'file' | 'socket' | 'other';
  /** a mount sits on `<root>/dev/log` */
  mounted: boolean;
  /** `<root>/dev/log` is the very socket the host logs through (same device and inode) */
  live: boolean;
}

/**
 * What is left to do for logging to reach the host's log: [] when the socket in the chroot is live (ours,
 * or one a syslog daemon listens on itself, e.g. rsyslog's $AddUnixListenSocket) and fstab keeps ours.
 */
export function devLogTodo(f: DevLogFacts, fstabChange: 'none' | 'added' | 'updated'): string[] {
  const todo: string[] = [];
  const foreignSocket = f.file === 'socket' && !f.mounted;
  if (foreignSocket) return todo; // a syslog daemon's own socket in the chroot: it needs nothing of ours
  if (fstabChange === 'added') todo.push('/etc/fstab: bind mount added');
  if (fstabChange === 'updated') todo.push('/etc/fstab: bind mount updated');
  if (f.dir !== 'ok') todo.push(f.dir === 'missing' ? 'make dev (root:root 0755)' : 'make dev root:root 0755');
  if (!f.mounted) todo.push('bind-mount the log socket');
  else if (!f.live) todo.push('bind-mount again (the mount there no longer leads to the log socket)');
  return todo;
}

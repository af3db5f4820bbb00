/**
 * Mount effects for init --protect-mount and doctor: read the mount table, bind-mount the upload tree onto
 * itself and set its per-mount flags, undo that on rollback. Decisions live in src/collector/mount.ts.
 */
import { promises as fs } from 'node:fs';
import { parseMountinfo, PROTECT_FLAGS, type MountEntry } from '../collector/mount.js';
import { runOk } from './exec.js';

export const FSTAB = '/etc/fstab';

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8'));
}

/** The path as the mount table names it (symbolic links resolved); the path itself when it is missing. */
export async function canonicalPath(path: string): Promise<string> {
  return fs.realpath(path).catch(() => path);
}

/** Make `root` a mount point of its own (bind onto itself), unless it is one already. */
export async function bindOnto(root: string): Promise<void> {
  await runOk('mount', ['--bind', '--', root, root]);
}

/** Set the protective flags on the mount at `root` (per mount point only: the filesystem is untouched). */
export async function remountProtected(root: string): Promise<void> {
  await runOk('mount', ['-o', `remount,bind,${PROTECT_FLAGS.join(',')}`, '--', root]);
}

/** Put back the per-mount flags a mount had (its mountinfo options, e.g. rw,relatime). */
export async function remountWith(root: string, options: string[]): Promise<void> {
  await runOk('mount', ['-o', `remount,bind,${options.join(',')}`, '--', root]);
}

/**
 * Detach the mount at `root` (lazy: an SFTP session still chrooted there, e.g. a camera uploading right
 * now, keeps it busy; it goes on with its view until it ends, while the path shows the tree beneath).
 */
export async function unmount(root: string): Promise<void> {
  await runOk('umount', ['--lazy', '--', root]);
}

/** Bind-mount `source` (a file or socket) onto `target` (an existing file): the log socket into a chroot. */
export async function bindMount(source: string, target: string): Promise<void> {
  await runOk('mount', ['--bind', '--', source, target]);
}

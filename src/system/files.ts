/**
 * File effects: reading, atomic and in-place writes with backups, a journal to undo a run, and a lock.
 */
import { constants as C, promises as fs, readFileSync, type Stats } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { ACCOUNT_LINES_SUFFIX, accountLines, SECRET_FILES } from '../backup-rules.js';
import { fileError } from './file-error.js';
import { keepBackups, pruneBackups } from './backups.js';
import { beforeLockRelease } from './lock.js';
import { at, openDirTrusted, openTrustedAt, readFileTrustedSync } from './safe-fs.js';
import { printable } from '../text/printable.js';

// The trusted reads have a module of their own, so that a run that only reads loads none of this one.
export { readBytes, readText } from './read.js';

export interface FileInfo {
  type: 'file' | 'dir' | 'symlink' | 'other';
  uid: number;
  gid: number;
  /** permission bits only (e.g. 0o755) */
  mode: number;
  size: number;
  nlink: number;
  ino: number;
}

/** A file that ships with sftp-setup (a template), by its URL beside the code: part of the install, read as is. */
export function readShippedText(url: URL): string {
  return readFileSync(url, 'utf8');
}

/** FileInfo from an lstat (or a descriptor's fstat). */
export function fileInfoOf(s: Stats): FileInfo {
  const type = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
  return { type, uid: s.uid, gid: s.gid, mode: s.mode & 0o7777, size: s.size, nlink: s.nlink, ino: s.ino };
}

/** Run `fn` with the directory that holds `path` open (links on the way followed only when trusted). */
async function inParent<T>(path: string, fn: (dir: fs.FileHandle, name: string) => Promise<T>): Promise<T> {
  const dir = await openDirTrusted(dirname(path));
  try {
    return await fn(dir, basename(path));
  } finally {
    await dir.close();
  }
}

/** lstat: a symlink is reported as one, not followed. */
export async function statPath(path: string): Promise<FileInfo | null> {
  try {
    return fileInfoOf(await fs.lstat(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw fileError('inspect', path, err);
  }
}

/** The names in a directory (readdir(3), unsorted, links not followed into). */
export async function listDir(path: string): Promise<string[]> {
  return fs.readdir(path);
}

/** The path with every symbolic link on the way resolved (realpath(3)); rejects when it does not exist. */
export async function resolveLinks(path: string): Promise<string> {
  return fs.realpath(path);
}

/** When a file's content last changed, in ms since the epoch (a link is followed). */
export async function modifiedAt(path: string): Promise<number> {
  return (await fs.stat(path)).mtimeMs;
}

/** access(2) W_OK: may this process write the file (its mode, owner and a read-only mount all count)? */
export async function isWritable(path: string): Promise<boolean> {
  return fs.access(path, C.W_OK).then(() => true, () => false);
}

/** The last `bytes` of a file as UTF-8 (a log's recent lines), without reading the rest of it. */
export async function readTail(path: string, bytes: number): Promise<string> {
  const h = await fs.open(path, 'r');
  try {
    const { size } = await h.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await h.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) break; // truncated meanwhile (log rotation)
      got += bytesRead;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    await h.close();
  }
}

/** Free space on the filesystem that holds `path`: bytes available to ordinary users, and as a percentage. */
export async function freeSpace(path: string): Promise<{ bytes: number; percent: number }> {
  const s = await fs.statfs(path);
  return { bytes: s.bavail * s.bsize, percent: s.blocks ? (100 * s.bavail) / s.blocks : 100 };
}

export { fileError };

export interface WriteOptions {
  mode: number;
  uid?: number;
  gid?: number;
}

/**
 * Write a file so that readers see either the old or the new content, never a mix: a temporary file in
 * the same directory, fsync, owner and mode set, rename over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, content: string | Buffer, opts: WriteOptions): Promise<void> {
  try {
    await inParent(path, async (dir, name) => {
      // Created and renamed inside the directory we hold: no link at either name is ever followed.
      const tmp = `.${name}.sftp-setup-${process.pid}.tmp`;
      let handle: fs.FileHandle | undefined;
      try {
        handle = await fs.open(at(dir, tmp), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, opts.mode);
        await handle.writeFile(content);
        await handle.chmod(opts.mode);
        if (opts.uid !== undefined) await handle.chown(opts.uid, opts.gid ?? opts.uid);
        await handle.sync();
        await handle.close();
        handle = undefined;
        await fs.rename(at(dir, tmp), at(dir, name));
        await dir.sync().catch(() => {});
        await removeStaleTemps(dir, name);
      } catch (err) {
        await handle?.close().catch(() => {});
        await fs.unlink(at(dir, tmp)).catch(() => {});
        throw err;
      }
    });
  } catch (err) {
    throw fileError('write', path, err);
  }
}

/**
 * A run killed between writing its temporary file and the rename leaves `.NAME.sftp-setup-PID.tmp` behind.
 * Runs that write a file hold the lock, so once ours is in place any other such file for the same name is
 * stale: remove it, so that a killed run's next run converges.
 */
async function removeStaleTemps(dir: fs.FileHandle, name: string): Promise<void> {
  const prefix = `.${name}.sftp-setup-`;
  const names = await fs.readdir(at(dir)).catch(() => [] as string[]);
  for (const n of names) {
    if (n.startsWith(prefix) && /^\d+\.tmp$/.test(n.slice(prefix.length))) await fs.unlink(at(dir, n)).catch(() => {});
  }
}

/**
 * Rewrite a file in its own inode (for files that are hard links, such as Allsky's settings.json). Not
 * atomic: callers take a backup first. A longer content first claims the space it needs past the old end
 * (and gives it back if the disk is full), so that a full disk fails before any old byte is overwritten;
 * the new content is written before the file is cut to length.
 */
export async function writeFileInPlace(path: string, content: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await inParent(path, (dir, name) => openTrustedAt(dir, name, C.O_WRONLY | C.O_NONBLOCK));
    const st = await handle.stat();
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
    const buf = Buffer.from(content, 'utf8');
    const oldSize = st.size;
    if (buf.length > oldSize) {
      try {
        await writeAll(handle, buf.subarray(oldSize), oldSize);
        await handle.sync(); // delayed allocation reports a full disk here, not at write()
      } catch (err) {
        await handle.truncate(oldSize).catch(() => {});
        throw err;
      }
    }
    await writeAll(handle, buf.subarray(0, Math.min(oldSize, buf.length)), 0);
    await handle.truncate(buf.length);
    await handle.sync();
  } catch (err) {
    throw fileError('write', path, err);
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** FileHandle.write may write less than asked (a disk filling up) without an error: loop until done. */
async function writeAll(handle: fs.FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let off = 0; off < buf.length; ) {
    const { bytesWritten } = await handle.write(buf, off, buf.length - off, position + off);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    off += bytesWritten;
  }
}

export async function removeFile(path: string): Promise<void> {
  try {
    await inParent(path, async (dir, name) => {
      await fs.unlink(at(dir, name)).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return;
        // A read-only filesystem refuses unlink before it looks the name up: what is not there is removed.
        if (err.code === 'EROFS' && (await fs.lstat(at(dir, name)).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ENOENT'))) return;
        throw err;
      });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // its directory is gone too
    throw fileError('remove', path, err);
  }
}

/**
 * rmdir: the directory goes only while it is empty, so an undo never removes what someone put there since
 * (uploads, keys); any failure (not empty, already gone) is ignored.
 */
export async function removeEmptyDir(path: string): Promise<void> {
  await fs.rmdir(path).catch(() => {});
}

/** A second name for a file (link(2), atomic); fails when `to` exists. */
export async function linkFile(from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch (err) {
    throw fileError('link', to, err);
  }
}

/** rename(2), atomic: `to` is replaced if it exists. */
export async function renameFile(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    throw fileError('rename', from, err);
  }
}

/**
 * Create a directory (not its parents) with exact owner and mode; an existing one is fixed up. Owner and
 * mode are set through the directory's own descriptor: a link at its name is never followed.
 */
export async function ensureDir(path: string, mode: number, uid: number, gid: number): Promise<void> {
  try {
    await inParent(path, async (parent, name) => {
      await fs.mkdir(at(parent, name), { mode }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const dir = await fs.open(at(parent, name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      try {
        await dir.chown(uid, gid);
        await dir.chmod(mode);
      } finally {
        await dir.close();
      }
    });
  } catch (err) {
    throw fileError('create directory', path, err);
  }
}

/** Journals of this process whose backups stand (written, not rolled back): pruned when the run lets go of its lock. */
const standing = new Set<Journal>();

export interface RecordOptions {
  /** for /etc/shadow and /etc/gshadow: the accounts (and groups) whose lines the copy on disk keeps */
  accounts?: string[];
}

/**
 * Everything a run changed, so that a failure can put it all back. Each path is recorded once, before its
 * first change, with its original content and metadata (or absence). A copy is also kept on disk under the
 * backup directory (0700, copies 0600), so that a person can restore by hand after a crash; for files
 * that hold every user's password hash (SECRET_FILES) only the changed accounts' lines, as
 * FILE.account-lines. Rollback works from the full content, kept in memory.
 */
export class Journal {
  private readonly originals = new Map<string, { content: Buffer; info: FileInfo } | null>();
  /**
   * Every undo, file restores and onRollback() actions alike, in the order the run made the changes: the
   * rollback runs them backwards, so a directory removed after its files were is made again before they
   * are put back into it.
   */
  private readonly undos: Array<{ path?: string; run: () => Promise<void> }> = [];
  readonly backedUp: string[] = [];

  constructor(private readonly backupDir: string) {}

  get backupDirPath(): string {
    return this.backupDir;
  }

  async record(path: string, opts: RecordOptions = {}): Promise<void> {
    if (this.originals.has(path)) return;
    const info = await statPath(path);
    let content: Buffer | null = null;
    try {
      if (info) content = readFileTrustedSync(path);
    } catch (err) {
      throw fileError('back up', path, err);
    }
    if (content === null) {
      this.originals.set(path, null);
      this.undos.push({ path, run: () => removeFile(path) });
      return;
    }
    await this.recordContent(path, content, info!, opts);
  }

  /**
   * Record a file whose content the caller read itself (through a descriptor, in a tree it does not
   * trust): kept for rollback and copied under the backup directory, like record().
   */
  async recordContent(path: string, content: Buffer, info: FileInfo, opts: RecordOptions = {}): Promise<void> {
    if (this.originals.has(path)) return;
    this.originals.set(path, { content, info });
    const secret = SECRET_FILES.has(path);
    const copy = join(this.backupDir, secret ? path + ACCOUNT_LINES_SUFFIX : path);
    try {
      await fs.mkdir(dirname(copy), { recursive: true, mode: 0o700 });
      const h = await fs.open(copy, C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW, 0o600);
      try {
        await h.chmod(0o600);
        await h.writeFile(secret ? accountLines(content.toString('utf8'), opts.accounts ?? []) : content);
      } finally {
        await h.close();
      }
      standing.add(this);
    } catch (err) {
      await fs.rm(copy, { force: true }).catch(() => {}); // no half-written backup that looks whole
      throw fileError('back up', path, err);
    }
    this.backedUp.push(copy);
    this.undos.push({ path, run: () => restoreFile(path, { content, info }) });
  }

  /** Register a non-file undo (a user created, a directory made), run in reverse order on rollback. */
  onRollback(fn: () => Promise<void>): void {
    this.undos.push({ run: fn });
  }

  /**
   * Register what must run once everything is back (reload sshd after its configuration was put back); a
   * second registration under the same name is the same action, kept once.
   */
  afterRollback(name: string, fn: () => Promise<void>): void {
    if (!this.finally.has(name)) this.finally.set(name, fn);
  }

  private readonly finally = new Map<string, () => Promise<void>>();

  /** Whether the run changed anything a rollback would undo. */
  get changedAnything(): boolean {
    return this.undos.length > 0;
  }

  /** `content` may be binary (a KRL): a Buffer is written as it is. */
  async writeAtomic(path: string, content: string | Buffer, opts: WriteOptions): Promise<void> {
    await this.record(path);
    await writeFileAtomic(path, content, opts);
  }

  async writeInPlace(path: string, content: string): Promise<void> {
    await this.record(path);
    await writeFileInPlace(path, content);
  }

  async remove(path: string): Promise<void> {
    await this.record(path);
    await removeFile(path);
  }

  get changedPaths(): string[] {
    return [...this.originals.keys()];
  }

  /**
   * Undo everything, newest change first: files put back as they were, the other actions run, then the
   * afterRollback() actions. Best effort: returns the problems.
   */
  async rollback(): Promise<string[]> {
    standing.delete(this); // its backups are the state before a failed run: kept, and no reason to prune
    const problems: string[] = [];
    for (const undo of [...this.undos].reverse()) {
      try {
        await undo.run();
      } catch (err) {
        problems.push(undo.path ? `${undo.path}: ${(err as Error).message}` : (err as Error).message);
      }
    }
    for (const [name, fn] of this.finally) {
      try {
        await fn();
      } catch (err) {
        problems.push(`${name} after rollback: ${(err as Error).message}`);
      }
    }
    return problems;
  }
}

/** Put a recorded file back, unless the change never landed (a read-only or full disk). */
async function restoreFile(path: string, orig: { content: Buffer; info: FileInfo }): Promise<void> {
  if (await stillOriginal(path, orig)) return;
  if (orig.info.nlink > 1) await writeFileInPlace(path, orig.content.toString('utf8'));
  else await writeFileAtomic(path, orig.content, orig.info); // as bytes: a binary file (a KRL) comes back whole
}

async function stillOriginal(path: string, orig: { content: Buffer; info: FileInfo }): Promise<boolean> {
  const now = await statPath(path).catch(() => null);
  if (!now || now.type !== 'file' || now.mode !== orig.info.mode || now.uid !== orig.info.uid || now.gid !== orig.info.gid) return false;
  try {
    return readFileTrustedSync(path)?.equals(orig.content) === true;
  } catch {
    return false;
  }
}

/** A backup directory name for this run: <root>/<UTC timestamp>-<pid>. */
export function backupDirFor(root: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return join(root, `${stamp}-${process.pid}`);
}

/**
 * Letting go of the lock is where every changing run ends, so old backups are pruned there, still under the
 * lock (no other run writes or prunes meanwhile), for each journal of this run whose changes stand. A
 * prune that fails only says so: the run's own work is done.
 */
beforeLockRelease(async () => {
  for (const j of standing) {
    await pruneBackups(dirname(j.backupDirPath), keepBackups(), j.backupDirPath).catch((err: Error) => {
      process.stderr.write(`sftp-setup: could not prune old backups in ${printable(dirname(j.backupDirPath))}: ${printable(err.message)}\n`);
    });
  }
  standing.clear();
});

/** One run at a time: see ./lock.ts. */
export { acquireLock } from './lock.js';

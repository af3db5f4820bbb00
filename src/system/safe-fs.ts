/**
 * File operations inside trees that someone else can write to (the upload tree belongs to the upload
 * account; anything running with its uid can swap a directory for a symbolic link at any moment).
 *
 * Root must never follow a link there, nor cross into another filesystem. Node has no openat(), so every
 * step goes through the directory file descriptor we already hold: `/proc/self/fd/N/name` resolves `name`
 * inside the directory that fd N refers to, however the tree was renamed or replaced meanwhile. Each
 * directory is opened with O_NOFOLLOW | O_DIRECTORY, each file with O_NOFOLLOW, and the device of every
 * directory is compared with the tree's top: a link or a mount point is reported, never entered.
 */
import { closeSync, constants as C, fstatSync, lstatSync, openSync, promises as fs, readFileSync, type Dirent, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { mapBounded } from '../bounded.js';

type Handle = fs.FileHandle;

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** The path that names `name` inside the directory `dir` refers to (a safe openat). */
export function at(dir: { fd: number }, name?: string): string {
  return name === undefined ? `/proc/self/fd/${dir.fd}` : `/proc/self/fd/${dir.fd}/${name}`;
}

/** A relative path's components; anything but plain names is refused (no '', '.', '..'). */
export function components(rel: string): string[] {
  if (rel === '' || rel === '.') return [];
  const parts = rel.split('/');
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..' || p.includes('\0')) throw new Error(`not a plain relative path: ${JSON.stringify(rel)}`);
  }
  return parts;
}

/**
 * Open `root` (a path root trusts: its components are root's own) and then each component of `rel`
 * below it without following links and without leaving root's filesystem. Throws ELOOP/ENOTDIR when a
 * component is a link or not a directory, EXDEV when it is on another filesystem.
 */
export async function openDirBeneath(root: string, rel = ''): Promise<Handle> {
  const names = components(rel);
  if (names.length === 0) return fs.open(root, C.O_RDONLY | C.O_DIRECTORY);
  const crosses = () => Object.assign(new Error(`${root}/${rel} crosses into another filesystem`), { code: 'EXDEV' });
  // The way down to the last directory is walked synchronously (an open and an fstat a step, with no round
  // trip through Node's thread pool: a plan opens hundreds of directories); only the directory handed back
  // is a FileHandle.
  let fd = openSync(root, C.O_RDONLY | C.O_DIRECTORY);
  try {
    const dev = fstatSync(fd).dev;
    for (const name of names.slice(0, -1)) {
      const next = openSync(atFd(fd, name), DIR_FLAGS);
      closeSync(fd);
      fd = next;
      if (fstatSync(fd).dev !== dev) throw crosses();
    }
    const dir = await fs.open(atFd(fd, names[names.length - 1]!), DIR_FLAGS);
    if (fstatSync(dir.fd).dev !== dev) {
      await dir.close().catch(() => {});
      throw crosses();
    }
    return dir;
  } finally {
    closeSync(fd);
  }
}

/** at() for a plain descriptor. */
function atFd(fd: number, name: string): string {
  return at({ fd }, name);
}

/** The parent part and last name of a plain relative path ('a/b/c' -> ['a/b', 'c']). */
function split(rel: string): [string, string] {
  const parts = components(rel);
  if (parts.length === 0) throw new Error('an empty relative path has no last name');
  return [parts.slice(0, -1).join('/'), parts[parts.length - 1]!];
}

/**
 * lstat of `rel` below `root`, every parent opened without following links: null when it does not exist
 * (or a parent is missing); throws ELOOP/ENOTDIR/EXDEV when a parent is a link, not a directory, or on
 * another filesystem.
 */
export async function lstatBeneath(root: string, rel: string): Promise<Stats | null> {
  if (components(rel).length === 0) return fs.lstat(root).catch(() => null);
  const [parent, name] = split(rel);
  let dir: Handle;
  try {
    dir = await openDirBeneath(root, parent);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return await lstatAt(dir, name);
  } finally {
    await dir.close().catch(() => {});
  }
}

/** Remove the empty directory `rel` below `root` (no link followed on the way); false when it could not. */
export async function rmdirBeneath(root: string, rel: string): Promise<boolean> {
  const [parent, name] = split(rel);
  const dir = await openDirBeneath(root, parent).catch(() => null);
  if (!dir) return false;
  try {
    return await fs.rmdir(at(dir, name)).then(() => true, () => false);
  } finally {
    await dir.close().catch(() => {});
  }
}

/** A link root may follow: its own, or the running user's (a user following its own links gains nothing). */
function trustedLinkOwner(uid: number): boolean {
  return uid === 0 || uid === process.geteuid?.();
}

function foreignLink(path: string, uid: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`${path} is a symbolic link owned by uid ${uid}: not followed`), { code: 'ELOOP' });
}

/**
 * Open `name` inside `dir` with `flags`; a symbolic link at `name` is followed only when root (or the running
 * user) owns it, so a link planted by another user is never followed.
 */
export async function openTrustedAt(dir: { fd: number }, name: string, flags: number, mode?: number): Promise<Handle> {
  try {
    return await fs.open(at(dir, name), flags | C.O_NOFOLLOW, mode);
  } catch (err) {
    if (!refusedAsLink(err)) throw err;
    requireTrustedLink(err, await fs.lstat(at(dir, name)), name);
    return fs.open(at(dir, name), flags, mode);
  }
}

/** An open with O_NOFOLLOW met a link: ELOOP, or ENOTDIR when a directory was asked for. */
function refusedAsLink(err: unknown): boolean {
  return ['ELOOP', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');
}

/** Returns when `s` (the lstat of `name`) is a link root may follow; else throws `err` or a foreign-link error. */
function requireTrustedLink(err: unknown, s: Stats, name: string): void {
  if (!s.isSymbolicLink()) throw err;
  if (!trustedLinkOwner(s.uid)) throw foreignLink(name, s.uid);
}

/**
 * Open the directory at the absolute `path` from `/` down, one component at a time, following only links
 * that root (or the running user) owns: a link another user planted anywhere on the way fails with ELOOP.
 */
export async function openDirTrusted(path: string): Promise<Handle> {
  // Walked synchronously (no round trip through Node's thread pool a step); the directory is then handed
  // back as a FileHandle, opened again through the descriptor the walk ended on.
  const fd = openDirTrustedSync(path);
  try {
    return await fs.open(at({ fd }), C.O_RDONLY | C.O_DIRECTORY);
  } finally {
    closeSync(fd);
  }
}

/** openDirTrusted on a plain descriptor, synchronously; the caller closes it. */
function openDirTrustedSync(path: string): number {
  let fd = openSync('/', C.O_RDONLY | C.O_DIRECTORY);
  let walked = '';
  try {
    for (const c of resolve(path).split('/').filter(Boolean)) {
      walked += `/${c}`;
      let next: number;
      try {
        next = openTrustedSync(fd, c, C.O_RDONLY | C.O_DIRECTORY);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw e.code === 'ELOOP' ? Object.assign(e, { message: e.message.replace(c, walked) }) : e;
      }
      closeSync(fd);
      fd = next;
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/**
 * A regular file's content by its absolute path, or null when it or a directory on the way does not exist.
 * Links are followed only when trusted, all the way down (as openDirTrusted and openTrustedAt); a FIFO or
 * device is refused rather than waited on. Synchronous: a few small system calls cost less than the thread
 * pool's round trips, and a run that reads only files then never loads Node's fs/promises.
 */
export function readFileTrustedSync(path: string): Buffer | null {
  let dir: number;
  try {
    dir = openDirTrustedSync(dirname(path));
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  try {
    let fd: number;
    try {
      fd = openTrustedSync(dir, basename(path), C.O_RDONLY | C.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      if (!fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(dir);
  }
}

/** openTrustedAt, synchronously, on a plain descriptor: a link is followed only when trusted. */
function openTrustedSync(dirFd: number, name: string, flags: number): number {
  const path = atFd(dirFd, name);
  try {
    return openSync(path, flags | C.O_NOFOLLOW);
  } catch (err) {
    if (!refusedAsLink(err)) throw err;
    requireTrustedLink(err, lstatSync(path), name);
    return openSync(path, flags);
  }
}

/** Run `fn` with the directory `rel` below `root` open; it is closed afterwards. */
export async function withDir<T>(root: string, rel: string, fn: (dir: Handle) => Promise<T>): Promise<T> {
  const dir = await openDirBeneath(root, rel);
  try {
    return await fn(dir);
  } finally {
    await dir.close().catch(() => {});
  }
}

/** lstat of a name inside an open directory; null when it does not exist. */
export async function lstatAt(dir: Handle, name: string): Promise<Stats | null> {
  return fs.lstat(at(dir, name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
}

/** Remove a name (file or link: unlink never follows) inside an open directory; absent is fine. */
export async function unlinkAt(dir: Handle, name: string): Promise<void> {
  await fs.unlink(at(dir, name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** The entries of an open directory. */
export async function readDirAt(dir: Handle): Promise<Dirent[]> {
  return fs.readdir(at(dir), { withFileTypes: true });
}

/** A directory entry's name and the type its directory gave ('unknown' where the filesystem leaves it out). */
export interface NamedEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other' | 'unknown';
}

function typeOfDirent(d: Dirent): NamedEntry['type'] {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice()) return 'other';
  return 'unknown';
}

/**
 * The entries of the directory `name` inside the directory `parent` (a path root trusts), at most
 * `maxEntries` of them, with the types the directory itself gives: no stat per entry, so a directory of
 * thousands costs one readdir. Where the filesystem gives no type, an entry is lstat'ed only when
 * `needType(name)` says its type matters. `name` itself is opened without following a link (a link there
 * fails with ELOOP, whoever owns it); nothing below it is entered. A directory root mounted there is read
 * like any other: only names are read, nothing is changed or followed.
 */
export async function listDirNoFollow(
  parent: string,
  name: string,
  o: { maxEntries: number; needType?: (name: string) => boolean },
): Promise<{ entries: NamedEntry[]; truncated: boolean }> {
  const top = await fs.open(parent, C.O_RDONLY | C.O_DIRECTORY);
  let dir: Handle;
  try {
    dir = await fs.open(at(top, name), DIR_FLAGS).catch(async (err: NodeJS.ErrnoException) => {
      // O_NOFOLLOW with O_DIRECTORY fails on a link with ENOTDIR on some kernels: say which it was.
      if (err.code === 'ENOTDIR' && (await lstatAt(top, name).catch(() => null))?.isSymbolicLink()) {
        throw Object.assign(new Error(`${parent}/${name} is a symbolic link: not followed`), { code: 'ELOOP' });
      }
      throw err;
    });
  } finally {
    await top.close();
  }
  const entries: NamedEntry[] = [];
  let truncated = false;
  try {
    // Read through the descriptor we hold (no name is resolved again), in batches, up to the bound.
    const listing = await fs.opendir(at(dir), { bufferSize: 256 });
    try {
      for (let d = await listing.read(); d; d = await listing.read()) {
        if (entries.length >= o.maxEntries) {
          truncated = true;
          break;
        }
        let type = typeOfDirent(d);
        if (type === 'unknown' && o.needType?.(d.name)) {
          const s = lstatSyncAt(dir, d.name);
          type = !s ? 'unknown' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : 'other';
        }
        entries.push({ name: d.name, type });
      }
    } finally {
      await listing.close().catch(() => {});
    }
  } finally {
    await dir.close().catch(() => {});
  }
  return { entries, truncated };
}

/**
 * Create a new file inside an open directory (never through an existing name or link: O_EXCL), owned
 * and moded through its descriptor.
 */
export async function createFileAt(dir: Handle, name: string, content: string | Buffer, opts: { mode: number; uid?: number; gid?: number }): Promise<void> {
  const h = await fs.open(at(dir, name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, opts.mode & 0o777);
  try {
    if (opts.uid !== undefined) await h.chown(opts.uid, opts.gid ?? opts.uid);
    await h.chmod(opts.mode);
    await h.writeFile(content);
  } finally {
    await h.close();
  }
}

/** Read a regular file inside an open directory, refusing links, FIFOs and devices (no hang). */
export async function readFileAt(dir: Handle, name: string, maxBytes = 1 << 20): Promise<Buffer | null> {
  let h: Handle;
  try {
    h = await fs.open(at(dir, name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const s = await h.stat();
    if (!s.isFile()) throw Object.assign(new Error(`${name} is not a regular file`), { code: 'EINVAL' });
    if (s.size > maxBytes) throw Object.assign(new Error(`${name} is larger than ${maxBytes} bytes`), { code: 'EFBIG' });
    return await h.readFile();
  } finally {
    await h.close();
  }
}

/** Read a regular file at an absolute path; no link another user owns is followed on the way or at its name. */
export async function readFileNoFollow(path: string, maxBytes?: number): Promise<Buffer | null> {
  const dir = await openDirTrusted(dirname(path)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });
  if (!dir) return null;
  try {
    return await readFileAt(dir, basename(path), maxBytes);
  } finally {
    await dir.close();
  }
}

export interface Wanted {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * Make `rel` below `root` a directory with exactly this owner and mode, creating what is missing. Each
 * component is created inside the directory we hold and then opened with O_NOFOLLOW, so a link planted
 * at any name is never followed (the call fails with ELOOP/ENOTDIR instead); owner and mode are set
 * through the descriptor. Parents that exist are left as they are; missing parents get `parents`.
 * Returns the paths it created, parents first.
 */
export async function ensureDirBeneath(root: string, rel: string, want: Wanted, parents: Wanted = want): Promise<string[]> {
  const created: string[] = [];
  const parts = components(rel);
  let dir = await openDirBeneath(root);
  try {
    const dev = (await dir.stat()).dev;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      const last = i === parts.length - 1;
      const made = await fs.mkdir(at(dir, name), { mode: 0o700 }).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return false;
        throw err;
      });
      const next = await fs.open(at(dir, name), DIR_FLAGS);
      await dir.close();
      dir = next;
      const s = await dir.stat();
      if (s.dev !== dev) throw Object.assign(new Error(`${root}/${parts.slice(0, i + 1).join('/')} is on another filesystem`), { code: 'EXDEV' });
      if (made) created.push(`${root}/${parts.slice(0, i + 1).join('/')}`);
      if (made || last) {
        const w = last ? want : parents;
        if (s.uid !== w.uid || s.gid !== w.gid) await dir.chown(w.uid, w.gid);
        if ((s.mode & 0o7777) !== w.mode || made) await dir.chmod(w.mode);
      }
    }
    return created;
  } finally {
    await dir.close().catch(() => {});
  }
}

/**
 * Run `fn` on the descriptor of `name` inside `dir` if it is still the plain file or directory we saw (same
 * device and inode); false when it is gone, was swapped for a link or something else, or is another entry.
 */
async function withSeenEntry(dir: Handle, name: string, seen: { dev: number; ino: number }, fn: (h: Handle, s: Stats) => Promise<boolean>): Promise<boolean> {
  let h: Handle;
  try {
    // O_NONBLOCK: a FIFO swapped in must not hang us; O_NOFOLLOW: a link swapped in fails with ELOOP.
    h = await fs.open(at(dir, name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const s = await h.stat();
    if (s.dev !== seen.dev || s.ino !== seen.ino || !(s.isFile() || s.isDirectory())) return false;
    return await fn(h, s);
  } finally {
    await h.close();
  }
}

/** Change the mode of `name` inside `dir` through its own descriptor, if it is still the entry we saw. */
export async function chmodAt(dir: Handle, name: string, seen: { dev: number; ino: number }, mode: number): Promise<boolean> {
  return withSeenEntry(dir, name, seen, async (h) => {
    await h.chmod(mode);
    return true;
  });
}

/**
 * Change the owner of `name` inside `dir` through its own descriptor, if it is still the entry we saw. A file
 * with more than one name is left (false): another name may be outside the tree, and would change owner too.
 */
export async function chownAt(dir: Handle, name: string, seen: { dev: number; ino: number }, owner: { uid: number; gid: number }): Promise<boolean> {
  return withSeenEntry(dir, name, seen, async (h, s) => {
    if (s.isFile() && s.nlink !== 1) return false;
    await h.chown(owner.uid, owner.gid);
    return true;
  });
}

export interface TreeEntry {
  /** path relative to the tree's top, '/'-separated */
  rel: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  /** modification time, ms since the epoch */
  mtimeMs: number;
  dev: number;
  ino: number;
  /** a directory on another filesystem: listed, not entered */
  mountPoint?: boolean;
}

export interface WalkOptions {
  /** stop after this many entries (the result says so) */
  maxEntries?: number;
  /** levels below the top to enter (1: the top's own entries only) */
  maxDepth?: number;
  /** decide whether to enter a directory (default: all) */
  enter?: (e: TreeEntry) => boolean;
  /**
   * name order within a directory (default ascending). Descending visits dated names (Allsky's
   * images/20250601/image-20250601120000.jpg) newest first, so a walk cut at maxEntries still sees them.
   */
  order?: 'asc' | 'desc';
}

function lstatSyncAt(dir: Handle, name: string): Stats | null {
  try {
    return lstatSync(at(dir, name));
  } catch {
    return null; // gone meanwhile
  }
}

function entryOf(rel: string, s: Stats, topDev: number): TreeEntry {
  const type = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
  return {
    rel, type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, nlink: s.nlink, size: s.size, mtimeMs: s.mtimeMs, dev: s.dev, ino: s.ino,
    ...(type === 'dir' && s.dev !== topDev ? { mountPoint: true } : {}),
  };
}

/**
 * Every entry below `root` (not `root` itself), depth first, parents before children, without following
 * a link or entering another filesystem. `visit` may act on the entry through `dir` (the directory that
 * holds it, open) before the walk goes on.
 */
export async function walkTree(
  root: string,
  opts: WalkOptions = {},
  visit?: (e: TreeEntry, dir: Handle, name: string) => Promise<void>,
): Promise<{ entries: TreeEntry[]; truncated: boolean; deeper: boolean }> {
  const entries: TreeEntry[] = [];
  const max = opts.maxEntries ?? Infinity;
  const maxDepth = opts.maxDepth ?? Infinity;
  let truncated = false;
  let deeper = false;
  const top = await openDirBeneath(root);
  const topDev = (await top.stat()).dev;
  const walk = async (dir: Handle, prefix: string, depth: number): Promise<void> => {
    const names = (await readDirAt(dir)).map((d) => d.name).sort();
    if (opts.order === 'desc') names.reverse();
    // An upload directory holds thousands of files: lstat them synchronously, a batch at a time (a
    // promise per entry costs more than the system call), yielding to the event loop between batches.
    const BATCH = 512;
    for (let i = 0; i < names.length; i += BATCH) {
      const chunk = names.slice(i, i + BATCH);
      if (i > 0) await new Promise((r) => setImmediate(r));
      const stats = chunk.map((n) => lstatSyncAt(dir, n));
      for (let j = 0; j < chunk.length; j++) {
        if (entries.length >= max) {
          truncated = true;
          return;
        }
        const name = chunk[j]!;
        const s = stats[j];
        if (!s) continue; // gone meanwhile
        const e = entryOf(prefix ? `${prefix}/${name}` : name, s, topDev);
        entries.push(e);
        if (visit) await visit(e, dir, name);
        if (e.type !== 'dir' || e.mountPoint || (opts.enter && !opts.enter(e))) continue;
        if (depth >= maxDepth) {
          deeper = true;
          continue;
        }
        const sub = await fs.open(at(dir, name), DIR_FLAGS).catch(() => null); // swapped for a link: ELOOP, skip
        if (!sub) continue;
        try {
          const ss = await sub.stat();
          if (ss.dev === topDev && ss.ino === e.ino) await walk(sub, e.rel, depth + 1);
        } finally {
          await sub.close();
        }
        if (truncated) return;
      }
    }
  };
  try {
    await walk(top, '', 1);
  } finally {
    await top.close();
  }
  return { entries, truncated, deeper };
}

/**
 * Remove the directory `path` and everything below it, never following a link (a link is removed, not
 * its target) and never entering another filesystem (a mount point below is left, and named in
 * `skipped`, so its parents stay too). The parent of `path` must be a directory root trusts.
 */
export async function removeTree(path: string): Promise<{ removed: number; skipped: string[] }> {
  const skipped: string[] = [];
  let removed = 0;
  const parent = await fs.open(dirname(path), C.O_RDONLY | C.O_DIRECTORY);
  try {
    const name = basename(path);
    const top = await fs.open(at(parent, name), DIR_FLAGS).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!top) return { removed, skipped };
    const dev = (await top.stat()).dev;
    // Empties `dir`; true when everything in it went.
    const empty = async (dir: Handle, prefix: string): Promise<boolean> => {
      let all = true;
      for (const entry of await readDirAt(dir)) {
        const s = await lstatAt(dir, entry.name);
        if (!s) continue;
        const rel = `${prefix}/${entry.name}`;
        if (!s.isDirectory()) {
          await unlinkAt(dir, entry.name);
          removed++;
          continue;
        }
        if (s.dev !== dev) {
          skipped.push(rel);
          all = false;
          continue;
        }
        const sub = await fs.open(at(dir, entry.name), DIR_FLAGS).catch(() => null);
        if (!sub) {
          // Swapped for a link or a file since the lstat: unlink that instead (unlink never follows).
          await fs.unlink(at(dir, entry.name)).then(() => removed++, () => { skipped.push(rel); all = false; });
          continue;
        }
        let done = false;
        try {
          const ss = await sub.stat();
          done = ss.dev === dev && ss.ino === s.ino && (await empty(sub, rel));
          if (ss.dev !== dev) skipped.push(rel);
        } finally {
          await sub.close();
        }
        if (done && (await fs.rmdir(at(dir, entry.name)).then(() => true, () => false))) removed++;
        else all = false;
      }
      return all;
    };
    let done = false;
    try {
      done = await empty(top, path);
    } finally {
      await top.close();
    }
    if (done) {
      await fs.rmdir(at(parent, name));
      removed++;
    }
    return { removed, skipped };
  } finally {
    await parent.close();
  }
}

/**
 * Set directories' modification times back to the nanosecond. Node cannot: fs.utimes and fs.futimes take
 * seconds as a double, and libuv keeps only whole microseconds of it; touch(1) sets one time per run, so it
 * runs once per directory whose time changed, all from one shell. Each directory is opened beneath its trusted root without following links and handed
 * to touch(1) as an inherited descriptor: touch acts on /proc/self/fd/N, the directory we hold, whatever
 * the tree holds at that name by then. Only our own timestamps reach the shell, never a name.
 */
export async function restoreDirTimes(stamps: Array<{ root: string; rel: string; mtimeNs: bigint }>): Promise<void> {
  // A fleet's doctor puts back a hundred trees' times at once: 200 descriptors per shell, three shells at
  // a time (a process's descriptors are limited, often to 1024).
  const CHUNK = 200;
  const chunks = Array.from({ length: Math.ceil(stamps.length / CHUNK) }, (_, i) => stamps.slice(i * CHUNK, (i + 1) * CHUNK));
  await mapBounded(chunks, 3, restoreTimesOf);
}

async function restoreTimesOf(stamps: Array<{ root: string; rel: string; mtimeNs: bigint }>): Promise<void> {
  const opened: Array<{ h: Handle; stamp: string }> = [];
  try {
    // All at once (a self-test waits for them), each a descriptor and an fstat.
    await Promise.all(stamps.map(async (s) => {
      const h = await openDirBeneath(s.root, s.rel).catch(() => null);
      if (!h) return;
      // A directory whose time is already right costs no process.
      if ((await h.stat({ bigint: true }).catch(() => null))?.mtimeNs === s.mtimeNs) {
        await h.close().catch(() => {});
        return;
      }
      opened.push({ h, stamp: `${s.mtimeNs / 1_000_000_000n}.${String(s.mtimeNs % 1_000_000_000n).padStart(9, '0')}` });
    }));
    if (opened.length === 0) return;
    // One touch per directory (Node's utimes keeps only microseconds), eight at a time: each is a short
    // program that waits on nothing but the kernel, and a fleet's hundreds must not all start at once.
    const script = 'i=3; n=0; for t in "$@"; do touch -c -m -d "@$t" "/proc/self/fd/$i" & i=$((i+1)); n=$((n+1)); if [ $n -ge 8 ]; then wait; n=0; fi; done; wait';
    // exec.js (and child_process) loads here, not with this module: keys list reads files and runs nothing.
    const { run } = await import('./exec.js');
    await run('sh', ['-c', script, 'sh', ...opened.map((o) => o.stamp)], { fds: opened.map((o) => o.h.fd) }).catch(() => {});
  } finally {
    for (const o of opened) await o.h.close().catch(() => {});
  }
}

/** A directory's modification time in nanoseconds, read through a descriptor (no link followed). */
export async function dirTimeNs(root: string, rel: string): Promise<bigint | null> {
  const h = await openDirBeneath(root, rel).catch(() => null);
  if (!h) return null;
  try {
    return (await h.stat({ bigint: true })).mtimeNs;
  } finally {
    await h.close();
  }
}

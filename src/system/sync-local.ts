/**
 * The sync's effects on the camera itself, run as the Allsky owner: scanning the archive (never following a
 * link), the interface state, the state file, and deleting a spool file once the collector confirmed it.
 */
import { promises as fs, type Dirent } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import type { LocalFile } from '../sync/delta.js';
import { isDayDir, isPlainName } from '../sync/names.js';
import { LOCK_FILE, parseState, renderState, STATE_DIR, STATE_FILE, type SyncState } from '../sync/state.js';
import { fileError, readText, writeFileAtomic } from './files.js';

export interface Skipped {
  /** relative to the archive root, as read (may hold anything) */
  path: string;
  why: string;
}

export interface Scan {
  files: LocalFile[];
  /** changed within the minimum age: still being written, sent by a later run */
  waiting: LocalFile[];
  skipped: Skipped[];
}

/** Below a day folder: DAY/file, DAY/keogram/file, DAY/a/b/file at most. */
const MAX_DEPTH = 4;

/**
 * Allsky's archive: the dated folders (YYYYMMDD) of `root` and what is below them. Every entry is looked at
 * with lstat, so a link is reported, never followed; a name that is not plain is reported
 * and never used. Hidden plain names (temporary files) are left alone silently.
 */
export async function scanArchive(root: string, o: { minAgeMs: number; now: number }): Promise<Scan> {
  const scan: Scan = { files: [], waiting: [], skipped: [] };
  let top: Dirent[];
  try {
    top = await fs.readdir(root, { withFileTypes: true });
  } catch (err) {
    throw fileError('read the archive', root, err);
  }
  for (const d of top.sort(byName)) {
    if (!isPlainName(d.name)) {
      if (!isHidden(d.name)) scan.skipped.push({ path: d.name, why: 'not a plain name' });
      continue;
    }
    if (!isDayDir(d.name)) continue; // not part of the archive (Allsky keeps only day folders here)
    const st = await fs.lstat(join(root, d.name)).catch(() => null);
    if (st?.isSymbolicLink()) scan.skipped.push({ path: d.name, why: 'a link (not followed)' });
    else if (st?.isDirectory()) await walk(root, d.name, 1, scan, o);
  }
  return scan;
}

const byName = (a: Dirent, b: Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const isHidden = (name: string) => name.startsWith('.') && isPlainName(name.slice(1));

async function walk(root: string, rel: string, depth: number, scan: Scan, o: { minAgeMs: number; now: number }): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(join(root, rel), { withFileTypes: true });
  } catch (err) {
    scan.skipped.push({ path: rel, why: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
    return;
  }
  for (const d of entries.sort(byName)) {
    const path = `${rel}/${d.name}`;
    if (!isPlainName(d.name)) {
      if (!isHidden(d.name)) scan.skipped.push({ path, why: 'not a plain name' });
      continue;
    }
    // lstat, not the directory entry's type: some filesystems do not fill that in, and a link is never followed.
    const st = await fs.lstat(join(root, path)).catch(() => null);
    if (!st) continue; // gone meanwhile
    if (st.isSymbolicLink()) scan.skipped.push({ path, why: 'a link (not followed)' });
    else if (st.isDirectory()) {
      if (depth + 1 >= MAX_DEPTH) scan.skipped.push({ path, why: 'nested too deep' });
      else await walk(root, path, depth + 1, scan, o);
    } else if (st.isFile()) {
      const f: LocalFile = { rel: path, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
      (o.now - st.mtimeMs < o.minAgeMs ? scan.waiting : scan.files).push(f);
    } else scan.skipped.push({ path, why: 'not a regular file' });
  }
}

/** Delete a spool file only while it is still the file that was sent (same size and mtime, a regular file). */
export async function deleteIfUnchanged(root: string, f: LocalFile): Promise<boolean> {
  const path = join(root, f.rel);
  const st = await fs.lstat(path).catch(() => null);
  if (!st?.isFile() || st.size !== f.size || Math.floor(st.mtimeMs) !== f.mtimeMs) return false;
  try {
    await fs.unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fileError('delete', path, err);
  }
}

/** Where `dir` is inside `root`, both resolved: '' for the root itself, undefined when outside. */
export async function insideArchive(root: string, dir: string): Promise<string | undefined> {
  const [r, d] = await Promise.all([fs.realpath(root), fs.realpath(dir)]).catch(() => [undefined, undefined]);
  if (r === undefined || d === undefined) return undefined;
  const rel = relative(r, d);
  if (rel === '') return '';
  return rel.startsWith('..') || posix.isAbsolute(rel) ? undefined : rel;
}

export interface InterfaceState {
  exists: boolean;
  operstate?: string;
  carrier?: string;
}

/** /sys/class/net/IFACE: operstate, and carrier (unreadable while the interface is down). */
export async function readInterface(name: string): Promise<InterfaceState> {
  const base = `/sys/class/net/${name}`;
  const read = (f: string) => fs.readFile(`${base}/${f}`, 'utf8').then((t) => t.trim(), () => undefined);
  if (!(await fs.stat(base).then(() => true, () => false))) return { exists: false };
  const [operstate, carrier] = await Promise.all([read('operstate'), read('carrier')]);
  return { exists: true, operstate, carrier };
}

export const statePaths = (home: string) => ({ dir: posix.join(home, STATE_DIR), file: posix.join(home, STATE_FILE), lock: posix.join(home, LOCK_FILE) });

export async function readSyncState(home: string): Promise<SyncState> {
  return parseState(await readText(statePaths(home).file).catch(() => null));
}

export async function writeSyncState(home: string, s: SyncState): Promise<void> {
  const p = statePaths(home);
  await fs.mkdir(p.dir, { recursive: true, mode: 0o700 }).catch((err) => {
    throw fileError('create', p.dir, err);
  });
  await writeFileAtomic(p.file, renderState(s), { mode: 0o600 });
}

/** A private scratch directory (0700, ours) for batch files, removed afterwards. */
export async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sftp-setup-sync-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

export async function writeScratchFile(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await fs.writeFile(path, text, { mode: 0o600, flag: 'wx' });
  return path;
}

/**
 * What a sync run sends: the camera's archive against what the collector has, by name and size. A file the
 * collector holds with the same size is left alone; a part file (an upload cut short) is resumed only when
 * our own state says we started it from this very file (same size and mtime), else sent again from the
 * start. Pure.
 */
import type { RemoteEntry } from './listing.js';
import { partPath } from './names.js';

export interface LocalFile {
  /** relative to the archive root: `20240101/image-20240101203012.jpg` */
  rel: string;
  size: number;
  mtimeMs: number;
}

/** An upload started from a local file, recorded before the upload begins. */
export interface PartRecord {
  size: number;
  mtimeMs: number;
}

export interface Transfer {
  file: LocalFile;
  /** put from the start, reput (resume at `offset`), or only the rename (the part is complete) */
  how: 'put' | 'reput' | 'rename';
  offset: number;
}

export interface Delta {
  send: Transfer[];
  /** already on the collector with the same size */
  present: LocalFile[];
  /** remote directories to create, parents first (relative to the login directory) */
  mkdirs: string[];
}

export const remotePath = (remoteDir: string, rel: string) => `${remoteDir}/${rel}`;

/** Every directory below the archive root that holds a file, parents first: what the listing asks for. */
export function localDirs(files: LocalFile[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.rel.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
}

export function computeDelta(
  files: LocalFile[],
  remote: Map<string, RemoteEntry>,
  remoteDir: string,
  parts: Record<string, PartRecord>,
): Delta {
  const send: Transfer[] = [];
  const present: LocalFile[] = [];
  for (const f of files) {
    const have = remote.get(remotePath(remoteDir, f.rel));
    if (have?.type === 'file' && have.size === f.size) {
      present.push(f);
      continue;
    }
    const part = remote.get(remotePath(remoteDir, partPath(f.rel)));
    const ours = parts[f.rel];
    const sameSource = ours !== undefined && ours.size === f.size && ours.mtimeMs === f.mtimeMs;
    if (part?.type === 'file' && sameSource && part.size === f.size) send.push({ file: f, how: 'rename', offset: f.size });
    else if (part?.type === 'file' && sameSource && part.size > 0 && part.size < f.size) send.push({ file: f, how: 'reput', offset: part.size });
    else send.push({ file: f, how: 'put', offset: 0 });
  }
  const mkdirs = localDirs(send.map((t) => t.file)).filter((d) => remote.get(remotePath(remoteDir, d))?.type !== 'dir');
  return { send, present, mkdirs };
}

/** Split the transfers into sessions of at most `maxFiles` files and about `maxBytes` bytes each. */
export function chunks(send: Transfer[], maxFiles = 2000, maxBytes = 1024 * 1024 * 1024): Transfer[][] {
  const out: Transfer[][] = [];
  let cur: Transfer[] = [];
  let bytes = 0;
  for (const t of send) {
    const b = t.file.size - t.offset;
    if (cur.length > 0 && (cur.length >= maxFiles || bytes + b > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(t);
    bytes += b;
  }
  if (cur.length) out.push(cur);
  return out;
}

export const bytesToSend = (send: Transfer[]) => send.reduce((n, t) => n + t.file.size - t.offset, 0);

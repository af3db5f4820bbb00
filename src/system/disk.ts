/**
 * Free space on the filesystem that holds a path (statfs). Read-only.
 */
import { promises as fs } from 'node:fs';

export interface DiskSpace {
  /** bytes an unprivileged writer (the upload account) can still use */
  freeBytes: number;
  totalBytes: number;
}

export async function diskSpace(path: string): Promise<DiskSpace | undefined> {
  const s = await fs.statfs(path).catch(() => undefined);
  return s && { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

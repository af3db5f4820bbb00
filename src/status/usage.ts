/**
 * What `status` says about one account, from what was read: its keys file and its upload tree. Pure.
 */
import { listKeys } from '../keys/authorized-keys.js';
import type { TreeEntry } from '../system/safe-fs.js';

export interface KeysSummary {
  /** usable key lines */
  count: number;
  /** the oldest added-at comment (`# sftp-setup: added …`) above a key, ISO */
  oldestAddedAt?: string;
  /** keys without an added-at comment (added by hand) */
  undated: number;
}

export function keysSummary(text: string): KeysSummary {
  const { entries } = listKeys(text);
  const dated = entries.map((e) => e.addedAt).filter((d): d is string => d !== undefined && !Number.isNaN(Date.parse(d)));
  const oldest = dated.sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  return { count: entries.length, ...(oldest ? { oldestAddedAt: oldest } : {}), undated: entries.length - dated.length };
}

export interface TreeUsage {
  /** bytes in regular files (their sizes, not blocks) */
  bytes: number;
  files: number;
  /** the walk stopped at one of its bounds: bytes and files are lower bounds, newest is the newest seen */
  truncated: boolean;
  /** the file modified last, relative to the chroot */
  newest?: { path: string; mtimeMs: number };
}

/**
 * Sizes and the newest file of a walked upload tree. Root's own files directly in the chroot's root are
 * not uploads (the account cannot write there).
 */
export function treeUsage(entries: TreeEntry[], truncated: boolean): TreeUsage {
  let bytes = 0;
  let files = 0;
  let newest: TreeUsage['newest'];
  for (const e of entries) {
    if (e.type !== 'file') continue;
    if (!e.rel.includes('/') && e.uid === 0) continue;
    bytes += e.size;
    files++;
    if (!newest || e.mtimeMs > newest.mtimeMs) newest = { path: e.rel, mtimeMs: e.mtimeMs };
  }
  return { bytes, files, truncated, ...(newest ? { newest } : {}) };
}

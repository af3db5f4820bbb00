/**
 * Walking an upload tree, the account's to name and shape: without following a link or leaving the chroot's
 * filesystem (system/safe-fs), bounded. doctor checks what the walk finds (doctor/tree.ts), status counts it,
 * and init --take-over-uploads hands it to a new account.
 */
import { walkTree, type TreeEntry } from '../system/safe-fs.js';

export const TREE_MAX_ENTRIES = 100_000;
export const TREE_MAX_DEPTH = 8;

export interface UploadTree {
  root: string;
  entries: TreeEntry[];
  truncated: boolean;
  deeper: boolean;
}

/** Root's own `dev` (for /dev/log), root-owned and closed to others, is not the account's: not entered. */
export function enterTreeDir(e: TreeEntry): boolean {
  return !(e.rel === 'dev' && e.uid === 0 && (e.mode & 0o022) === 0);
}

/** Walk the upload tree below `root` (bounded; see TREE_MAX_*). `visit` may act on each entry by descriptor. */
export async function walkUploadTree(root: string, visit?: Parameters<typeof walkTree>[2]): Promise<UploadTree> {
  const w = await walkTree(root, { maxEntries: TREE_MAX_ENTRIES, maxDepth: TREE_MAX_DEPTH, enter: enterTreeDir }, visit);
  return { root, ...w };
}

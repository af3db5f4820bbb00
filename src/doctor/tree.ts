/**
 * The upload tree as the upload account left it. Everything in it is the account's to name and shape, so
 * it is read as data: walked without following a link or leaving the chroot's filesystem, bounded
 * (collector/upload-tree.ts), and every name that reaches a report is quoted.
 *
 * Checks: tree.modes (set-uid, set-gid, sticky, group- or world-writable: `doctor --fix` resets them),
 * tree.entries (links, hard links, FIFOs, sockets, devices, someone else's entries, other filesystems:
 * reported, never removed by us) and tree.names (directories the live probe will not test because their
 * names are not plain).
 */
import { join } from 'node:path';
import { isPlainDir } from '../collector/dirs.js';
import type { TreeEntry } from '../system/safe-fs.js';
import { TREE_MAX_DEPTH, TREE_MAX_ENTRIES, type UploadTree } from '../collector/upload-tree.js';
import { shownPath } from '../text/printable.js';
import { fail, pass, skip, warn, type DoctorCheck } from './check.js';

/** Lines of evidence per check before "… and N more". */
const EVIDENCE_LINES = 20;
/** Bits nobody in the upload tree needs: set-uid, set-gid, sticky, group and world write. */
export const DANGEROUS_BITS = 0o7022;

/** The upload directories found in the tree (up to three levels, hidden ones and dev/ left out): plain names, and the others. */
export function dirsInTree(entries: TreeEntry[]): { plain: string[]; odd: string[] } {
  const plain: string[] = [];
  const odd: string[] = [];
  for (const e of entries) {
    if (e.type !== 'dir') continue;
    const parts = e.rel.split('/');
    if (parts.length > 3 || parts.some((p) => p.startsWith('.')) || parts[0] === 'dev') continue;
    (isPlainDir(e.rel) ? plain : odd).push(e.rel);
  }
  // An odd name hides its subtree from the probe too (none of it is plain): list only the topmost.
  return { plain, odd: odd.filter((d) => !odd.some((o) => d.startsWith(`${o}/`))) };
}

/** The mode `doctor --fix` gives an entry with dangerous bits, or null when it needs none. */
export function modeToReset(e: Pick<TreeEntry, 'type' | 'mode'>): number | null {
  if ((e.type !== 'file' && e.type !== 'dir') || (e.mode & DANGEROUS_BITS) === 0) return null;
  return e.type === 'dir' ? 0o755 : e.mode & ~DANGEROUS_BITS & 0o7777;
}

export interface TreeProblem {
  rel: string;
  kind: 'mode' | 'entry';
  what: string;
}

function modeWords(mode: number): string[] {
  const w: string[] = [];
  if (mode & 0o4000) w.push('set-uid');
  if (mode & 0o2000) w.push('set-gid');
  if (mode & 0o1000) w.push('sticky');
  if (mode & 0o020) w.push('group-writable');
  if (mode & 0o002) w.push('world-writable');
  return w;
}

/**
 * What is wrong with each entry, for an account with uid `uid`. Root-owned entries are expected only
 * directly in the chroot's root (root made them: the account cannot write there).
 */
export function treeProblems(entries: TreeEntry[], uid: number): TreeProblem[] {
  const out: TreeProblem[] = [];
  for (const e of entries) {
    const words = e.type === 'file' || e.type === 'dir' ? modeWords(e.mode) : [];
    if (words.length) out.push({ rel: e.rel, kind: 'mode', what: words.join(', ') });
    const topLevel = !e.rel.includes('/');
    if (e.type === 'symlink') out.push({ rel: e.rel, kind: 'entry', what: 'symbolic link' });
    else if (e.type === 'other') out.push({ rel: e.rel, kind: 'entry', what: 'FIFO, socket or device' });
    else if (e.type === 'file' && e.nlink > 1) out.push({ rel: e.rel, kind: 'entry', what: `hard link (${e.nlink} names)` });
    if (e.mountPoint) out.push({ rel: e.rel, kind: 'entry', what: 'another filesystem (not examined)' });
    if (e.uid !== uid && !(e.uid === 0 && topLevel)) out.push({ rel: e.rel, kind: 'entry', what: `owned by uid ${e.uid}, not the upload account` });
  }
  return out;
}

function evidenceOf(tree: UploadTree, list: TreeProblem[], user: string, uid: number): string[] {
  const byRel = new Map(tree.entries.map((e) => [e.rel, e]));
  const owner = (id: number) => (id === uid ? user : id === 0 ? 'root' : String(id));
  const lines = list.slice(0, EVIDENCE_LINES).map((p) => {
    const e = byRel.get(p.rel)!;
    return `${shownPath(join(tree.root, p.rel))}: ${p.what} (${owner(e.uid)}:${e.gid === 0 ? 'root' : e.gid} ${e.mode.toString(8).padStart(4, '0')})`;
  });
  if (list.length > EVIDENCE_LINES) lines.push(`… and ${list.length - EVIDENCE_LINES} more`);
  return lines;
}

function coverage(tree: UploadTree): string[] {
  const notes: string[] = [];
  if (tree.truncated) notes.push(`only the first ${TREE_MAX_ENTRIES} entries were examined`);
  if (tree.deeper) notes.push(`directories deeper than ${TREE_MAX_DEPTH} levels were not examined`);
  return notes;
}

export function treeChecks(user: string, uid: number | undefined, tree: UploadTree | undefined, error?: string): DoctorCheck[] {
  const titles = {
    modes: 'nothing in the upload tree is set-uid, set-gid, sticky or writable by others',
    entries: 'the upload tree holds only the account\'s own plain files and directories',
    names: 'upload directories have plain names the live probe can test',
  };
  if (!tree || uid === undefined) {
    const why = error ?? 'no chroot or no account to compare with';
    return [skip('tree.modes', titles.modes, why, { user }), skip('tree.entries', titles.entries, why, { user })];
  }
  const problems = treeProblems(tree.entries, uid);
  const notes = coverage(tree);
  const counted = `${tree.entries.length} entries examined`;
  const out: DoctorCheck[] = [];
  const modes = problems.filter((p) => p.kind === 'mode');
  out.push(modes.length
    ? fail('tree.modes', titles.modes, [...evidenceOf(tree, modes, user, uid), ...notes], {
      user,
      reason: 'the upload account (raw SFTP open/setstat requests) can set these bits; a set-uid or writable entry is a way up for anyone who reaches the tree',
      fix: 'sudo sftp-setup doctor --fix  # directories become 0755, files lose set-uid, set-gid, sticky and group/world write',
    })
    : pass('tree.modes', titles.modes, [...notes, counted], { user }));
  const entries = problems.filter((p) => p.kind === 'entry');
  out.push(entries.length
    ? fail('tree.entries', titles.entries, [...evidenceOf(tree, entries, user, uid), ...notes], {
      user,
      reason: 'uploads are plain files and directories; links, special files and foreign entries are left for you to judge: sftp-setup never follows or removes them',
      fix: 'look at each path, then remove what does not belong: sudo rm -i -- PATH (for a link this removes the link, not what it points to)',
    })
    : pass('tree.entries', titles.entries, [...notes, counted], { user }));
  const odd = dirsInTree(tree.entries).odd;
  if (odd.length) {
    const lines = odd.slice(0, EVIDENCE_LINES).map((d) => shownPath(join(tree.root, d)));
    if (odd.length > EVIDENCE_LINES) lines.push(`… and ${odd.length - EVIDENCE_LINES} more`);
    out.push(warn('tree.names', titles.names, lines, {
      user,
      reason: 'names outside letters, digits, ".", "_" and "-" are never put into the probe\'s SFTP session; uploads into them are not tested',
      fix: 'rename or remove them if the camera does not use them',
    }));
  } else out.push(pass('tree.names', titles.names, [], { user }));
  return out;
}

/**
 * init over a tree that holds a removed account's uploads (rules in orphan-uploads.ts): the refusal, checked
 * in the plan before any change, and the --take-over-uploads step that gives those uploads to the account.
 *
 * The tree was written by the old upload account: it is read with the doctor's bounded walk (lstat only, no
 * link followed, no other filesystem entered, at most TREE_MAX_ENTRIES entries), owners are changed through
 * each entry's own descriptor (system/safe-fs chownAt), and names reach output only escaped.
 */
import { basename } from 'node:path';
import { FailError, UsageError } from '../errors.js';
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import { getAccount, listAccounts, type Account } from '../system/accounts.js';
import { statPath, type Journal } from '../system/files.js';
import { chownAt, lstatBeneath, withDir } from '../system/safe-fs.js';
import { readRetired } from '../system/upload-uids.js';
import { TREE_MAX_DEPTH, TREE_MAX_ENTRIES, walkUploadTree } from './upload-tree.js';
import { shownPath } from '../text/printable.js';
import {
  alreadyHandedOver, canTakeOver, findOrphans, isOrphanOwner, orphanRefusal, ownerListings, takeOverPlan, takeOverSummary, takeOverTooLarge,
} from './orphan-uploads.js';

export interface TakeOverSpec {
  user: string;
  root: string;
  /** the upload directories, parents included, relative to root */
  dirs: string[];
  /** init --take-over-uploads */
  takeOverUploads?: boolean;
}

async function lookAt(root: string) {
  return walkUploadTree(root).catch((err: NodeJS.ErrnoException) => {
    throw new FailError(`cannot look into --root ${root}: ${err.code ?? err.message}`, 'look at it, then run again');
  });
}

const accountUids = async () => new Set((await listAccounts()).map((a) => a.uid));

/**
 * Refuse (UsageError, nothing changed) a --root holding uploads that no account owns, unless --take-over-uploads
 * (then refuse only a tree too large to take over in one run). A tree whose upload directories the account
 * already owns was handed over by an earlier run: nothing to decide, and a re-run does not read it.
 */
export async function refuseOrphanUploads(spec: TakeOverSpec, account: Account | null): Promise<void> {
  if ((await statPath(spec.root))?.type !== 'dir') return;
  const stats = await Promise.all(spec.dirs.map((d) => lstatBeneath(spec.root, d).catch(() => null)));
  const dirOwners = stats.flatMap((s) => (s?.isDirectory() ? [s.uid] : []));
  if (!spec.takeOverUploads && alreadyHandedOver(account?.uid, dirOwners)) return;
  const [tree, uids, retired] = await Promise.all([lookAt(spec.root), accountUids(), readRetired()]);
  const found = findOrphans(tree.entries, uids, spec.dirs);
  const incomplete = tree.truncated || tree.deeper;
  const refusal = spec.takeOverUploads
    ? incomplete && (found.uploads.length > 0 || found.dirOwners.length > 0) ? takeOverTooLarge(spec.root, TREE_MAX_ENTRIES, TREE_MAX_DEPTH) : null
    : orphanRefusal(spec.root, spec.user, found, incomplete, retired);
  if (refusal) throw new UsageError(refusal.message, refusal.fix);
}

interface Given {
  rel: string;
  dev: number;
  ino: number;
  uid: number;
  gid: number;
}

/** Rollback: each entry back to its old owner, through its directory's descriptor, if it is still the same entry. */
async function giveBack(root: string, given: Given[]): Promise<void> {
  const byDir = new Map<string, Given[]>();
  for (const g of given) {
    const parent = g.rel.includes('/') ? g.rel.slice(0, g.rel.lastIndexOf('/')) : '';
    byDir.set(parent, [...(byDir.get(parent) ?? []), g]);
  }
  let failed = 0;
  for (const [parent, list] of byDir) {
    await withDir(root, parent, async (dir) => {
      for (const g of list) if (!(await chownAt(dir, basename(g.rel), g, g))) failed++;
    }).catch(() => {
      failed += list.length;
    });
  }
  if (failed) throw new Error(`${failed} entr${failed === 1 ? 'y' : 'ies'} in ${shownPath(root)} could not be given back to their old owner`);
}

/**
 * --take-over-uploads: every plain file (one name only) and directory in the tree that no account owns
 * becomes the account's (its uid and group). Links, hard links and special files are left as they are
 * (doctor's tree.entries shows them). Each change is undone on rollback.
 */
export function takeOverStep(spec: TakeOverSpec, journal: Journal): Step {
  return {
    id: 'take-over-uploads',
    title: `uploads in ${spec.root} that no account owns given to ${spec.user} (--take-over-uploads)`,
    async check() {
      if ((await statPath(spec.root))?.type !== 'dir') return null;
      const plan = takeOverPlan((await lookAt(spec.root)).entries, await accountUids(), spec.dirs);
      if (plan.give.length === 0) return null;
      const { before, after } = ownerListings(plan, spec.user, shownPath);
      return { summary: takeOverSummary(plan, spec.user), diff: unifiedDiff(before, after, `owners in ${spec.root}`) };
    },
    async apply() {
      const account = await getAccount(spec.user);
      if (!account) throw new FailError(`account ${spec.user} does not exist`);
      const uids = await accountUids();
      const given: Given[] = [];
      // Registered before the first change: a walk that fails half-way is undone too.
      journal.onRollback(() => giveBack(spec.root, given));
      let missed = 0;
      await walkUploadTree(spec.root, async (e, dir, name) => {
        if (!isOrphanOwner(e.uid, uids) || !canTakeOver(e)) return;
        if (await chownAt(dir, name, e, account)) given.push({ rel: e.rel, dev: e.dev, ino: e.ino, uid: e.uid, gid: e.gid });
        else missed++;
      });
      if (missed) {
        throw new FailError(`${missed} entr${missed === 1 ? 'y' : 'ies'} in ${spec.root} changed while they were given to ${spec.user}`, 'look at the tree, then run again');
      }
    },
  };
}

/**
 * Uploads a removed account left in a tree that init is asked to use as --root. `uninstall` without --purge
 * keeps them, owned by the removed (retired) uid; init would make the upload directories the new account's,
 * and the new camera could then list, rename and remove the old camera's files. So init refuses such a tree
 * unless told to hand the uploads over (--take-over-uploads), which gives them to the new account.
 *
 * Pure: src/system/ walks the tree (bounded, no link followed) and reads the accounts.
 */
import type { TreeEntry } from '../system/safe-fs.js';
import type { RetiredId } from './uids.js';

/** An owner no account has now: a removed account's, retired or simply unknown. Root's entries are fine. */
export function isOrphanOwner(uid: number, accountUids: ReadonlySet<number>): boolean {
  return uid !== 0 && !accountUids.has(uid);
}

export interface OrphanTally {
  uid: number;
  count: number;
}

export interface OrphanFindings {
  /** uploads (anything but the upload directories init makes) per orphan owner, most first */
  uploads: OrphanTally[];
  /** orphan owners of upload directories init makes: empty ones hand over nothing, full ones were counted above */
  dirOwners: number[];
}

/**
 * What in a walked tree belongs to nobody now. The upload directories init makes (`dirs`) are not counted as
 * uploads: after an uninstall without uploads they are all that is left, and handing over an empty directory
 * hands over nothing. Entries of existing accounts (the one being set up, another one) are not this rule's.
 */
export function findOrphans(entries: Iterable<Pick<TreeEntry, 'rel' | 'type' | 'uid'>>, accountUids: ReadonlySet<number>, dirs: readonly string[]): OrphanFindings {
  const made = new Set(dirs);
  const counts = new Map<number, number>();
  const dirOwners = new Set<number>();
  for (const e of entries) {
    if (!isOrphanOwner(e.uid, accountUids)) continue;
    if (e.type === 'dir' && made.has(e.rel)) dirOwners.add(e.uid);
    else counts.set(e.uid, (counts.get(e.uid) ?? 0) + 1);
  }
  const uploads = [...counts].map(([uid, count]) => ({ uid, count })).sort((a, b) => b.count - a.count || a.uid - b.uid);
  return { uploads, dirOwners: [...dirOwners].sort((a, b) => a - b) };
}

/**
 * True when the account already owns every upload directory that exists: an earlier run handed the tree over
 * (a re-run, or one after --take-over-uploads), so this run hands over nothing and the tree need not be read.
 */
export function alreadyHandedOver(accountUid: number | undefined, existingDirOwners: readonly number[]): boolean {
  return accountUid !== undefined && existingDirOwners.length > 0 && existingDirOwners.every((u) => u === accountUid);
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function ownersPhrase(uids: number[]): string {
  return uids.length === 1 ? `uid ${uids[0]}` : `uids ${uids.slice(0, -1).join(', ')} and ${uids[uids.length - 1]}`;
}

/** "(cam-a's, removed)" from the record uninstall keeps; "a removed account's" when it names none of them. */
function whosePhrase(uids: number[], retired: readonly RetiredId[]): string {
  const names = [...new Set(retired.filter((r) => uids.includes(r.uid)).map((r) => r.user))];
  if (names.length === 0) return uids.length === 1 ? 'a removed account\'s' : 'removed accounts\'';
  return `left by ${names.join(', ')}, removed by uninstall`;
}

export interface Refusal {
  message: string;
  fix: string;
}

/**
 * Why init must not hand `root` to `user` without --take-over-uploads, or null. `incomplete`: the bounded walk
 * did not see the whole tree, so upload directories owned by nobody may hold more than it saw.
 */
export function orphanRefusal(root: string, user: string, found: OrphanFindings, incomplete: boolean, retired: readonly RetiredId[]): Refusal | null {
  const fix = `choose another --root, or move them away first; to give them to ${user} instead, run again with --take-over-uploads`;
  if (found.uploads.length > 0) {
    const uids = found.uploads.map((t) => t.uid);
    const total = found.uploads.reduce((n, t) => n + t.count, 0);
    const counted = `${total}${incomplete ? ' or more' : ''} ${total === 1 && !incomplete ? 'upload' : 'uploads'}`;
    return {
      message: `--root ${root} holds ${counted} owned by ${ownersPhrase(uids)}, which no account has (${whosePhrase(uids, retired)}); ${user} would get their directories`,
      fix,
    };
  }
  if (incomplete && found.dirOwners.length > 0) {
    return {
      message: `--root ${root} has upload directories owned by ${ownersPhrase(found.dirOwners)}, which no account has (${whosePhrase(found.dirOwners, retired)}), and is too large to see whether they hold uploads`,
      fix,
    };
  }
  return null;
}

/** What --take-over-uploads cannot do in one run: a tree larger than the bounded walk sees. */
export function takeOverTooLarge(root: string, maxEntries: number, maxDepth: number): Refusal {
  return {
    message: `--take-over-uploads: --root ${root} holds more than ${maxEntries} entries or more than ${maxDepth} levels, more than one run can look at`,
    fix: 'move part of the old uploads out of it first and run again, or choose another --root',
  };
}

/**
 * Entries the take-over gives to the new account: plain files and directories. A file with more than one name
 * may have another outside the tree (its owner could link its own files anywhere on the filesystem), links
 * and special files are not uploads, and another filesystem is not entered: those are left as they are.
 */
export function canTakeOver(e: Pick<TreeEntry, 'type' | 'nlink' | 'mountPoint'>): boolean {
  return !e.mountPoint && (e.type === 'dir' || (e.type === 'file' && e.nlink === 1));
}

export interface TakeOverPlan {
  /** entries to give to the account, in walk order */
  give: Array<Pick<TreeEntry, 'rel' | 'uid' | 'gid'>>;
  /** orphan-owned entries left as they are (links, hard links, special files, mount points) */
  left: number;
}

/** `dirs`: the upload directories, which init's own upload-dirs step gives to the account (not listed twice). */
export function takeOverPlan(entries: Iterable<TreeEntry>, accountUids: ReadonlySet<number>, dirs: readonly string[]): TakeOverPlan {
  const made = new Set(dirs);
  const give: TakeOverPlan['give'] = [];
  let left = 0;
  for (const e of entries) {
    if (!isOrphanOwner(e.uid, accountUids) || (e.type === 'dir' && made.has(e.rel))) continue;
    if (canTakeOver(e)) give.push(e);
    else left++;
  }
  return { give, left };
}

/** The step's one-line summary. */
export function takeOverSummary(plan: TakeOverPlan, user: string): string {
  const uids = [...new Set(plan.give.map((e) => e.uid))].sort((a, b) => a - b);
  const left = plan.left ? `; ${plural(plan.left, 'link, hard link or special file', 'links, hard links or special files')} left as they are` : '';
  return `give ${plural(plan.give.length, 'entry', 'entries')} owned by ${ownersPhrase(uids)} (no account now) to ${user}${left}`;
}

/** How many entries the dry-run diff lists by name before "… and N more". */
export const LISTED = 20;

/**
 * The owners before and after, one line per entry, for the dry-run diff. `shown` escapes a name (the old
 * account chose it: it may hold line breaks or terminal sequences).
 */
export function ownerListings(plan: TakeOverPlan, user: string, shown: (rel: string) => string): { before: string; after: string } {
  const listed = plan.give.slice(0, LISTED);
  const more = plan.give.length > LISTED ? `… and ${plan.give.length - LISTED} more\n` : '';
  return {
    before: listed.map((e) => `${e.uid}:${e.gid} ${shown(e.rel)}\n`).join('') + more,
    after: listed.map((e) => `${user}:${user} ${shown(e.rel)}\n`).join('') + more,
  };
}

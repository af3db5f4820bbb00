/**
 * What the uid choice of a new upload account reads, and the record uninstall writes (rules in
 * src/collector/uids.ts).
 */
import { RETIRED_IDS, STATE_DIR } from '../collector/layout.js';
import { addRetired, chooseUid, parseRetired, systemIdRanges, takenIds, type RetiredId } from '../collector/uids.js';
import { FailError } from '../errors.js';
import { listAccounts, listGroupIds } from './accounts.js';
import { ensureDir, readText, statPath, type Journal } from './files.js';
import { walkTree } from './safe-fs.js';
import { promises as fs } from 'node:fs';

/**
 * Looked at in each upload root: every entry of its top (the upload directories root made: few, and the
 * account cannot add any), then the first entries two levels down (what lands in them), at most this many:
 * enough to see who uploads, cheap on a tree holding years of images (milliseconds per root).
 */
const OWNER_ENTRIES = 200;

/**
 * The owners (uids and gids) of the top levels of these upload roots. Read through safe-fs (lstat, no link
 * followed, no other filesystem entered); a root that is missing or not a plain directory adds nothing.
 */
export async function uploadTreeOwners(roots: string[]): Promise<{ uids: Set<number>; gids: Set<number> }> {
  const uids = new Set<number>();
  const gids = new Set<number>();
  for (const root of new Set(roots)) {
    const top = await walkTree(root, { maxDepth: 1 }).catch(() => null);
    const below = await walkTree(root, { maxDepth: 2, maxEntries: OWNER_ENTRIES }).catch(() => null);
    for (const e of [...(top?.entries ?? []), ...(below?.entries ?? [])]) {
      uids.add(e.uid);
      gids.add(e.gid);
    }
  }
  return { uids, gids };
}

export async function readRetired(): Promise<RetiredId[]> {
  return parseRetired(await readText(RETIRED_IDS).catch(() => null));
}

/**
 * A uid for a new upload account that no account or group uses and that owns nothing left behind: not a
 * retired one, not an owner near the top of `roots` (the roots of our Match blocks and this run's --root).
 */
export async function freshUploadUid(roots: string[]): Promise<number> {
  const [loginDefs, accounts, gids, retired, owners] = await Promise.all([
    readText('/etc/login.defs').catch(() => null),
    listAccounts(),
    listGroupIds(),
    readRetired(),
    uploadTreeOwners(roots),
  ]);
  const ranges = systemIdRanges(loginDefs);
  const uid = chooseUid(ranges, takenIds({ uids: accounts.map((a) => a.uid), gids }, retired, owners));
  if (uid === null) {
    throw new FailError(
      `no system uid from ${ranges.uid.min} to ${ranges.uid.max} is free of accounts, groups and uploads left behind (${RETIRED_IDS} and the upload trees)`,
      `remove old uploads whose account is gone and their line in ${RETIRED_IDS}, then run again`,
    );
  }
  return uid;
}

/**
 * Remember that `entry.uid` still owns uploads after its account goes, through the journal (rolled back
 * with the run). The state directory is made root-owned 0755 when missing, and removed again on rollback.
 */
export async function recordRetired(journal: Journal, entry: RetiredId): Promise<void> {
  const text = await readText(RETIRED_IDS);
  const next = addRetired(text, entry);
  if (next === text) return;
  if (!(await statPath(STATE_DIR))) {
    journal.onRollback(() => fs.rmdir(STATE_DIR).catch(() => {}));
    await ensureDir(STATE_DIR, 0o755, 0, 0);
  }
  await journal.writeAtomic(RETIRED_IDS, next, { mode: 0o644, uid: 0, gid: 0 });
}

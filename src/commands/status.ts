/**
 * `sftp-setup status` on the collector: one line per upload account sftp-setup manages — its keys (how
 * many, the oldest one's age), its last upload (time and name, from the tree's modification times),
 * failed logins in the last hour (sshd's log), the size of its chroot and the free space there.
 *
 * Read-only and lock-free, but root's: the keys files, the trees and the log are root's to read. The
 * accounts are read side by side, a bounded number at a time, and each tree walk is bounded too (a camera
 * that uploads for months holds hundreds of thousands of files): past the bound the size is "at least".
 * The archive (`archive/YYYYMMDD/` from `sftp-setup sync`) costs one listing of archive/ per account: the
 * day folders are named, never entered.
 */
import { mapBounded } from '../bounded.js';
import { requireRoot } from '../errors.js';
import { keysFileFor } from '../collector/layout.js';
import { listManagedBlocks, requireManaged, type ManagedBlock } from '../collector/managed.js';
import { enterTreeDir, TREE_MAX_DEPTH } from '../collector/upload-tree.js';
import { printJson } from '../report.js';
import { expandTokens } from '../sshd/effective.js';
import { archiveDays, isDayName, localDay } from '../status/archive.js';
import { formatStatus, statusJson, type AccountStatus, type ArchiveStatus, type StatusReport } from '../status/format.js';
import { failedLogins } from '../status/logins.js';
import { keysSummary, treeUsage } from '../status/usage.js';
import { listAccounts, type Account } from '../system/accounts.js';
import { diskSpace } from '../system/disk.js';
import { listDirNoFollow, readFileNoFollow, walkTree } from '../system/safe-fs.js';
import { readSshdLog } from '../system/sshd-log.js';
import { SSHD_CONFIG } from '../system/sshd.js';
import { validateUserName } from '../validate.js';
import { writeOut } from '../system/stdout.js';

export interface StatusOptions {
  user?: string;
  json: boolean;
}

/** Entries walked per upload tree. */
export const STATUS_MAX_ENTRIES = 10_000;
/** Entries of archive/ read per account: decades of nights, far fewer than a made-up tree can hold. */
export const ARCHIVE_MAX_ENTRIES = 50_000;
/** Accounts read at once. */
const AT_ONCE = 8;
const WINDOW_MS = 3600_000;

export async function statusCommand(o: StatusOptions): Promise<number> {
  const only = o.user !== undefined ? validateUserName(o.user, '--user') : undefined;
  requireRoot('status reads the keys files, the upload trees and sshd\'s log, which are root\'s');
  const blocks = listManagedBlocks();
  if (only && !blocks.some((b) => b.user === only)) requireManaged(only);
  // One block per account, as findManagedBlock picks it (the main file's marked block before a drop-in).
  const ordered: ManagedBlock[] = [];
  for (const b of blocks) {
    if (only && b.user !== only) continue;
    const i = ordered.findIndex((x) => x.user === b.user);
    if (i < 0) ordered.push(b);
    else if (b.file === SSHD_CONFIG) ordered[i] = b;
  }

  const now = Date.now();
  const today = localDay(now);
  const [accounts, log] = await Promise.all([
    listAccounts().catch(() => [] as Account[]),
    readSshdLog({ sinceMs: now - WINDOW_MS, maxBytes: 8 * 2 ** 20, maxLines: 200_000 }),
  ]);
  const rows = await mapBounded(ordered, AT_ONCE, async (b): Promise<AccountStatus> => {
    const acc = accounts.find((a) => a.name === b.user);
    const chroot = b.chroot ? expandTokens(b.chroot, { user: b.user, home: acc?.home, uid: acc?.uid }) : undefined;
    const [keysText, tree, disk, archive] = await Promise.all([
      readFileNoFollow(keysFileFor(b.user)).catch(() => null),
      chroot
        ? walkTree(chroot, { maxEntries: STATUS_MAX_ENTRIES, maxDepth: TREE_MAX_DEPTH, enter: enterTreeDir, order: 'desc' })
          .then((w) => ({ usage: treeUsage(w.entries, w.truncated || w.deeper) }), (e: NodeJS.ErrnoException) => ({ error: `chroot ${chroot}: ${e.code ?? e.message}` }))
        : Promise.resolve({ error: 'no ChrootDirectory in its Match block' }),
      chroot ? diskSpace(chroot) : Promise.resolve(undefined),
      chroot ? archiveOf(chroot, today) : Promise.resolve(undefined),
    ]);
    return {
      user: b.user,
      ...(chroot ? { chroot } : {}),
      ...(keysText !== null ? { keys: keysSummary(keysText.toString('utf8')) } : {}),
      ...('usage' in tree ? { usage: tree.usage } : { treeError: tree.error }),
      ...(disk ? { disk } : {}),
      ...(archive ? { archive } : {}),
    };
  });
  const counts = log && failedLogins(log.lines, rows.map((r) => r.user), now - WINDOW_MS, log.whole);
  if (counts) for (const r of rows) r.failed = counts.failed.get(r.user);
  const report: StatusReport = {
    accounts: rows,
    ...(log && counts ? { log: { source: log.source, coverage: counts.coverage, ...(counts.from !== undefined ? { from: counts.from } : {}) } } : {}),
    now,
    windowMs: WINDOW_MS,
    maxEntries: STATUS_MAX_ENTRIES,
    maxDepth: TREE_MAX_DEPTH,
    archiveMaxEntries: ARCHIVE_MAX_ENTRIES,
  };
  if (o.json) {
    printJson(statusJson(report));
    return 0;
  }
  if (rows.length === 0) {
    writeOut('no upload accounts set up by sftp-setup on this host; create one with: sudo sftp-setup init\n');
    return 0;
  }
  for (const line of formatStatus(report)) writeOut(line + '\n');
  return 0;
}

/** The day folders in the chroot's archive/, or why there are none to count (a link there is not followed). */
async function archiveOf(chroot: string, today: number): Promise<ArchiveStatus> {
  try {
    const { entries, truncated } = await listDirNoFollow(chroot, 'archive', { maxEntries: ARCHIVE_MAX_ENTRIES, needType: isDayName });
    return { state: 'ok', days: archiveDays(entries, today, truncated) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'missing' };
    if (code === 'ELOOP') return { state: 'link' };
    if (code === 'ENOTDIR') return { state: 'not-dir' };
    return { state: 'error', error: code ?? (err as Error).message };
  }
}

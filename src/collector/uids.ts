/**
 * Which uid a new upload account gets (issue 12): never one that owns uploads left behind. `uninstall`
 * without --purge keeps the tree, owned by the removed uid, and useradd would hand that uid to the next
 * account, which would then silently own the old camera's files. Pure: src/system/ reads the inputs.
 *
 * The inputs are cheap on purpose: every uid and gid in use, a record of the uids uninstall retired, and the
 * owners of the top two levels of every known upload root (the upload directories and what lands in them).
 * Walking whole upload trees (years of images) on every init would cost minutes; the record covers trees
 * sftp-setup left, the top-level owners cover the rest (an account removed by hand, a tree from an older
 * version reused as --root).
 */

export interface IdRange {
  min: number;
  max: number;
}

/** useradd's range for system accounts: SYS_UID_MIN/MAX and SYS_GID_MIN/MAX in /etc/login.defs (default 100-999). */
export function systemIdRanges(loginDefs: string | null): { uid: IdRange; gid: IdRange } {
  const value = (key: string, fallback: number): number => {
    const m = new RegExp(`^[ \\t]*${key}[ \\t]+(\\d{1,9})[ \\t]*$`, 'm').exec(loginDefs ?? '');
    return m ? Number(m[1]) : fallback;
  };
  return {
    uid: { min: value('SYS_UID_MIN', 100), max: value('SYS_UID_MAX', 999) },
    gid: { min: value('SYS_GID_MIN', 100), max: value('SYS_GID_MAX', 999) },
  };
}

/**
 * The uid for a new system account: the highest free one, as useradd --system picks, that no account or
 * group uses (so its user group gets the same number) and that owns nothing left behind. Inside the gid
 * range too when the ranges overlap: useradd gives the group the uid's number only there. Null when none is left.
 */
export function chooseUid(ranges: { uid: IdRange; gid: IdRange }, taken: ReadonlySet<number>): number | null {
  const both = { min: Math.max(ranges.uid.min, ranges.gid.min), max: Math.min(ranges.uid.max, ranges.gid.max) };
  for (const r of both.min <= both.max ? [both, ranges.uid] : [ranges.uid]) {
    for (let id = r.max; id >= r.min; id--) if (!taken.has(id)) return id;
  }
  return null;
}

/** One account uninstall removed while its uploads stayed: their numeric owner, and where they are. */
export interface RetiredId {
  uid: number;
  gid: number;
  user: string;
  root?: string;
  /** when it was retired (ISO time) */
  at: string;
}

/**
 * The record, one JSON object a line (paths can hold any byte but NUL and JSON keeps a line a line).
 * Lines that do not parse are skipped: a damaged record must not stop init, and it only ever adds numbers.
 */
export function parseRetired(text: string | null): RetiredId[] {
  const out: RetiredId[] = [];
  for (const line of (text ?? '').split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as Partial<RetiredId>;
      if (Number.isInteger(v.uid) && Number.isInteger(v.gid) && typeof v.user === 'string') {
        out.push({ uid: v.uid!, gid: v.gid!, user: v.user, ...(typeof v.root === 'string' ? { root: v.root } : {}), at: typeof v.at === 'string' ? v.at : '' });
      }
    } catch {
      /* skipped, see above */
    }
  }
  return out;
}

/** The record with one more entry (an entry for the same uid, gid and root is not repeated). */
export function addRetired(text: string | null, entry: RetiredId): string {
  const base = text ?? '';
  if (parseRetired(base).some((r) => r.uid === entry.uid && r.gid === entry.gid && r.root === entry.root)) return base;
  const line = JSON.stringify({ uid: entry.uid, gid: entry.gid, user: entry.user, ...(entry.root !== undefined ? { root: entry.root } : {}), at: entry.at });
  return (base && !base.endsWith('\n') ? base + '\n' : base) + line + '\n';
}

/** Every number a new account must not get: ids in use, retired ones, owners seen in upload roots. */
export function takenIds(inUse: { uids: number[]; gids: number[] }, retired: RetiredId[], owners: { uids: Iterable<number>; gids: Iterable<number> }): Set<number> {
  return new Set([...inUse.uids, ...inUse.gids, ...retired.flatMap((r) => [r.uid, r.gid]), ...owners.uids, ...owners.gids]);
}

/**
 * What uninstall without --purge says it left; `shownRoot` is already escaped for printing. init refuses the
 * tree as another account's --root while it holds them (orphan-uploads.ts): the line says how to hand them over.
 */
export function leftUploadsLine(shownRoot: string, uid: number | undefined): string {
  const owner = uid === undefined ? '' : `, owned by uid ${uid} (no account now)`;
  return `Uploaded files stay in ${shownRoot}${owner}; --purge deletes them, init --take-over-uploads gives them to a new account.`;
}

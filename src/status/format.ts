/**
 * `status` for a person (one line per account, in columns) and for a program (--json). Pure.
 *
 * Names in the tree are the upload account's: a file name is shown with shownPath (quoted and escaped
 * when it is not plain), so an uploaded "x\n\x1b[2J" stays one visible, inert item on its line. Names in
 * archive/ are never shown at all: only valid dates are, the rest is counted.
 */
import { paint } from '../text/color.js';
import { printable as p, shownPath } from '../text/printable.js';
import { visibleLength } from '../text/wrap.js';
import { archiveText, type ArchiveDays } from './archive.js';
import type { LoginCounts } from './logins.js';
import type { KeysSummary, TreeUsage } from './usage.js';

/** archive/ in the chroot: its day folders, or why none were counted. */
export type ArchiveStatus =
  | { state: 'ok'; days: ArchiveDays }
  | { state: 'missing' }
  /** a symbolic link: reported, never followed */
  | { state: 'link' }
  | { state: 'not-dir' }
  | { state: 'error'; error: string };

export interface AccountStatus {
  user: string;
  chroot?: string;
  /** undefined: no keys file */
  keys?: KeysSummary;
  usage?: TreeUsage;
  /** why the tree could not be walked */
  treeError?: string;
  disk?: { freeBytes: number; totalBytes: number };
  /** failed logins in the window; undefined without a log */
  failed?: number;
  /** undefined: no chroot to look in */
  archive?: ArchiveStatus;
}

export interface StatusReport {
  accounts: AccountStatus[];
  /** sshd's log, when one was found */
  log?: { source: string; coverage: LoginCounts['coverage']; from?: number };
  now: number;
  /** the window failed logins are counted over */
  windowMs: number;
  /** the bounds of the walk of each tree */
  maxEntries: number;
  maxDepth: number;
  /** the bound of each listing of archive/ */
  archiveMaxEntries: number;
}

/** "12s", "4m", "3h", "12d" */
export function shortAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** "512 B", "1.2 MiB", "45.1 GiB" */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function failedCell(a: AccountStatus, r: StatusReport): string {
  if (a.failed === undefined || !r.log) return '—';
  if (r.log.coverage === 'partial') return `≥${a.failed}`;
  if (r.log.coverage === 'untimed') return `${a.failed}*`;
  return String(a.failed);
}

function keysCells(a: AccountStatus, now: number): [string, string] {
  if (!a.keys) return ['none', '—'];
  const oldest = a.keys.oldestAddedAt ? shortAge(now - Date.parse(a.keys.oldestAddedAt)) : a.keys.count ? '?' : '—';
  return [String(a.keys.count), oldest];
}

function lastUploadCell(a: AccountStatus, now: number): string {
  if (a.treeError) return `(${p(a.treeError)})`;
  const n = a.usage?.newest;
  if (!n) return 'none';
  return `${shortAge(now - n.mtimeMs)} ago ${shownPath(n.path)}`;
}

function archiveCell(a: AccountStatus, r: StatusReport): string {
  const x = a.archive;
  if (!x) return '—';
  switch (x.state) {
    case 'ok': return archiveText(x.days, r.archiveMaxEntries);
    case 'missing': return 'no archive';
    case 'link': return 'archive/ is a link: not followed';
    case 'not-dir': return 'archive/ is not a directory';
    case 'error': return `archive/: ${p(x.error)}`;
  }
}

/** One header line, one line per account, then what a mark in the columns means. */
export function formatStatus(r: StatusReport): string[] {
  const header = ['ACCOUNT', 'KEYS', 'OLDEST KEY', `FAILED ${shortAge(r.windowMs)}`, 'SIZE', 'FREE', 'ARCHIVE', 'LAST UPLOAD'];
  const rows = r.accounts.map((a) => {
    const [keys, oldest] = keysCells(a, r.now);
    const size = a.usage ? `${a.usage.truncated ? '≥' : ''}${bytes(a.usage.bytes)}` : '—';
    const free = a.disk ? `${bytes(a.disk.freeBytes)} (${a.disk.totalBytes ? Math.floor((100 * a.disk.freeBytes) / a.disk.totalBytes) : 0}%)` : '—';
    return [p(a.user), keys, oldest, failedCell(a, r), size, free, archiveCell(a, r), lastUploadCell(a, r.now)];
  });
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((row) => visibleLength(row[i]!))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c)))).join('  ').trimEnd();
  const out = [paint.bold(line(header)), ...rows.map(line)];
  if (!r.log) out.push('—: no sshd log found (sshd -E file, journal or /var/log/auth.log): failed logins unknown');
  else if (r.log.coverage === 'untimed') {
    out.push(`*: ${p(r.log.source)} has no times: failed logins counted over the part of it read, not the last ${shortAge(r.windowMs)}`);
  } else if (r.log.coverage === 'partial') {
    out.push(`≥: ${p(r.log.source)} was read from ${new Date(r.log.from!).toISOString()} on, inside the window: failed logins are at least these`);
  }
  if (r.accounts.some((a) => a.usage?.truncated)) {
    out.push(`≥: the walk of the upload tree stopped at ${r.maxEntries} entries or ${r.maxDepth} levels: its size is at least this, and the last upload the newest of those seen`);
  }
  return out;
}

export function statusJson(r: StatusReport): unknown {
  return {
    generatedAt: new Date(r.now).toISOString(),
    log: r.log ? { source: r.log.source, coverage: r.log.coverage, ...(r.log.from !== undefined ? { from: new Date(r.log.from).toISOString() } : {}) } : null,
    failedLoginsWindowSeconds: r.windowMs / 1000,
    accounts: r.accounts.map((a) => ({
      user: a.user,
      chroot: a.chroot ?? null,
      keys: a.keys
        ? { ...a.keys, ...(a.keys.oldestAddedAt ? { oldestAgeDays: Math.floor((r.now - Date.parse(a.keys.oldestAddedAt)) / 86_400_000) } : {}) }
        : null,
      lastUpload: a.usage?.newest ? { path: a.usage.newest.path, time: new Date(a.usage.newest.mtimeMs).toISOString() } : null,
      failedLogins: a.failed === undefined || !r.log ? null : { count: a.failed, atLeast: r.log.coverage === 'partial', coverage: r.log.coverage },
      tree: a.usage ? { bytes: a.usage.bytes, files: a.usage.files, truncated: a.usage.truncated } : null,
      treeError: a.treeError ?? null,
      disk: a.disk ?? null,
      archive: archiveJson(a.archive),
    })),
  };
}

/**
 * archive/ for a program: `state` ('ok', 'missing', 'link', 'not-dir', 'error'), and with 'ok' the newest and
 * oldest day folder, the days since the newest (the collector's calendar), the runs of missing days between
 * them (the latest ones, `gapCount` all of them), and what was not counted as a day.
 */
function archiveJson(x: ArchiveStatus | undefined): unknown {
  if (!x) return null;
  if (x.state !== 'ok') return x;
  const d = x.days;
  return {
    state: 'ok',
    newest: d.newest ?? null,
    oldest: d.oldest ?? null,
    days: d.days,
    daysSinceNewest: d.sinceNewest ?? null,
    gaps: d.gaps,
    gapCount: d.gapCount,
    missingDays: d.missingDays,
    ignoredNames: d.ignored,
    linksNotFollowed: d.links,
    truncated: d.truncated,
  };
}

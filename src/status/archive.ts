/**
 * What `status` says about an account's archive (`archive/YYYYMMDD/…`, delivered by `sftp-setup sync`): the
 * newest archived day, the days missing between the oldest and the newest, and how long ago the newest was.
 * Pure: it gets the names in archive/ with the types their directory gave, never the names' contents.
 *
 * The names are the upload account's: only exactly eight ASCII digits forming a real date count, everything
 * else is counted and never shown. Days are the folder names as Allsky gave them (a night is named by the
 * date it started); no time zone is guessed. "Since the newest" compares with the collector's own calendar
 * date, which the caller passes in.
 */
import type { NamedEntry } from '../system/safe-fs.js';

const DAY_MS = 86_400_000;
const DAY = /^[0-9]{8}$/;
/** The runs of missing days kept (the latest ones): a tree the account made up can hold thousands. */
export const MAX_GAPS = 100;

/** A run of missing days, both ends included. */
export interface DayRange {
  from: string;
  to: string;
  days: number;
}

export interface ArchiveDays {
  /** day folders (directories named by a valid date) */
  days: number;
  oldest?: string;
  newest?: string;
  /** today (the collector's calendar) minus the newest day; negative when the newest is dated in the future */
  sinceNewest?: number;
  /** the latest MAX_GAPS runs of days missing between the oldest and the newest, oldest first */
  gaps: DayRange[];
  /** all runs of missing days, also those not kept in `gaps` */
  gapCount: number;
  /** all days missing between the oldest and the newest */
  missingDays: number;
  /** entries that are not a day folder: names that are not a valid date, dated files and the like */
  ignored: number;
  /** dated entries that are symbolic links: not followed, not counted as days */
  links: number;
  /** the listing stopped at its bound: days beyond it are not seen */
  truncated: boolean;
}

/**
 * The day number (days since 1970-01-01) of a folder name: exactly eight ASCII digits forming a real
 * Gregorian date from 1970 on (a camera's clock cannot be earlier), else null.
 */
export function dayNumber(name: string): number | null {
  if (!DAY.test(name)) return null;
  const y = Number(name.slice(0, 4));
  const m = Number(name.slice(4, 6));
  const d = Number(name.slice(6, 8));
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return null;
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  if (back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return null; // 20260230
  return ms / DAY_MS;
}

/** The folder name of a day number: 20261115. */
export function dayName(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10).replace(/-/g, '');
}

/** The day number of the calendar date at `ms` in this process's time zone (the collector's). */
export function localDay(ms: number): number {
  const t = new Date(ms);
  return Date.UTC(t.getFullYear(), t.getMonth(), t.getDate()) / DAY_MS;
}

/** Whether a name could be a day folder: only those need their type when the directory did not give it. */
export const isDayName = (name: string): boolean => dayNumber(name) !== null;

export function archiveDays(entries: readonly NamedEntry[], today: number, truncated = false): ArchiveDays {
  const found: number[] = [];
  let ignored = 0;
  let links = 0;
  for (const e of entries) {
    const n = dayNumber(e.name);
    if (n === null) ignored++;
    else if (e.type === 'dir') found.push(n);
    else if (e.type === 'symlink') links++;
    else ignored++;
  }
  const days = Float64Array.from(found).sort();
  const runs: Array<[number, number]> = [];
  let gapCount = 0;
  let missingDays = 0;
  for (let i = 1; i < days.length; i++) {
    const missing = days[i]! - days[i - 1]! - 1;
    if (missing <= 0) continue;
    gapCount++;
    missingDays += missing;
    runs.push([days[i - 1]! + 1, days[i]! - 1]);
  }
  const gaps = runs.slice(-MAX_GAPS).map(([a, b]) => ({ from: dayName(a), to: dayName(b), days: b - a + 1 }));
  const base = { days: days.length, gaps, gapCount, missingDays, ignored, links, truncated };
  if (days.length === 0) return base;
  const newest = days[days.length - 1]!;
  return { ...base, oldest: dayName(days[0]!), newest: dayName(newest), sinceNewest: today - newest };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const range = (g: DayRange) => (g.from === g.to ? g.from : `${g.from}–${g.to}`);

/** How many runs of missing days a status line names; the rest are counted. */
const SHOWN_GAPS = 3;

/**
 * "gap 20261112–20261114 (3 days)", "gaps 20261103, 20261112–20261114 (4 days)", or with many runs the
 * latest ones: "gaps 20261101, 20261103, 20261112–20261114 and 2 earlier (12 days)"; '' without a gap.
 */
export function gapText(a: ArchiveDays): string {
  if (a.gapCount === 0) return '';
  const shown = a.gaps.slice(-SHOWN_GAPS).map(range).join(', ');
  const earlier = a.gapCount - Math.min(a.gapCount, SHOWN_GAPS);
  return `${a.gapCount === 1 ? 'gap' : 'gaps'} ${shown}${earlier ? ` and ${earlier} earlier` : ''} (${plural(a.missingDays, 'day')})`;
}

/** "today", "1d ago", "in 2d" (a camera whose clock runs ahead) */
export function sinceText(since: number): string {
  if (since === 0) return 'today';
  return since > 0 ? `${since}d ago` : `in ${-since}d`;
}

/**
 * The status line's archive cell: "20261115 (1d ago), gap 20261112–20261114 (3 days)", then what was not
 * counted as a day ("2 names ignored", "1 link not followed") and a listing cut at its bound.
 */
export function archiveText(a: ArchiveDays, maxEntries: number): string {
  const parts = [a.newest ? `${a.newest} (${sinceText(a.sinceNewest!)})` : 'no day folders'];
  const gap = gapText(a);
  if (gap) parts.push(gap);
  if (a.ignored) parts.push(`${plural(a.ignored, 'name')} ignored`);
  if (a.links) parts.push(`${plural(a.links, 'link')} not followed`);
  if (a.truncated) parts.push(`only the first ${maxEntries} entries read`);
  return parts.join(', ');
}

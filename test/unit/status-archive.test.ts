/** `status`'s archive cell: day folders, the days missing between them, and names the upload account made up. */
import { describe, expect, it } from 'vitest';
import { archiveDays, archiveText, dayName, dayNumber, gapText, localDay, MAX_GAPS, sinceText } from '../../src/status/archive.js';
import { formatStatus, statusJson, type StatusReport } from '../../src/status/format.js';
import type { NamedEntry } from '../../src/system/safe-fs.js';

const DANGEROUS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const dirs = (...names: string[]): NamedEntry[] => names.map((name) => ({ name, type: 'dir' }));
/** The day number of 2026-11-16. */
const TODAY = dayNumber('20261116')!;

describe('dayNumber', () => {
  it('takes exactly eight ASCII digits forming a real date from 1970 on', () => {
    expect(dayNumber('19700101')).toBe(0);
    expect(dayNumber('20240229')).toBe(dayNumber('20240228')! + 1);
    expect(dayName(dayNumber('20261115')!)).toBe('20261115');
    for (const bad of [
      '../x', '2026130 ', ' 20261130', '20261340', '20261300', '20261100', '20261131', '20250229', '20260230',
      '19691231', '00000101', '2026111', '202611150', '２０２６１１１５', 'ａ', '2026-11-15', '+2026111', '2026111\n',
      '20261115\u0000', '\u0661\u0669\u0667\u0660\u0660\u0661\u0660\u0661', '0x1F2A3B', '2e7', '', '.', '..', '9'.repeat(255),
    ]) expect(dayNumber(bad), JSON.stringify(bad)).toBeNull();
  });

  it('localDay is the calendar date in this process\'s time zone', () => {
    const t = new Date(2026, 10, 15, 23, 59, 59).getTime();
    expect(dayName(localDay(t))).toBe('20261115');
    expect(dayName(localDay(new Date(2026, 10, 16, 0, 0, 1).getTime()))).toBe('20261116');
  });
});

describe('archiveDays', () => {
  it('days 1, 2 and 5: newest 5, the gap 3–4, and how long ago the newest night was', () => {
    const a = archiveDays(dirs('20261105', '20261101', '20261102'), TODAY);
    expect(a).toEqual({
      days: 3, oldest: '20261101', newest: '20261105', sinceNewest: 11,
      gaps: [{ from: '20261103', to: '20261104', days: 2 }], gapCount: 1, missingDays: 2, ignored: 0, links: 0, truncated: false,
    });
    expect(gapText(a)).toBe('gap 20261103–20261104 (2 days)');
    expect(archiveText(a, 50_000)).toBe('20261105 (11d ago), gap 20261103–20261104 (2 days)');
  });

  it('no gap in consecutive days, across month and year ends and a leap day', () => {
    const a = archiveDays(dirs('20231231', '20240101', '20240228', '20240229', '20240301'), dayNumber('20240301')!);
    expect(a.gapCount).toBe(1);
    expect(a.gaps).toEqual([{ from: '20240102', to: '20240227', days: 57 }]);
    const b = archiveDays(dirs('20261114', '20261115', '20261116'), TODAY);
    expect(archiveText(b, 1)).toBe('20261116 (today)');
    expect(gapText(b)).toBe('');
  });

  it('one missing day, several runs, many runs (the latest shown, the rest counted)', () => {
    expect(gapText(archiveDays(dirs('20261101', '20261103'), TODAY))).toBe('gap 20261102 (1 day)');
    expect(gapText(archiveDays(dirs('20261101', '20261103', '20261106'), TODAY))).toBe('gaps 20261102, 20261104–20261105 (3 days)');
    const many = archiveDays(dirs('20261101', '20261103', '20261105', '20261107', '20261109', '20261115'), TODAY);
    expect(many.gapCount).toBe(5);
    expect(gapText(many)).toBe('gaps 20261106, 20261108, 20261110–20261114 and 2 earlier (9 days)');
  });

  it('a camera whose clock ran ahead, and an archive without a single day folder', () => {
    expect(archiveText(archiveDays(dirs('20261118'), TODAY), 1)).toBe('20261118 (in 2d)');
    expect(sinceText(1)).toBe('1d ago');
    const none = archiveDays([], TODAY);
    expect(none).toMatchObject({ days: 0, gaps: [], gapCount: 0, missingDays: 0 });
    expect(none.newest).toBeUndefined();
    expect(archiveText(none, 1)).toBe('no day folders');
  });

  it('hostile names are counted, never shown; dated links are not days; dated files are not days', () => {
    const evil: NamedEntry[] = [
      { name: '../x', type: 'dir' }, { name: '2026130 ', type: 'dir' }, { name: '20261340', type: 'dir' }, { name: 'ａ', type: 'dir' },
      { name: 'L'.repeat(255), type: 'dir' }, { name: '\x1b]0;pwned\x07', type: 'file' }, { name: '20261101\n20261199', type: 'dir' },
      { name: '20261110', type: 'symlink' }, { name: '20261111', type: 'file' }, { name: '20261112', type: 'other' }, { name: '20261113', type: 'unknown' },
      { name: '20261101', type: 'dir' }, { name: '20261102', type: 'dir' },
    ];
    const a = archiveDays(evil, TODAY, true);
    expect(a).toMatchObject({ days: 2, newest: '20261102', oldest: '20261101', ignored: 10, links: 1, gapCount: 0, truncated: true });
    const text = archiveText(a, 50_000);
    expect(text).toBe('20261102 (14d ago), 10 names ignored, 1 link not followed, only the first 50000 entries read');
    expect(text).not.toMatch(DANGEROUS);
    expect(archiveText(archiveDays([{ name: 'x', type: 'dir' }, { name: '20261101', type: 'symlink' }, { name: '20261102', type: 'symlink' }], TODAY), 1))
      .toBe('no day folders, 1 name ignored, 2 links not followed');
  });

  it('10 000 entries, every other day missing, plus junk: all counted, the runs kept bounded', () => {
    const entries: NamedEntry[] = [];
    const start = dayNumber('19800101')!;
    for (let i = 0; i < 5000; i++) entries.push({ name: dayName(start + 2 * i), type: 'dir' });
    for (let i = 0; i < 5000; i++) entries.push({ name: `${'9'.repeat(i % 300)}x${i}`, type: 'dir' });
    entries.reverse();
    const a = archiveDays(entries, TODAY);
    expect(a.days).toBe(5000);
    expect(a.ignored).toBe(5000);
    expect(a.gapCount).toBe(4999);
    expect(a.missingDays).toBe(4999);
    expect(a.gaps).toHaveLength(MAX_GAPS);
    expect(a.gaps.at(-1)).toEqual({ from: dayName(start + 9997), to: dayName(start + 9997), days: 1 });
    expect(a.oldest).toBe('19800101');
    expect(a.newest).toBe(dayName(start + 9998));
    expect(gapText(a)).toMatch(/^gaps \d{8}, \d{8}, \d{8} and 4996 earlier \(4999 days\)$/);
  });

  it('the widest span a name can make (19700101 to 99991231) is counted, not enumerated', () => {
    const a = archiveDays(dirs('99991231', '19700101'), TODAY);
    expect(a.missingDays).toBe(dayNumber('99991231')! - 1);
    expect(a.gaps).toEqual([{ from: '19700102', to: '99991230', days: a.missingDays }]);
    expect(a.sinceNewest).toBeLessThan(0);
  });
});

describe('the archive in the status table and --json', () => {
  const NOW = Date.UTC(2026, 10, 16, 12);
  const report = (archive: NonNullable<StatusReport['accounts'][number]['archive']> | undefined): StatusReport => ({
    accounts: [{ user: 'cam01', chroot: '/srv/cam01', ...(archive ? { archive } : {}) }],
    now: NOW, windowMs: 3600_000, maxEntries: 10_000, maxDepth: 8, archiveMaxEntries: 50_000,
  });
  const cell = (r: StatusReport) => formatStatus(r)[1]!.split(/ {2,}/)[6];

  it('says why there is nothing to count: no archive, a link (not followed), not a directory, an error', () => {
    expect(cell(report({ state: 'missing' }))).toBe('no archive');
    expect(cell(report({ state: 'link' }))).toBe('archive/ is a link: not followed');
    expect(cell(report({ state: 'not-dir' }))).toBe('archive/ is not a directory');
    expect(cell(report({ state: 'error', error: 'EACCES\x1b[2J' }))).toBe('archive/: EACCES\\x1b[2J');
    expect(cell(report(undefined))).toBe('—');
  });

  it('--json: the newest and oldest day, days since the newest, the runs of missing days and what was not counted', () => {
    const days = archiveDays([...dirs('20261101', '20261102', '20261105'), { name: '\x1b[2J', type: 'dir' }, { name: '20261110', type: 'symlink' }], TODAY);
    const json = statusJson(report({ state: 'ok', days })) as { accounts: Array<{ archive: unknown }> };
    expect(json.accounts[0]!.archive).toEqual({
      state: 'ok', newest: '20261105', oldest: '20261101', days: 3, daysSinceNewest: 11,
      gaps: [{ from: '20261103', to: '20261104', days: 2 }], gapCount: 1, missingDays: 2, ignoredNames: 1, linksNotFollowed: 1, truncated: false,
    });
    expect((statusJson(report({ state: 'link' })) as { accounts: Array<{ archive: unknown }> }).accounts[0]!.archive).toEqual({ state: 'link' });
    expect((statusJson(report(undefined)) as { accounts: Array<{ archive: unknown }> }).accounts[0]!.archive).toBeNull();
  });
});

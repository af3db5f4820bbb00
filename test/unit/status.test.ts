/** `status`: failed logins from the log, keys and tree figures, and the table a person reads. */
import { describe, expect, it } from 'vitest';
import { archiveDays } from '../../src/status/archive.js';
import { bytes, formatStatus, shortAge, statusJson, type StatusReport } from '../../src/status/format.js';
import { failedLogins } from '../../src/status/logins.js';
import { keysSummary, treeUsage } from '../../src/status/usage.js';
import { parseLogLine } from '../../src/sshd/log-lines.js';
import type { TreeEntry } from '../../src/system/safe-fs.js';

const DANGEROUS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const lines = (xs: string[]) => xs.map((x) => parseLogLine(x));
const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const HOUR = 3600_000;
const unix = (ms: number) => (ms / 1000).toFixed(6);

describe('failedLogins', () => {
  it('counts one per failed connection, by the line sshd ends it with, for the accounts asked about', () => {
    const r = failedLogins(lines([
      'Failed publickey for cam01 from 10.0.0.2 port 1 ssh2: ED25519 SHA256:x', // VERBOSE only: not counted twice
      'Connection closed by authenticating user cam01 10.0.0.2 port 1 [preauth]',
      'Disconnected from authenticating user cam01 10.0.0.2 port 2 [preauth]',
      'Connection reset by authenticating user cam02 10.0.0.3 port 3 [preauth]',
      'Disconnecting authenticating user cam02 10.0.0.3 port 4: Too many authentication failures [preauth]',
      'User cam03 from 10.0.0.4 not allowed because account is locked',
      'Connection closed by authenticating user other 10.0.0.5 port 5 [preauth]',
      'Accepted publickey for cam01 from 10.0.0.2 port 6 ssh2: ED25519 SHA256:x',
    ]), ['cam01', 'cam02', 'cam03', 'cam04'], NOW - HOUR, true);
    expect(Object.fromEntries(r.failed)).toEqual({ cam01: 2, cam02: 2, cam03: 1, cam04: 0 });
    expect(r.coverage).toBe('untimed');
  });

  it('a user name cannot pose as a failure of another account: patterns hold at the message\'s start', () => {
    const r = failedLogins(lines([
      'Invalid user Connection closed by authenticating user cam01 1.2.3.4 port 1 from 6.6.6.6 port 2',
      '1748779000.0 c sudo[1]: Connection closed by authenticating user cam01 1.2.3.4 port 1 [preauth]',
    ]), ['cam01'], 0, true);
    expect(r.failed.get('cam01')).toBe(0);
  });

  it('counts only the last hour of a timed log, and says when the lines read start inside it', () => {
    const l = lines([
      `${unix(NOW - 2 * HOUR)} c sshd[1]: Connection closed by authenticating user cam01 10.0.0.2 port 1 [preauth]`,
      `${unix(NOW - 10 * 60_000)} c sshd-session[2]: Connection closed by authenticating user cam01 10.0.0.2 port 2 [preauth]`,
    ]);
    expect(failedLogins(l, ['cam01'], NOW - HOUR, false)).toMatchObject({ coverage: 'window', failed: new Map([['cam01', 1]]) });
    expect(failedLogins(l.slice(1), ['cam01'], NOW - HOUR, false).coverage).toBe('partial');
    expect(failedLogins(l.slice(1), ['cam01'], NOW - HOUR, true).coverage).toBe('window');
  });
});

describe('keysSummary and treeUsage', () => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  it('counts usable keys and finds the oldest added-at comment', () => {
    const text = `# sftp-setup: added 2025-03-01T00:00:00Z\nrestrict ${key} a\n# sftp-setup: added 2024-01-01T00:00:00Z\nrestrict ${key} b\n${key} by-hand\nnot a key\n`;
    expect(keysSummary(text)).toEqual({ count: 3, oldestAddedAt: '2024-01-01T00:00:00Z', undated: 1 });
    expect(keysSummary('')).toEqual({ count: 0, undated: 0 });
  });

  const e = (rel: string, type: TreeEntry['type'], size: number, mtimeMs: number, uid = 1001): TreeEntry =>
    ({ rel, type, mode: 0o644, uid, gid: uid, nlink: 1, size, mtimeMs, dev: 1, ino: rel.length });
  it('adds up the account\'s files and finds the newest; root\'s files in the chroot root are not uploads', () => {
    const u = treeUsage([e('images', 'dir', 4096, 5), e('images/a.jpg', 'file', 100, 10), e('images/b.jpg', 'file', 50, 30), e('root-file', 'file', 9, 99, 0), e('images/l', 'symlink', 7, 98)], true);
    expect(u).toEqual({ bytes: 150, files: 2, truncated: true, newest: { path: 'images/b.jpg', mtimeMs: 30 } });
  });
});

describe('formatStatus', () => {
  const base: StatusReport = { accounts: [], now: NOW, windowMs: HOUR, maxEntries: 10_000, maxDepth: 8, archiveMaxEntries: 50_000, log: { source: '/var/log/auth.log', coverage: 'window' } };
  const row = (user: string, extra = {}) => ({
    user, chroot: `/srv/${user}`, keys: { count: 2, oldestAddedAt: new Date(NOW - 3 * 86_400_000).toISOString(), undated: 0 },
    usage: { bytes: 3 * 2 ** 20, files: 3, truncated: false, newest: { path: 'images/image-1.jpg', mtimeMs: NOW - 4 * 60_000 } },
    disk: { freeBytes: 45 * 2 ** 30, totalBytes: 90 * 2 ** 30 }, failed: 0, ...extra,
  });

  it('one header, one line per account with keys, oldest key, failures, size, free space and the last upload', () => {
    // 20250601 is NOW's day: the archive's newest night started yesterday.
    const days = archiveDays(['20250527', '20250528', '20250531'].map((name) => ({ name, type: 'dir' as const })), 20240);
    const out = formatStatus({ ...base, accounts: [
      row('cam01', { archive: { state: 'ok', days } }),
      row('cam02', { failed: 3, keys: undefined, usage: { bytes: 0, files: 0, truncated: false }, archive: { state: 'missing' } }),
    ] });
    expect(out).toEqual([
      'ACCOUNT  KEYS  OLDEST KEY  FAILED 1h  SIZE     FREE            ARCHIVE                                            LAST UPLOAD',
      'cam01    2     3d          0          3.0 MiB  45.0 GiB (50%)  20250531 (1d ago), gap 20250529–20250530 (2 days)  4m ago images/image-1.jpg',
      'cam02    none  —           3          0 B      45.0 GiB (50%)  no archive                                         none',
    ]);
  });

  it('marks lower bounds and uncounted windows, and says why under the table', () => {
    const capped = formatStatus({ ...base, log: { source: 'x.log (sshd -E)', coverage: 'untimed' }, accounts: [row('cam01', { usage: { bytes: 2 ** 30, files: 10_000, truncated: true } })] });
    expect(capped[1]).toMatch(/^cam01 +2 +3d +0\* +≥1\.0 GiB /);
    expect(capped.slice(2)).toEqual([
      '*: x.log (sshd -E) has no times: failed logins counted over the part of it read, not the last 1h',
      '≥: the walk of the upload tree stopped at 10000 entries or 8 levels: its size is at least this, and the last upload the newest of those seen',
    ]);
    expect(formatStatus({ ...base, log: { source: 's', coverage: 'partial', from: NOW - 60_000 }, accounts: [row('cam01', { failed: 2 })] })[1]).toMatch(/ ≥2 /);
    const nolog = formatStatus({ ...base, log: undefined, accounts: [row('cam01', { failed: undefined })] });
    expect(nolog[1]).toMatch(/^cam01 +2 +3d +— /);
    expect(nolog[2]).toMatch(/^—: no sshd log found/);
  });

  it('an uploaded name with ESC, newline or bidi controls is shown quoted and escaped, on its one line; JSON keeps it whole', () => {
    const evil = 'images/x\n\x1b[2J\x1b]0;pwned\x07\u202egpj.exe';
    const r = { ...base, accounts: [row('cam01', { usage: { bytes: 1, files: 1, truncated: false, newest: { path: evil, mtimeMs: NOW } } })] };
    const out = formatStatus(r);
    expect(out).toHaveLength(2);
    expect(out.join('\n')).not.toMatch(DANGEROUS);
    expect(out[1]).toContain('0s ago "images/x\\n\\u001b[2J\\u001b]0;pwned\\u0007\\u{202e}gpj.exe"');
    const json = statusJson(r) as { accounts: Array<{ lastUpload: { path: string; time: string } }> };
    expect(json.accounts[0]!.lastUpload).toEqual({ path: evil, time: new Date(NOW).toISOString() });
  });

  it('ages and sizes in few characters', () => {
    expect([5_000, 4 * 60_000, 3 * HOUR, 47 * HOUR, 50 * HOUR].map(shortAge)).toEqual(['5s', '4m', '3h', '47h', '2d']);
    expect([512, 1536, 5 * 2 ** 30].map(bytes)).toEqual(['512 B', '1.5 KiB', '5.0 GiB']);
  });
});

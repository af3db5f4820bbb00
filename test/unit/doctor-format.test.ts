/** The doctor's report: unchanged for one account; compact for a fleet, with a last line that names what failed. */
import { describe, expect, it } from 'vitest';
import { fail, formatDoctorCheck, pass, skip, warn, type DoctorCheck } from '../../src/doctor/check.js';
import { failing, formatDoctorReport, NAMED, summaryLine } from '../../src/doctor/format.js';

const DANGEROUS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const o = { scope: 'collector' as const, width: 0 };

/** What doctor finds on a healthy account made by init, in a host without a nosuid mount. */
function account(user: string): DoctorCheck[] {
  return [
    pass('account.exists', `account ${user} exists`, ['uid 999'], { user }),
    pass('chroot.components', `chroot /srv/${user} is root-owned all the way down`, [], { user }),
    skip('chroot.devlog', `/srv/${user}/dev/log for upload logging`, 'upload logging (internal-sftp -l/-f) is not configured', { user }),
    warn('chroot.mount', 'upload tree mounted nosuid,nodev', [`/srv/${user} is on / (ext4)`], { user, fix: `sudo sftp-setup init --user ${user} --protect-mount` }),
    pass('keys.file', `authorized keys file for ${user}`, [], { user }),
    skip('logs.recent', `recent sshd log lines for ${user}`, 'no sshd log found (sshd -E file, journal or /var/log/auth.log)', { user }),
  ];
}
const general = [pass('sshd.installed', 'OpenSSH server installed', ['/usr/sbin/sshd']), pass('sshd.drops', 'no connections dropped past MaxStartups', ['none'])];

function fleet(n: number, broken: Record<string, DoctorCheck[]> = {}): DoctorCheck[] {
  const out = [...general];
  for (let i = 1; i <= n; i++) {
    const u = `cam${String(i).padStart(2, '0')}`;
    out.push(...account(u).filter((c) => !broken[u]?.some((b) => b.id === c.id)), ...(broken[u] ?? []));
  }
  return out;
}
const keysMissing = (user: string) => fail('keys.file', `authorized keys file for ${user}`, [`/etc/ssh/sftp-setup/authorized_keys/${user}: missing`], { user, fix: 'sudo sftp-setup init' });

describe('summaryLine', () => {
  it('says nothing failed as before, with the counts', () => {
    expect(summaryLine(fleet(2), 'collector')).toBe('nothing failed, 2 warning(s), 8 passed, 4 skipped');
  });

  it('names each failing account with its check ids, and the general failures', () => {
    const checks = [...fleet(3, { cam02: [keysMissing('cam02'), fail('tree.modes', 't', [], { user: 'cam02' }), fail('logs.recent', 'a', [], { user: 'cam02' }), fail('logs.recent', 'b', [], { user: 'cam02' })] }),
      fail('sshd.running', 'sshd is running', [])];
    expect(summaryLine(checks, 'collector')).toBe(
      'collector fails: sshd.running; 1 account fails: cam02 (keys.file, tree.modes, logs.recent) — 5 failed, 3 warning(s), 10 passed, 5 skipped');
    expect(failing(checks)).toEqual([{ checks: ['sshd.running'] }, { user: 'cam02', checks: ['keys.file', 'tree.modes', 'logs.recent'] }]);
  });

  it('folds a long list: the first accounts named, then how many more', () => {
    const broken = Object.fromEntries(Array.from({ length: 12 }, (_, i) => `cam${String(i + 1).padStart(2, '0')}`).map((u) => [u, [keysMissing(u)]]));
    const line = summaryLine(fleet(40, broken), 'collector');
    expect(line).toMatch(/^12 accounts fail: cam01 \(keys\.file\), cam02 \(keys\.file\), .*cam08 \(keys\.file\), … and 4 more — 12 failed, /);
    expect(line.match(/\(keys\.file\)/g)).toHaveLength(NAMED);
  });

  it('escapes an account name', () => {
    expect(summaryLine([fail('keys.file', 'x', [], { user: 'a\x1b[2Jb' })], 'collector')).not.toMatch(DANGEROUS);
  });
});

describe('formatDoctorReport', () => {
  it('one account: every check under its heading, as before, the summary last', () => {
    const checks = [...general, ...account('allsky-upload')];
    const lines = formatDoctorReport(checks, o);
    expect(lines).toEqual([
      ...general.map((c) => formatDoctorCheck(c, 0)),
      'Upload account allsky-upload',
      ...account('allsky-upload').map((c) => formatDoctorCheck(c, 0)),
      summaryLine(checks, 'collector'),
    ]);
  });

  it('a fleet: one line per account, the broken account\'s details, a shared warning once, skips folded, the failure named last', () => {
    const checks = fleet(40, { cam07: [keysMissing('cam07')] });
    const lines = formatDoctorReport(checks, o);
    const text = lines.join('\n');
    expect(lines.length).toBeLessThan(60);
    expect(lines.filter((l) => /^  (pass|WARN|FAIL)  cam\d\d( — |$)/.test(l))).toHaveLength(40);
    expect(lines).toContain('  FAIL  cam07 — chroot.mount, keys.file');
    expect(lines).toContain('  WARN  cam01 — chroot.mount');
    // The broken account's failure in full, under its name.
    const at = lines.indexOf('Upload account cam07');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 4).join('\n')).toContain('/etc/ssh/sftp-setup/authorized_keys/cam07: missing');
    // 40 identical warnings: shown once, the others named.
    expect(text.match(/upload tree mounted nosuid,nodev/g)).toHaveLength(1);
    expect(lines).toContain('40 accounts: chroot.mount (shown for cam01)');
    expect(text).toMatch(/the same for cam02, cam03, .*, … and 31 more/);
    // 40 identical skips: one line each.
    expect(lines).toContain('  skip  logs.recent — no sshd log found (sshd -E file, journal or /var/log/auth.log) (skipped for 40 accounts)');
    expect(lines).toContain('  skip  chroot.devlog — upload logging (internal-sftp -l/-f) is not configured (skipped for 40 accounts)');
    expect(lines[lines.length - 1]).toBe('1 account fails: cam07 (keys.file) — 1 failed, 40 warning(s), 121 passed, 80 skipped');
  });

  it('a few accounts with the same warning: each shown in full (folding starts above three)', () => {
    const lines = formatDoctorReport(fleet(3), o);
    expect(lines.join('\n').match(/upload tree mounted nosuid,nodev/g)).toHaveLength(3);
    expect(lines.filter((l) => l.startsWith('Upload account '))).toEqual(['Upload account cam01', 'Upload account cam02', 'Upload account cam03']);
  });

  it('hostile account names and evidence stay one escaped line each', () => {
    const evil = 'cam\nFAKE\x1b[2J';
    const checks = [...general, ...account(evil), ...account('cam02'), fail('tree.modes', 'x', ['images/\x1b]0;t\x07'], { user: evil })];
    const text = formatDoctorReport(checks, o).join('\n');
    expect(text).not.toMatch(DANGEROUS);
    expect(text).not.toMatch(/^FAKE/m);
  });
});

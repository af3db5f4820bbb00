/**
 * `sftp-setup status` (issue 12) on a collector with 40 upload accounts made by the real init: one line per
 * account with its keys, the last upload after a real sftp upload, failed logins from sshd's log, and names
 * the upload account chose (ESC, newline) shown escaped, and each account's archive (issue 16): the newest
 * day folder and the days missing, names the account made up counted, links not followed. Read-only:
 * nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeKey, snapshot } from './helpers.js';
import { FLEET_ROOT, fleetHost, sftpAs, type Fleet } from './fleet-helpers.js';

// Any byte below 0x20 but the newline, DEL, C1, and the bidi controls a terminal acts on.
const DANGEROUS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

interface Row {
  user: string;
  keys: { count: number; oldestAddedAt?: string } | null;
  lastUpload: { path: string; time: string } | null;
  failedLogins: { count: number } | null;
  tree: { bytes: number; files: number; truncated: boolean } | null;
  disk: { freeBytes: number; totalBytes: number } | null;
  archive: { state: string; newest?: string | null; daysSinceNewest?: number | null; gaps?: unknown[]; ignoredNames?: number; linksNotFollowed?: number } | null;
}

describe('status on a collector with 40 upload accounts', { timeout: 300_000 }, () => {
  let f: Fleet;
  const status = (args: string[] = []) => cli(f.host, ['status', ...args]);
  const rowsOf = (stdout: string) => stdout.split('\n').filter((l) => /^cam\d\d /.test(l)).map((l) => l.split(/ {2,}/));

  beforeAll(async () => {
    f = await fleetHost('status', 40);
    // cam03 gets two more keys.
    for (const k of ['/root/k2', '/root/k3']) {
      const r = await cli(f.host, ['keys', 'add', '--user', 'cam03', await makeKey(f.host, k)]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    }
  }, 900_000);
  afterAll(async () => {
    await f?.host.destroy();
  });

  it('one line per account: its keys, no upload yet, free space; and it changes nothing', async () => {
    const paths = ['/etc/ssh', FLEET_ROOT, '/run/sftp-setup'];
    const before = await snapshot(f.host, paths);
    const r = await status();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^ACCOUNT +KEYS +OLDEST KEY +FAILED 1h +SIZE +FREE +ARCHIVE +LAST UPLOAD$/);
    const rows = rowsOf(r.stdout);
    expect(rows.map((c) => c[0])).toEqual(f.users);
    expect(rows.map((c) => c[1])).toEqual(f.users.map((u) => (u === 'cam03' ? '3' : '1')));
    for (const c of rows) {
      expect(c[2]).toMatch(/^\d+[smh]$/); // the oldest key's age, from init's added-at comment
      expect(c[5]).toMatch(/^\d+\.\d [KMGT]iB \(\d+%\)$/);
      expect(c[6]).toBe('no day folders'); // init made archive/, sync has delivered nothing yet
      expect(c[7]).toBe('none');
    }
    expect(await snapshot(f.host, paths)).toBe(before);
  });

  it('the last upload after a real sftp upload, and a failed login counted from sshd\'s log', async () => {
    await f.host.sh('head -c 5000 /dev/urandom > /root/image.jpg');
    const up = await sftpAs(f.host, 'cam07', 'put /root/image.jpg /images/image-20250601.jpg\n');
    expect(up.exitCode, up.stderr).toBe(0);
    // A camera with a key cam09 does not accept.
    await makeKey(f.host, '/root/stranger');
    expect((await sftpAs(f.host, 'cam09', 'ls\n', '/root/stranger')).exitCode).not.toBe(0);

    const r = await status();
    const rows = new Map(rowsOf(r.stdout).map((c) => [c[0], c]));
    expect(rows.get('cam07')![7]).toMatch(/^\d+[smh] ago images\/image-20250601\.jpg$/);
    expect(rows.get('cam07')![4]).toBe('4.9 KiB');
    expect(rows.get('cam08')![7]).toBe('none');
    // The harness's sshd logs to a -E file, which has no times: counted over what was read, and said so.
    expect(rows.get('cam09')![3]).toBe('1*');
    expect(rows.get('cam07')![3]).toBe('0*');
    expect(r.stdout).toMatch(/^\*: \/var\/log\/auth\.log \(sshd -E\) has no times/m);

    const j = await status(['--json']);
    expect(j.exitCode).toBe(0);
    const json = JSON.parse(j.stdout) as { accounts: Row[]; log: { source: string } };
    expect(json.log.source).toBe('/var/log/auth.log (sshd -E)');
    const cam07 = json.accounts.find((a) => a.user === 'cam07')!;
    expect(cam07.lastUpload!.path).toBe('images/image-20250601.jpg');
    expect(Date.parse(cam07.lastUpload!.time)).toBeGreaterThan(0);
    expect(cam07.tree).toEqual({ bytes: 5000, files: 1, truncated: false });
    expect(json.accounts.find((a) => a.user === 'cam03')!.keys!.count).toBe(3);
    expect(json.accounts.find((a) => a.user === 'cam09')!.failedLogins!.count).toBe(1);
  });

  it('a file name the upload account chose, with ESC and a newline, is shown quoted and escaped on its line', async () => {
    // Anything running with the upload uid can name files as it likes.
    await f.host.sh(`cd ${FLEET_ROOT}/cam11/images && setpriv --reuid=cam11 --regid=cam11 --clear-groups sh -c 'printf x > "$(printf "evil\\n\\033[2J\\033]0;pwned\\007")"'`);
    const r = await status();
    expect(r.stdout).not.toMatch(DANGEROUS);
    const line = r.stdout.split('\n').find((l) => l.startsWith('cam11 '))!;
    expect(line).toMatch(/ago "images\/evil\\n\\u001b\[2J\\u001b\]0;pwned\\u0007"$/);
    expect(r.stdout.split('\n').filter((l) => /^cam\d\d /.test(l))).toHaveLength(40);
    const json = JSON.parse((await status(['--json'])).stdout) as { accounts: Row[] };
    expect(json.accounts.find((a) => a.user === 'cam11')!.lastUpload!.path).toBe('images/evil\n\x1b[2J\x1b]0;pwned\x07');
  });

  it('walks a huge tree only so far, and says the size is at least that', async () => {
    await f.host.sh(`cd ${FLEET_ROOT}/cam12/images && setpriv --reuid=cam12 --regid=cam12 --clear-groups bash -c 'for i in $(seq 10050); do printf ab > f$i; done'`);
    const r = await status(['--user', 'cam12']);
    const rows = rowsOf(r.stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]![4]).toMatch(/^≥\d/);
    expect(r.stdout).toMatch(/^≥: the walk of the upload tree stopped at 10000 entries or 8 levels/m);
    const json = JSON.parse((await status(['--user', 'cam12', '--json'])).stdout) as { accounts: Row[] };
    expect(json.accounts).toHaveLength(1);
    expect(json.accounts[0]!.tree!.truncated).toBe(true);
  });

  it('the archive: days 1, 2 and 5 show the newest and the gap 3–4; made-up names counted, links not followed', async () => {
    // cam13: three nights delivered over real sftp, as sync makes them.
    const up = await sftpAs(f.host, 'cam13', 'mkdir /archive/20261101\nmkdir /archive/20261102\nmkdir /archive/20261105\n');
    expect(up.exitCode, up.stderr).toBe(0);
    // cam14: what anything with the upload uid can plant in archive/ (names that are no date, a dated file,
    // a dated link to /etc), next to two real nights.
    await f.host.sh(`cd ${FLEET_ROOT}/cam14/archive && setpriv --reuid=cam14 --regid=cam14 --clear-groups sh -c '` +
      `mkdir 20261120 20261122 20261340 "2026130 " "$(printf "\\357\\275\\201")" "$(printf "2026112\\033[2J")" "$(printf "x\\ny")" ` +
      `"$(printf "%0250d" 0)"; : > 20261123; ln -s /etc 20261129'`);
    // cam15: archive/ is a link to /etc (root's, as nothing else can write the chroot's top); cam16 has none.
    await f.host.sh(`rmdir ${FLEET_ROOT}/cam15/archive && ln -s /etc ${FLEET_ROOT}/cam15/archive && rmdir ${FLEET_ROOT}/cam16/archive`);
    const paths = ['/etc/ssh', FLEET_ROOT, '/run/sftp-setup'];
    const before = await snapshot(f.host, paths);

    const r = await status();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(DANGEROUS);
    expect(r.stdout.split('\n').filter((l) => /^cam\d\d /.test(l))).toHaveLength(40);
    const rows = new Map(rowsOf(r.stdout).map((c) => [c[0], c]));
    expect(rows.get('cam13')![6]).toMatch(/^20261105 \((\d+d ago|today)\), gap 20261103–20261104 \(2 days\)$/);
    expect(rows.get('cam14')![6]).toMatch(/^20261122 \((\d+d ago|today)\), gap 20261121 \(1 day\), 7 names ignored, 1 link not followed$/);
    expect(rows.get('cam15')![6]).toBe('archive/ is a link: not followed');
    expect(rows.get('cam16')![6]).toBe('no archive');
    expect(rows.get('cam12')![6]).toBe('no day folders');

    const j = await status(['--json']);
    expect(j.exitCode).toBe(0);
    const json = JSON.parse(j.stdout) as { accounts: Row[] };
    const arch = (u: string) => json.accounts.find((a) => a.user === u)!.archive!;
    expect(arch('cam13')).toMatchObject({ state: 'ok', newest: '20261105', oldest: '20261101', days: 3, gaps: [{ from: '20261103', to: '20261104', days: 2 }], gapCount: 1, missingDays: 2 });
    expect(arch('cam13').daysSinceNewest).toBeGreaterThanOrEqual(0);
    expect(arch('cam14')).toMatchObject({ state: 'ok', newest: '20261122', days: 2, ignoredNames: 7, linksNotFollowed: 1 });
    expect(arch('cam15')).toEqual({ state: 'link' });
    expect(arch('cam16')).toEqual({ state: 'missing' });
    expect(await snapshot(f.host, paths)).toBe(before);
  });

  it('--user of an account sftp-setup does not manage: exit 2, one line, nothing changed', async () => {
    const before = await snapshot(f.host, ['/etc/ssh', FLEET_ROOT]);
    const r = await status(['--user', 'cam99']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cam99 is not an upload account set up by sftp-setup/);
    expect((await status(['--user', 'Bad User'])).exitCode).toBe(2);
    expect(await snapshot(f.host, ['/etc/ssh', FLEET_ROOT])).toBe(before);
  });
});

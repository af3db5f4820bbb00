/**
 * doctor at a fleet's scale (issue 12): 40 upload accounts on one collector, made by the real init. One line
 * per account, the one broken account named in the last line, --user for one account in full, probes side by
 * side that leave nothing behind, and connections the real sshd dropped past MaxStartups counted from its log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, snapshot } from './helpers.js';
import { FLEET_ROOT, fleetHost, type Fleet } from './fleet-helpers.js';

interface Check { id: string; status: string; user?: string; evidence: string[]; reason?: string }
interface Report { ok: boolean; summary: { fail: number; failing: Array<{ user?: string; checks: string[] }> }; checks: Check[] }

const ACCOUNT_LINE = /^ {2}(pass|WARN|FAIL) {2}cam\d\d( — \S.*)?$/;

describe('doctor on a collector with 40 upload accounts', { timeout: 300_000 }, () => {
  let f: Fleet;
  const doctor = (args: string[] = []) => cli(f.host, ['doctor', '--role', 'collector', ...args]);
  const json = async (args: string[] = []) => {
    const r = await doctor(['--json', ...args]);
    expect(r.stderr).toBe('');
    return { code: r.exitCode, report: JSON.parse(r.stdout) as Report };
  };

  beforeAll(async () => {
    f = await fleetHost('dfleet', 40);
  }, 900_000);
  afterAll(async () => {
    await f?.host.destroy();
  });

  it('probes one account of each alike group, prints one line per account and folds what repeats, and changes nothing', async () => {
    const r = await doctor();
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => ACCOUNT_LINE.test(l)).map((l) => /cam\d\d/.exec(l)![0])).toEqual(f.users);
    expect(lines.length).toBeLessThan(80);
    expect(lines).toContain('  skip  chroot.devlog — upload logging (internal-sftp -l) is not configured (skipped for 40 accounts)');
    // Forty accounts made alike by init: one live probe stands for the others, whose own files are checked.
    expect(r.stdout).toMatch(/^ {2}skip {2}probe\.login — sampled: cam01 has the same sshd settings, profile and upload filesystems, and its live probe passed; .*\(skipped for 39 accounts\)$/m);
    expect(lines.at(-1)).toMatch(/^nothing failed, /);
    const sampled = (await json()).report.checks.filter((c) => c.id === 'probe.login');
    expect(sampled.map((c) => [c.user, c.status])).toEqual(f.users.map((u, i) => [u, i === 0 ? 'pass' : 'skip']));

    // --probe-all: forty probes side by side put everything back: the trees and their times, the probe
    // keys' directory (made by the first run: init --no-verify never probed), and no temporary directory is
    // left.
    const paths = ['/etc/ssh', '/etc/passwd', '/etc/shadow', FLEET_ROOT, '/run/sftp-setup'];
    const before = await snapshot(f.host, paths);
    const { report } = await json(['--probe-all']);
    expect(await snapshot(f.host, paths)).toBe(before);
    expect(await f.host.sh('ls -d /run/sftp-setup-probe-* 2>/dev/null; true')).toBe('');
    const logins = report.checks.filter((c) => c.id === 'probe.login');
    expect(logins.map((c) => [c.user, c.status])).toEqual(f.users.map((u) => [u, 'pass']));
    // What each account must be refused was tested live once for the settings they share.
    const tested = report.checks.filter((c) => c.id === 'probe.no-shell');
    expect(tested).toHaveLength(1);
    expect(tested[0]!.status).toBe('pass');
    expect(report.checks.filter((c) => c.id === 'probe.dirs' && c.status === 'pass')).toHaveLength(40);
  });

  it('one broken account among 40: the last line names it and its check; --user shows it in full; a live failure too', async () => {
    const keys = '/etc/ssh/sftp-setup/authorized_keys/cam17';
    await f.host.sh(`mv ${keys} /root/cam17.keys`);
    try {
      const r = await doctor(['--no-probe']);
      expect(r.exitCode).toBe(1);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(/^1 account fails: cam17 \(keys\.file\) — 1 failed, /);
      expect(lines.filter((l) => ACCOUNT_LINE.test(l) && l.startsWith('  FAIL  '))).toEqual(['  FAIL  cam17 — chroot.mount, keys.file']);
      const at = lines.indexOf('Upload account cam17');
      expect(lines[at + 1]).toMatch(/^ {2}FAIL {2}authorized keys file for cam17$/);
      expect(lines.slice(at + 2, at + 5).join('\n')).toContain(`${keys}: missing`);

      const { code, report } = await json(['--no-probe']);
      expect(code).toBe(1);
      expect(report.summary.failing).toEqual([{ user: 'cam17', checks: ['keys.file'] }]);

      // A second account whose fault a live session shows as well (its probe is one that leaves the
      // refusals to the first account, and its files' fault keeps it out of the sample): both named, in the
      // accounts' order.
      await f.host.sh(`chown root:root ${FLEET_ROOT}/cam23/images`);
      try {
        const live = await doctor();
        expect(live.exitCode).toBe(1);
        expect(live.stdout.trimEnd().split('\n').at(-1))
          .toMatch(/^2 accounts fail: cam17 \(keys\.file\), cam23 \(chroot\.upload-dirs, probe\.dir:images\) — /);
      } finally {
        await f.host.sh(`chown cam23: ${FLEET_ROOT}/cam23/images`);
      }

      const one = await doctor(['--no-probe', '--user', 'cam17']);
      expect(one.exitCode).toBe(1);
      expect(one.stdout).toContain('Upload account cam17\n');
      expect(one.stdout).not.toMatch(/cam(?!17)\d\d/);
      expect(one.stdout).toMatch(/ {2}pass {2}account cam17 exists/); // a single account: every check, as before
      expect(one.stdout.trimEnd().split('\n').at(-1)).toMatch(/^1 account fails: cam17 \(keys\.file\)/);
      const other = await json(['--no-probe', '--user', 'cam05']);
      expect(other.code).toBe(0);
      expect(new Set(other.report.checks.flatMap((c) => (c.user ? [c.user] : [])))).toEqual(new Set(['cam05']));
    } finally {
      await f.host.sh(`mv /root/cam17.keys ${keys}`);
    }
  });

  it('counts the connections the real sshd dropped past MaxStartups, from the log on its command line', async () => {
    // An sshd that drops every connection past 2 unauthenticated ones: two held open, three more tried.
    // (Three: OpenSSH 10 logs each drop until four a minute; 9.x logs the first and the episode's count.)
    await f.host.sh('echo "MaxStartups 2" > /etc/ssh/sshd_config.d/00-test-limits.conf');
    await f.host.stopSshd();
    await f.host.startSshd();
    try {
      const burst = await f.host.run(['bash', '-c', [
        'exec 3<>/dev/tcp/127.0.0.1/22 4<>/dev/tcp/127.0.0.1/22',
        'read -t 10 -r banner <&3; read -t 10 -r banner <&4', // both accepted and waiting for us
        'for i in 1 2 3; do (exec 5<>/dev/tcp/127.0.0.1/22; read -t 10 -r x <&5; echo "$x") ; done',
        'exec 3>&- 4>&-',
      ].join('\n')]);
      expect(burst.stdout.match(/Exceeded MaxStartups|Not allowed at this time/g)).toHaveLength(3);
      // Once the held ones are gone, the next connection ends a 9.x episode and sshd logs its count.
      await f.host.sh('for i in $(seq 200); do grep -q "exited MaxStartups throttling" /var/log/auth.log && break;' +
        ' [ "$(grep -c "22 Maxstartups" /var/log/auth.log)" -ge 3 ] && break;' +
        ' bash -c "exec 3<>/dev/tcp/127.0.0.1/22; read -t 5 -r x <&3"; sleep 0.05; done');
      const { report } = await json(['--no-probe', '--user', 'cam01']);
      const drops = report.checks.find((c) => c.id === 'sshd.drops')!;
      expect(drops.status).toBe('warn');
      expect(drops.evidence[0]).toMatch(/^3 connection\(s\) dropped in \/var\/log\/auth\.log \(sshd -E\)(, in 1 episode\(s\))?; MaxStartups 2:30:2$/);
      expect(drops.evidence[1]).toMatch(/^addresses in sshd's drop lines: 127\.0\.0\.1 \([13]\)$/);
    } finally {
      await f.host.sh('rm -f /etc/ssh/sshd_config.d/00-test-limits.conf');
      await f.host.stopSshd();
      await f.host.startSshd();
    }
  });
});

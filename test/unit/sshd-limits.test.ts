import { describe, expect, it } from 'vitest';
import { maxStartupsCheck } from '../../src/doctor/max-startups.js';
import type { CollectorContext } from '../../src/doctor/collector-context.js';
import { parseEffective } from '../../src/sshd/effective.js';
import { loadConfigDetailed } from '../../src/sshd/includes.js';
import { describeLimits, fitsBurst, limitsFor, limitsMismatch, LIMITS_FILE_NAME, parseMaxStartups, planLimits } from '../../src/sshd/limits.js';
import { globalDropin } from '../../src/sshd/placement.js';
import { memoryIO } from '../fixtures/sshd/fsio.js';

const MAIN = '/etc/ssh/sshd_config';
const OWN = `/etc/ssh/sshd_config.d/${LIMITS_FILE_NAME}`;
const DEBIAN = 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n';
// What sshd -T prints for these keywords on OpenSSH 9.2 and on 10.0 with the defaults.
const T92 = 'maxstartups 10:30:100\npersourcemaxstartups none\npersourcenetblocksize 32:128\n';
const T10 = `${T92}persourcepenalties crash:90 authfail:5 noauth:1 grace-exceeded:10 refuseconnection:10 max:600 min:15\npersourcepenaltyexemptlist none\n`;

function plan(files: Record<string, string>, t: string, accounts = 40) {
  const io = memoryIO({ [MAIN]: DEBIAN, ...files });
  const { directives } = loadConfigDetailed(MAIN, io);
  return planLimits({ accounts, effective: parseEffective(t), directives, ownPath: OWN, ownText: io.read(OWN) });
}

describe('limitsFor', () => {
  it('lets two uploads per account start at once, with room for admins, never below sshd\'s defaults', () => {
    expect(limitsFor(1)).toMatchObject({ burst: 2, start: 12, rate: 30, full: 102, perSource: 10 });
    expect(limitsFor(40)).toMatchObject({ burst: 80, start: 90, full: 180, perSource: 85 });
    expect(limitsFor(100)).toMatchObject({ burst: 200, start: 210, full: 300, perSource: 205 });
    for (const n of [1, 2, 5, 40, 100, 1000]) {
      const l = limitsFor(n);
      expect(l.start).toBeGreaterThan(l.perSource); // one source never takes every slot below start
      expect(l.perSource).toBeGreaterThanOrEqual(l.burst); // all cameras behind one NAT address fit
      expect(l.start).toBeGreaterThanOrEqual(10);
    }
  });

  it('reads MaxStartups as sshd -T prints it and judges the burst the way sshd drops', () => {
    expect(parseMaxStartups('10:30:100')).toEqual({ start: 10, rate: 30, full: 100 });
    expect(parseMaxStartups('50')).toEqual({ start: 50, rate: 30, full: 50 });
    expect(parseMaxStartups('1:2')).toBeNull();
    const l = limitsFor(40);
    expect(fitsBurst('MaxStartups', '80:30:100', l)).toBe(false); // the 80th waits with 79 others: one admin more is dropped
    expect(fitsBurst('MaxStartups', '81:30:100', l)).toBe(true);
    expect(fitsBurst('PerSourceMaxStartups', 'none', l)).toBe(true);
    expect(fitsBurst('PerSourceMaxStartups', '79', l)).toBe(false);
    expect(fitsBurst('PerSourceMaxStartups', '80', l)).toBe(true);
  });
});

describe('planLimits', () => {
  it('OpenSSH 9.2 defaults: MaxStartups and PerSourceMaxStartups, no PerSourcePenalties (sshd -T has none)', () => {
    const p = plan({}, T92);
    expect(p.decisions).toEqual([
      { keyword: 'MaxStartups', by: 'sftp-setup', value: '90:30:180' },
      { keyword: 'PerSourceMaxStartups', by: 'sftp-setup', value: '85' },
      { keyword: 'PerSourcePenalties', by: 'unsupported' },
    ]);
    expect(p.text).toMatch(/^# Managed by sftp-setup: .*sized for 40 upload accounts\./);
    expect(p.text).toContain('\nMaxStartups 90:30:180\n');
    expect(p.text).toContain('\nPerSourceMaxStartups 85\n');
    expect(p.text).not.toContain('PerSourcePenalties');
    expect(describeLimits(p)).toBe('MaxStartups 90:30:180; PerSourceMaxStartups 85; PerSourcePenalties: not in this OpenSSH');
  });

  it('OpenSSH 10: authfail penalties sized down, and it says why', () => {
    const p = plan({}, T10, 1);
    expect(p.text).toContain('\nPerSourcePenalties authfail:1s\n');
    expect(describeLimits(p)).toContain('PerSourcePenalties authfail:1s, so a camera with a stale key cannot get its whole site refused');
  });

  it('keeps a line of the user\'s anywhere (before or after our drop-in) and says whether the burst still fits', () => {
    const p = plan({ [MAIN]: `MaxStartups 20\n${DEBIAN}`, '/etc/ssh/sshd_config.d/90-site.conf': 'PerSourcePenalties no\n' }, T10);
    expect(p.decisions[0]).toEqual({ keyword: 'MaxStartups', by: 'yours', value: '20:30:20', where: `${MAIN} line 1`, enough: false });
    expect(p.decisions[2]).toMatchObject({ keyword: 'PerSourcePenalties', by: 'yours', where: '/etc/ssh/sshd_config.d/90-site.conf line 1' });
    expect(p.text).not.toMatch(/^MaxStartups|^PerSourcePenalties/m);
    expect(p.text).toContain('\nPerSourceMaxStartups 85\n');
    expect(describeLimits(p)).toContain(`MaxStartups 20:30:20 kept (yours: ${MAIN} line 1), too low for 80 uploads at once: sftp-setup would set 90:30:180`);
    // Our own earlier value does not count as the user's; a later user line does, even while ours still wins.
    const ours = plan({ [OWN]: '# Managed by sftp-setup\nMaxStartups 12:30:102\n' }, 'maxstartups 12:30:102\npersourcemaxstartups none\n', 40);
    expect(ours.decisions[0]).toMatchObject({ by: 'sftp-setup', value: '90:30:180' });
    const later = plan({ [OWN]: 'MaxStartups 90:30:180\n', '/etc/ssh/sshd_config.d/99-me.conf': 'MaxStartups 500:30:600\n' }, 'maxstartups 90:30:180\n');
    expect(later.decisions[0]).toMatchObject({ by: 'yours', value: '500:30:600', enough: true });
    // Several lines of the user's: the one sshd -T shows in effect is named (which one wins depends on the version).
    const two = plan({ [MAIN]: `${DEBIAN}PerSourceMaxStartups 3\nPerSourceMaxStartups 200\n` }, 'maxstartups 10:30:100\npersourcemaxstartups 3\n');
    expect(two.decisions[1]).toMatchObject({ by: 'yours', value: '3', where: `${MAIN} line 4`, enough: false });
  });

  it('a value sshd -T shows with no line setting it (a build option) is kept as the user\'s; every limit someone else\'s: no file', () => {
    const p = plan({}, 'maxstartups 300:30:400\npersourcemaxstartups 4\n');
    expect(p.decisions[0]).toMatchObject({ by: 'yours', value: '300:30:400', enough: true });
    expect(p.decisions[1]).toMatchObject({ by: 'yours', value: '4', enough: false });
    expect(p.text).toBeNull();
    expect(plan({}, 'persourcenetblocksize 24:64\nmaxstartups 10:30:100\n').netBlock).toBe('24:64');
  });

  it('limitsMismatch: what sshd -T must show for the limits we write', () => {
    const p = plan({}, T10);
    expect(limitsMismatch(parseEffective('maxstartups 90:30:180\npersourcemaxstartups 85\npersourcepenalties crash:90 authfail:1 noauth:1\n'), p)).toEqual([]);
    expect(limitsMismatch(parseEffective('maxstartups 10:30:100\npersourcemaxstartups 85\npersourcepenalties crash:90 authfail:5\n'), p)).toEqual([
      { keyword: 'MaxStartups', expected: '90:30:180', actual: '10:30:100' },
      { keyword: 'PerSourcePenalties', expected: 'authfail:1', actual: 'crash:90 authfail:5' },
    ]);
  });

  it('the drop-in goes where a global Include reads it, never after a Match', () => {
    expect(globalDropin({ mainText: DEBIAN, mainPath: MAIN }, LIMITS_FILE_NAME)?.path).toBe(OWN);
    expect(globalDropin({ mainText: 'Match User x\n  X11Forwarding no\nInclude /etc/ssh/sshd_config.d/*.conf\n', mainPath: MAIN }, LIMITS_FILE_NAME)).toBeNull();
    expect(globalDropin({ mainText: 'Include /etc/ssh/sshd_config.d/5*.conf\n', mainPath: MAIN }, LIMITS_FILE_NAME)).toBeNull();
  });
});

describe('doctor: sshd.max-startups', () => {
  const block = (u: string) => `# Managed by sftp-setup: upload account ${u}.\nMatch User ${u}\n    ChrootDirectory /srv/${u}\n    ForceCommand internal-sftp\n`;
  function ctx(files: Record<string, string>, t: string, users = ['cam1', 'cam2']): CollectorContext {
    const io = memoryIO({ [MAIN]: DEBIAN, ...Object.fromEntries(users.map((u) => [`/etc/ssh/sshd_config.d/50-sftp-setup-${u}.conf`, block(u)])), ...files });
    const config = loadConfigDetailed(MAIN, io);
    return { installed: true, running: true, config, accounts: [{ user: users[0]!, account: null, groups: [], profile: 'dropbox', eff: parseEffective(t) }] };
  }

  it('passes with the limits init writes, and names who set them', () => {
    const c = maxStartupsCheck(ctx({ [OWN]: 'MaxStartups 14:30:104\n' }, 'maxstartups 14:30:104\npersourcemaxstartups 10\n'));
    expect(c).toMatchObject({ id: 'sshd.max-startups', status: 'pass' });
    expect(c.evidence[0]).toBe(`MaxStartups 14:30:104 (sftp-setup, ${OWN})`);
  });

  it('warns when sshd\'s default is below a burst of the managed accounts, with init as the fix', () => {
    const users = Array.from({ length: 6 }, (_, i) => `cam${i}`);
    const c = maxStartupsCheck(ctx({}, T92, users));
    expect(c.status).toBe('warn');
    expect(c.evidence).toContain('MaxStartups 10:30:100 (sshd default)');
    expect(c.evidence.at(-1)).toBe('6 upload accounts managed by sftp-setup: up to 12 uploads may start at once (2 per camera), which needs a MaxStartups start above 12');
    expect(c.fix).toBe('sudo sftp-setup init --user cam0 --root /srv/cam0 --profile dropbox --no-verify');
  });

  it('a low value of the user\'s: the fix names their line', () => {
    const c = maxStartupsCheck(ctx({ '/etc/ssh/sshd_config.d/10-site.conf': 'PerSourceMaxStartups 2\n' }, 'maxstartups 90:30:180\npersourcemaxstartups 2\n'));
    expect(c.status).toBe('warn');
    expect(c.fix).toMatch(/^change \/etc\/ssh\/sshd_config.d\/10-site.conf line 1 to "PerSourceMaxStartups 10" \(or delete it and run sudo sftp-setup init --user cam1 /);
  });

  it('a line of the user\'s that sftp-setup\'s file overrides (set after init ran): warns, init is the fix', () => {
    const c = maxStartupsCheck(ctx({ [MAIN]: `MaxStartups 2\n${DEBIAN}`, [OWN]: 'MaxStartups 14:30:104\n' }, 'maxstartups 14:30:104\npersourcemaxstartups none\n'));
    expect(c.status).toBe('warn');
    expect(c.evidence.slice(0, 3)).toEqual([
      `MaxStartups 14:30:104 (sftp-setup, ${OWN})`,
      'PerSourceMaxStartups none (sshd default)',
      `MaxStartups 2 at ${MAIN} line 1 is yours but not in effect: sftp-setup's file sets it too`,
    ]);
    expect(c.fix).toBe('sudo sftp-setup init --user cam1 --root /srv/cam1 --profile dropbox --no-verify');
  });

  it('skips without managed accounts', () => {
    expect(maxStartupsCheck(ctx({}, T92, [])).status).toBe('skip');
  });
});

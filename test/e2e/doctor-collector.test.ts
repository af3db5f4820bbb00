/**
 * doctor on the collector, by fault injection: from a healthy account made by init, break one thing, check
 * that doctor fails naming the cause (check id and evidence), apply the fix it prints (or --fix), and check
 * that it passes again. Real sshd, real sftp from the camera host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, dropIn, KEYS_FILE, makeKey, ROOT, sftpAs, snapshot, startPair, TEST_KEY, USER, type Pair } from './helpers.js';

interface Check { id: string; title: string; status: string; evidence: string[]; fix?: string; reason?: string; user?: string }
interface Report { ok: boolean; checks: Check[]; fixes?: unknown[] }

describe('doctor on the collector', () => {
  let p: Pair;
  let pub: string;

  const doctor = async (args: string[] = []) => {
    const r = await cli(p.collector, ['doctor', '--json', ...args]);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as Report;
    return { code: r.exitCode, report, failed: report.checks.filter((c) => c.status === 'fail') };
  };
  const failedCheck = async (id: string, args: string[] = ['--no-probe']) => {
    const d = await doctor(args);
    expect(d.code).toBe(1);
    const c = d.failed.find((x) => x.id === id);
    expect(c, `expected ${id} to fail; failed: ${JSON.stringify(d.failed, null, 1)}`).toBeDefined();
    return c!;
  };
  const healthy = async (args: string[] = []) => {
    const d = await doctor(args);
    expect(d.failed, JSON.stringify(d.failed, null, 1)).toEqual([]);
    expect(d.code).toBe(0);
    return d;
  };
  /** Run a printed fix command inside the collector (tests run as root: drop the sudo). */
  const runFix = (fix: string | undefined) => {
    expect(fix).toBeTruthy();
    return p.collector.sh(fix!.replace(/\bsudo /g, ''));
  };
  const reloadSshd = () => p.collector.sh('kill -HUP "$(cat /run/sshd.pid)"; sleep 0.3');
  const cameraLogin = () => sftpAs(p.camera, { key: TEST_KEY }, 'ls /');

  beforeAll(async () => {
    p = await startPair();
    pub = await makeKey(p.camera, TEST_KEY);
    const r = await cli(p.collector, ['init', '--yes', '--key', '-'], { input: pub });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect((await cameraLogin()).exitCode).toBe(0);
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('passes on a healthy account, live probe included, and changes nothing', async () => {
    const paths = ['/etc/ssh', '/etc/passwd', '/etc/shadow', '/etc/group', ROOT, '/run/sftp-setup'];
    const before = await snapshot(p.collector, paths);
    const d = await healthy();
    expect(d.report.checks.find((c) => c.id === 'probe.login')?.status).toBe('pass');
    expect(d.report.checks.find((c) => c.id === 'logs.recent')?.status).toBe('pass');
    expect(await snapshot(p.collector, paths)).toBe(before);
    // The human checklist says the same.
    const h = await cli(p.collector, ['doctor', '--no-probe']);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toMatch(/nothing failed/);
  });

  it('home directory not the chroot: names both, usermod fixes it', async () => {
    await p.collector.sh(`usermod --home /home/${USER} ${USER}`);
    const c = await failedCheck('account.home');
    expect(c.evidence).toEqual([`home /home/${USER}`, `ChrootDirectory ${ROOT}`]);
    await runFix(c.fix);
    await healthy(['--no-probe']);
  });

  it('chroot root owned by the upload user: names it, chown fixes it', async () => {
    await p.collector.sh(`chown ${USER} ${ROOT}`);
    // The probe's connection opens while the files are checked; a refused chroot then cancels it.
    const before = await snapshot(p.collector, ['/run/sftp-setup']);
    const c = await failedCheck('chroot.components', []);
    expect(c.evidence[0]).toMatch(new RegExp(`^${ROOT} is owned by uid \\d+, not root`));
    expect(await snapshot(p.collector, ['/run/sftp-setup'])).toBe(before);
    expect((await p.collector.sh(`ls /run | grep -c '^sftp-setup-probe' || true`)).trim()).toBe('0');
    expect((await p.collector.sh(`pgrep -fc 'ControlMaste[r]=yes' || true`)).trim()).toBe('0');
    await runFix(c.fix);
    await healthy();
  });

  it('a group-writable parent directory: names that component', async () => {
    await p.collector.sh('chmod 0775 /var/lib');
    const c = await failedCheck('chroot.components');
    expect(c.evidence[0]).toMatch(/^\/var\/lib has mode 0775/);
    await runFix(c.fix);
    await healthy(['--no-probe']);
  });

  it('an upload directory owned by root, and a missing Allsky subdirectory: --fix --dry-run, then --fix', async () => {
    await p.collector.sh(`chown root:root ${ROOT}/images && rmdir ${ROOT}/images/videos/thumbnails`);
    const c = await failedCheck('chroot.upload-dirs');
    expect(c.evidence).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^${ROOT}/images: root:root 0755, not writable by ${USER}`)),
      `${ROOT}/images/videos/thumbnails: missing`,
    ]));
    const before = await snapshot(p.collector, ['/etc/ssh', ROOT]);
    const dry = await cli(p.collector, ['doctor', '--fix', '--dry-run', '--no-probe']);
    expect(dry.exitCode).toBe(1);
    expect(dry.stdout).toMatch(/would\s+upload directories/);
    expect(await snapshot(p.collector, ['/etc/ssh', ROOT])).toBe(before);
    const fixed = await cli(p.collector, ['doctor', '--fix', '--json']);
    expect(fixed.exitCode, fixed.stdout).toBe(0);
    await healthy();
  });

  it('authorized_keys writable by others, or owned by another user: StrictModes names the file', async () => {
    await p.collector.sh(`chmod 0666 ${KEYS_FILE}`);
    let c = await failedCheck('keys.modes');
    expect(c.evidence.join('\n')).toMatch(/group or others can write/);
    await runFix(c.fix);
    await p.collector.sh(`chown nobody ${KEYS_FILE}`);
    c = await failedCheck('keys.modes');
    expect(c.evidence[0]).toMatch(new RegExp(`^${KEYS_FILE}: owned by uid \\d+, neither root nor ${USER}`));
    await runFix(c.fix);
    await p.collector.sh(`chmod 0777 /etc/ssh/sftp-setup`);
    c = await failedCheck('keys.modes');
    expect(c.evidence[0]).toMatch(/^\/etc\/ssh\/sftp-setup: root:root 0777/);
    await runFix(c.fix);
    await healthy();
  });

  it('public key missing: no usable keys; wrong key: the log names the refused key', async () => {
    const saved = await p.collector.sh(`cat ${KEYS_FILE}`);
    await p.collector.sh(`: > ${KEYS_FILE}`);
    let c = await failedCheck('keys.parse');
    expect(c.evidence[0]).toBe('no key lines');
    // wrong key: another camera's key in place of ours
    const other = await makeKey(p.collector, '/root/otherkey');
    await p.collector.sh(`echo '${other}' > ${KEYS_FILE}`);
    expect((await cameraLogin()).exitCode).not.toBe(0);
    c = await failedCheck('logs.recent');
    expect(c.reason).toMatch(/key ED25519 SHA256:\S+ is not in allsky-upload's authorized keys/);
    expect(c.fix).toMatch(/sftp-setup keys add --user allsky-upload/);
    const add = await cli(p.collector, ['keys', 'add', '--user', USER, pub]);
    expect(add.exitCode, add.stdout + add.stderr).toBe(0);
    expect((await cameraLogin()).exitCode).toBe(0); // the camera's next upload
    await healthy();
    void saved;
  });

  it('a key restricted to another source address: the log names the address and the fix widens from=', async () => {
    await p.collector.sh(`sed -i 's/^restrict /restrict,from="10.9.9.9" /' ${KEYS_FILE}`);
    expect(await p.collector.sh(`cat ${KEYS_FILE}`)).toMatch(/from="10.9.9.9"/);
    expect((await cameraLogin()).exitCode).not.toBe(0);
    const c = await failedCheck('logs.recent');
    expect(c.title).toContain(p.cameraAddr);
    expect(c.reason).toContain(`from="10.9.9.9", and this client connects from ${p.cameraAddr}`);
    await runFix(c.fix);
    expect((await cameraLogin()).exitCode).toBe(0);
    await healthy(['--no-probe']);
  });

  it('another Match block taking precedence: names its file and line', async () => {
    await p.collector.sh(`printf 'Match User ${USER}\\n    ChrootDirectory /srv\\n' > /etc/ssh/sshd_config.d/40-other.conf`);
    await reloadSshd();
    const c = await failedCheck('sshd.precedence');
    expect(c.evidence[0]).toMatch(/^\/etc\/ssh\/sshd_config.d\/40-other.conf line 2: ChrootDirectory \/srv \(under Match User allsky-upload at line 1\)/);
    expect(c.fix).toMatch(/40-other.conf line 1/);
    await p.collector.sh('rm /etc/ssh/sshd_config.d/40-other.conf');
    await reloadSshd();
    await healthy(['--no-probe']);
  });

  it('an invalid configuration: sshd -t\'s own words, though a valid one is checked by the account\'s sshd -T -C', async () => {
    // doctor checks validity with the account's sshd -T -C; only a failure of it runs sshd -t.
    const ok = await healthy(['--no-probe']);
    expect(ok.report.checks.find((c) => c.id === 'sshd.config-valid')?.evidence).toEqual([`/usr/sbin/sshd -T -C user=${USER}: no errors`]);
    await p.collector.sh(`printf 'Match User ${USER}\\n    PrintMotd no\\n' > /etc/ssh/sshd_config.d/40-bad.conf`);
    try {
      const c = await failedCheck('sshd.config-valid');
      expect(c.evidence[0]).toMatch(/40-bad.conf line 2: Directive 'PrintMotd' is not allowed within a Match block/);
      const sshdT = (await p.collector.run(['/usr/sbin/sshd', '-t'])).stderr.trim().split('\n');
      expect(c.evidence).toEqual(sshdT.slice(0, 5));
    } finally {
      await p.collector.sh('rm /etc/ssh/sshd_config.d/40-bad.conf');
    }
    await healthy(['--no-probe']);
  });

  it('the OpenSSH version is read once per sshd binary, and remembered only in a file of root\'s', async () => {
    const REMEMBERED = '/run/sftp-setup/sshd-version';
    const version = async () => (await doctor(['--no-probe'])).report.checks.find((c) => c.id === 'sshd.version')!.evidence[0];
    const real = (await p.collector.run(['/usr/sbin/sshd', '-V'])).stderr.trim();
    // init wrote it: this binary's identity, then what sshd -V printed.
    const [identity, text] = (await p.collector.sh(`cat ${REMEMBERED}`)).split('\n');
    expect(text).toBe(real);
    expect(identity).toMatch(/^\d+:\d+:\d+:\d+:\d+$/);
    const plant = (id: string, mode: string) => p.collector.sh(`printf '%s\\nOpenSSH_8.1p1 planted\\n' '${id}' > ${REMEMBERED} && chmod ${mode} ${REMEMBERED}`);
    try {
      await plant(identity!, '0644');
      expect(await version()).toBe('OpenSSH_8.1p1 planted'); // root's file for this binary: used
      await plant(identity!, '0666');
      expect(await version()).toBe(real); // writable by others: not read
      await plant(`${identity}0`, '0644');
      expect(await version()).toBe(real); // another binary's
      await p.collector.sh(`printf '%s\\nOpenSSH_8.1p1 planted\\n' '${identity}' > /root/v && rm ${REMEMBERED} && ln -s /root/v ${REMEMBERED}`);
      expect(await version()).toBe(real); // a link: not followed
      await p.collector.sh(`rm ${REMEMBERED}`);
      expect(await version()).toBe(real);
      // doctor only reads: the next init remembers it again.
      expect((await p.collector.run(['test', '-e', REMEMBERED])).exitCode).toBe(1);
    } finally {
      await p.collector.sh(`rm -f ${REMEMBERED} /root/v`);
      const r = await cli(p.collector, ['init', '--yes', '--no-verify', '--key', '-'], { input: pub });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    }
    expect((await p.collector.sh(`cat ${REMEMBERED}`)).split('\n')).toEqual([identity, real, '']);
  });

  it('MaxStartups of the user\'s: reported while sftp-setup\'s file overrides it; once init leaves it out, too low: the fix names the line', async () => {
    const check = async () => (await doctor(['--no-probe'])).report.checks.find((x) => x.id === 'sshd.max-startups')!;
    const LIMITS = '/etc/ssh/sshd_config.d/00-sftp-setup-limits.conf';
    expect(await check()).toMatchObject({ status: 'pass', evidence: expect.arrayContaining([`MaxStartups 12:30:102 (sftp-setup, ${LIMITS})`]) });
    // Before the Include: sshd applies the last MaxStartups it reads, sftp-setup's.
    await p.collector.sh("sed -i '1i MaxStartups 2' /etc/ssh/sshd_config");
    await reloadSshd();
    let c = await check();
    expect(c.status).toBe('warn');
    expect(c.evidence).toContain('MaxStartups 2 at /etc/ssh/sshd_config line 1 is yours but not in effect: sftp-setup\'s file sets it too');
    expect(c.fix).toBe(`sudo sftp-setup init --user ${USER} --root ${ROOT} --no-verify`);
    const init = await p.collector.run(['sh', '-c', c.fix!.replace('sudo sftp-setup', `node ${CLI}`)]);
    expect(init.stdout).toMatch(/MaxStartups 2:30:2 kept \(yours: \/etc\/ssh\/sshd_config line 1\), too low for 2 uploads at once: sftp-setup would set 12:30:102/);
    c = await check();
    expect(c.status).toBe('warn');
    expect(c.evidence[0]).toBe('MaxStartups 2:30:2 (yours: /etc/ssh/sshd_config line 1)');
    const want = /^change \/etc\/ssh\/sshd_config line 1 to "(MaxStartups 12:30:102)" \(or delete it and run sudo sftp-setup init --user allsky-upload --root \/var\/lib\/allsky-uploads --no-verify\), then: sudo \/usr\/sbin\/sshd -t && sudo systemctl reload ssh$/.exec(c.fix ?? '');
    expect(want, c.fix).not.toBeNull();
    await p.collector.sh(`sed -i '1s/.*/${want![1]}/' /etc/ssh/sshd_config`);
    await reloadSshd();
    expect((await check()).status).toBe('pass');
    await p.collector.sh("sed -i '1d' /etc/ssh/sshd_config");
    await p.collector.run(['sh', '-c', c.fix!.replace(/.*\(or delete it and run sudo sftp-setup/, `node ${CLI}`).replace(/\).*/, '')]);
    expect(await p.collector.sh(`grep ^MaxStartups ${LIMITS}`)).toBe('MaxStartups 12:30:102\n');
    await healthy(['--no-probe']);
  });

  it('password authentication enabled for the user: names the line; --fix restores the block', async () => {
    const dropin = dropIn();
    await p.collector.sh(`sed -i 's/PasswordAuthentication no/PasswordAuthentication yes/' ${dropin}`);
    await reloadSshd();
    const c = await failedCheck('sshd.password-auth');
    expect(c.evidence[0]).toMatch(new RegExp(`^passwordauthentication yes \\(${dropin} line \\d+\\)`));
    const fixed = await cli(p.collector, ['doctor', '--fix']);
    expect(fixed.exitCode, fixed.stdout).toBe(0);
    expect(await p.collector.sh(`grep PasswordAuthentication ${dropin}`)).toMatch(/no/);
    await healthy();
  });

  it('sshd stopped: says so, with the command that starts it', async () => {
    await p.collector.stopSshd();
    const c = await failedCheck('sshd.running', []);
    expect(c.fix).toMatch(/\/usr\/sbin\/sshd/);
    const d = await doctor();
    expect(d.report.checks.find((x) => x.id === 'probe.login')?.status).toBe('skip');
    await runFix(c.fix);
    await healthy();
    // back to the harness's sshd, logging to auth.log
    await p.collector.stopSshd();
    await p.collector.startSshd();
  });

  it('bad input: exit 2, one line, nothing changed', async () => {
    const before = await snapshot(p.collector, ['/etc/ssh', ROOT]);
    const r = await cli(p.collector, ['doctor', '--user', 'Bad User']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const r2 = await cli(p.collector, ['doctor', '--dry-run']);
    expect(r2.exitCode).toBe(2);
    const r3 = await cli(p.collector, ['doctor', '--role', 'server']);
    expect(r3.exitCode).toBe(2);
    expect(await snapshot(p.collector, ['/etc/ssh', ROOT])).toBe(before);
  });
});

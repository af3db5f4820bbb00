/**
 * OpenSSH certificates against the real sshd: `ca init` (root-only CA, empty KRL up front, host certificates),
 * `init --ca` (the account's Match block trusts the user CA for its own name only), `keys sign` / `keys
 * revoke`, and a camera enrolled with `allsky-config --cert --via` that uploads with no authorized_keys entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CA, CA_DIR, principalsFileFor } from '../../src/collector/layout.js';
import { cli, installRemoteCli, KEYS_FILE, login as loginAs, makeKey, sftpAs, REMOTE_CLI, ROOT, snapshot, startPair, USER, type Pair } from './helpers.js';
import { installAllsky } from './allsky-fixture.js';

const OTHER = 'cam-two';
const DROPIN = '/etc/ssh/sshd_config.d/10-sftp-setup-host-certificate.conf';
// What a CA-related bad input must leave exactly as it was.
const WATCHED = ['/etc/ssh', ROOT];

let p: Pair;

/** A login with exactly this key (and its -cert.pub, which ssh loads by itself), no host key checks. */
const login = (user: string, key: string) => loginAs(p.camera, { user, key });

// sftp-setup is not installed on the test collector: a wrapper in an overlaid directory stands in for it.
const VIA_ENV = { env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE_CLI } };

beforeAll(async () => {
  p = await startPair();
  await Promise.all([
    installAllsky(p.camera),
    installRemoteCli(p.collector),
  ]);
  // The admin (root on the camera) logs in as root on the collector with its own key.
  await p.camera.sh('mkdir -p -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519 && ssh-keyscan -t ed25519 collector 2>/dev/null | grep -v "^#" > /root/.ssh/known_hosts');
  const adminKey = await p.camera.sh('cat /root/.ssh/id_ed25519.pub');
  await p.collector.sh(`mkdir -p -m 700 /root/.ssh && echo '${adminKey.trim()}' >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys`);
});

afterAll(async () => {
  await p?.destroy();
});

describe('ca init', () => {
  it('dry run changes nothing', async () => {
    const before = await snapshot(p.collector, WATCHED);
    const r = await cli(p.collector, ['ca', 'init', '--dry-run']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Dry run: nothing was changed.');
    expect(await snapshot(p.collector, WATCHED)).toBe(before);
  });

  it('makes a root-only CA outside every chroot, an empty KRL, and host certificates sshd presents', async () => {
    const r = await cli(p.collector, ['ca', 'init', '--yes']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await p.collector.sh(`stat -c '%U:%G %a %n' ${CA_DIR} ${CA.userKey} ${CA.hostKey} ${CA.serial} ${CA.krl}`)).toBe([
      `root:root 700 ${CA_DIR}`, `root:root 600 ${CA.userKey}`, `root:root 600 ${CA.hostKey}`, `root:root 600 ${CA.serial}`, `root:root 644 ${CA.krl}`, '',
    ].join('\n'));
    // An empty KRL that ssh-keygen reads; it revokes nothing.
    expect(await p.collector.sh(`ssh-keygen -Q -f ${CA.krl} ${CA.userKey}.pub`)).toMatch(/: ok$/m);
    expect(await p.collector.sh(`cat ${DROPIN}`)).toContain('HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub');
    const listing = await p.collector.sh('ssh-keygen -L -f /etc/ssh/ssh_host_ed25519_key-cert.pub');
    expect(listing).toContain('host certificate');
    expect(listing).toMatch(/Principals: \n +collector\n +collector\.local\n +10\.250\.0\.1\n/);
    // sshd presents it (the reload happened): the camera's keyscan gets a certificate.
    expect(await p.camera.sh('ssh-keyscan -c -t ed25519 collector 2>/dev/null')).toMatch(/^(collector )?ssh-ed25519-cert-v01@openssh\.com AAAA/m);
    expect(r.stdout).toMatch(/@cert-authority collector,collector\.local,10\.250\.0\.1 ssh-ed25519 AAAA/);
  });

  it('again changes nothing', async () => {
    const before = await snapshot(p.collector, WATCHED);
    const r = await cli(p.collector, ['ca', 'init', '--yes']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Already set up: nothing changed.');
    expect(await snapshot(p.collector, WATCHED)).toBe(before);
  });

  it('refuses a --name that is not a host name, and changes nothing', async () => {
    const before = await snapshot(p.collector, WATCHED);
    const r = await cli(p.collector, ['ca', 'init', '--yes', '--name', 'collector;reboot']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--name "collector;reboot" is not a valid host name/);
    expect(await snapshot(p.collector, WATCHED)).toBe(before);
  });
});

describe('init --ca', () => {
  it('trusts the user CA for the account\'s own name, with the KRL, inside its Match block; plain keys keep working', async () => {
    const plain = await makeKey(p.camera, '/root/plain');
    const r = await cli(p.collector, ['init', '--yes', '--no-verify', '--ca', '--key', plain]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const eff = await p.collector.sh(`sshd -T -C user=${USER} | grep -iE '^(trustedusercakeys|authorizedprincipalsfile|revokedkeys) '`);
    expect(eff).toContain(`trustedusercakeys ${CA.userKey}.pub`);
    expect(eff).toContain(`authorizedprincipalsfile ${principalsFileFor('%u')}`);
    expect(eff).toContain(`revokedkeys ${CA.krl}`);
    // Only inside the Match: root's own logins never depend on the KRL.
    expect(await p.collector.sh(`sshd -T -C user=root | grep -iE '^revokedkeys '`)).toBe('revokedkeys none\n');
    expect(await p.collector.sh(`stat -c '%U:%G %a' ${principalsFileFor(USER)}; cat ${principalsFileFor(USER)}`)).toBe(`root:root 644\n${USER}\n`);
    expect((await login(USER, '/root/plain')).ok).toBe(true);
    // Again without --ca: the block keeps its certificate lines.
    const again = await cli(p.collector, ['init', '--yes', '--no-verify']);
    expect(again.stdout).toContain('Already set up: nothing changed.');
  });

  it('a KRL sshd cannot read refuses every public-key login of the account (why ca init makes it first)', async () => {
    await p.collector.sh(`mv ${CA.krl} ${CA.krl}.away`);
    try {
      const r = await login(USER, '/root/plain');
      expect(r.ok).toBe(false);
      expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
      expect(await p.collector.sh('cat /var/log/auth.log')).toMatch(/in revoked keys file \/etc\/ssh\/sftp-setup\/ca\/krl: No such file or directory/);
    } finally {
      await p.collector.sh(`mv ${CA.krl}.away ${CA.krl}`);
    }
    expect((await login(USER, '/root/plain')).ok).toBe(true);
  });
});

describe('keys sign and keys revoke', () => {
  /** Sign the camera key at `path` for `user` with the key on stdin; install the certificate beside it. */
  async function enroll(path: string, user: string, extra: string[] = []) {
    const pub = await p.camera.sh(`cat ${path}.pub`);
    const r = await cli(p.collector, ['keys', 'sign', '--user', user, '--json', ...extra, '-'], { input: pub });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    await p.camera.sh(`cat > ${path}-cert.pub`, {}).catch(() => undefined);
    await p.camera.run(['sh', '-c', `cat > ${path}-cert.pub`], { input: `${j.certificate}\n` });
    return j;
  }
  const sighups = async () => (await p.collector.sh('grep -c "Received SIGHUP" /var/log/auth.log || true')).trim();

  it('signs a camera key whose comment is hostile: the id is data, printed escaped, nothing runs', async () => {
    await p.camera.sh(`ssh-keygen -q -t ed25519 -N '' -f /root/cam1 && printf '%s %s\\n' "$(cut -d' ' -f1,2 /root/cam1.pub)" 'pi@roof "q" $(touch /tmp/pwned) \`touch /tmp/pwned2\` \x1b]0;owned\x07' > /root/cam1.pub`);
    const j = await enroll('/root/cam1', USER);
    expect(j).toMatchObject({ ok: true, user: USER, principals: [USER], serial: '1', validAfter: null });
    expect(j.keyId).toBe('pi@roof "q" $(touch /tmp/pwned) `touch /tmp/pwned2` \\x1b]0;owned\\x07');
    expect(j.certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com AAAA\S+$/);
    expect(await p.collector.sh('ls /tmp/pwned /tmp/pwned2 2>&1 || true')).toMatch(/No such file/);
    const listing = await p.camera.sh('ssh-keygen -L -f /root/cam1-cert.pub');
    expect(listing).toMatch(/Critical Options: \(none\)\n\s+Extensions: \(none\)/);
    expect(listing).toMatch(/Valid: before /);
    // The human output: the certificate alone on stdout, the rest escaped on stderr.
    const human = await cli(p.collector, ['keys', 'sign', '--user', USER, '-'], { input: await p.camera.sh('cat /root/cam1.pub') });
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/^ssh-ed25519-cert-v01@openssh\.com \S+\n$/);
    expect(human.stderr).not.toMatch(/\x1b\]/);
    expect(human.stderr).toContain('id pi@roof "q" $(touch /tmp/pwned)');
  });

  it('the certificate logs in with no entry in authorized_keys, for its own account only', async () => {
    const pub = (await p.camera.sh("cut -d' ' -f2 /root/cam1.pub")).trim();
    expect(await p.collector.sh(`cat ${KEYS_FILE}`)).not.toContain(pub);
    expect((await login(USER, '/root/cam1')).ok).toBe(true);
    expect(await p.collector.sh('cat /var/log/auth.log')).toMatch(/Accepted publickey for allsky-upload .* ED25519-CERT SHA256:\S+ ID pi@roof .*\(serial 1\) CA ED25519/);
    // A second account with the same CA: the certificate names allsky-upload, not cam-two.
    const r = await cli(p.collector, ['init', '--yes', '--no-verify', '--ca', '--user', OTHER, '--root', '/srv/cam-two']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect((await login(OTHER, '/root/cam1')).ok).toBe(false);
    expect(await p.collector.sh('cat /var/log/auth.log')).toMatch(/Certificate does not contain an authorized principal/);
  });

  it('keys list shows the certificates issued, with id, serial and validity', async () => {
    const j = JSON.parse((await cli(p.collector, ['keys', 'list', '--user', USER, '--json'])).stdout);
    expect(j.certificates.map((c: { serial: string }) => c.serial)).toEqual(['1', '2']);
    expect(j.certificates[0]).toMatchObject({ principals: [USER], validAfter: null, revoked: false });
    const human = await cli(p.collector, ['keys', 'list', '--user', USER]);
    expect(human.stdout).toMatch(/2 certificates issued for allsky-upload/);
    expect(human.stdout).toMatch(/serial 1 {2}pi@roof "q" \$\(touch \/tmp\/pwned\) `touch \/tmp\/pwned2` \\x1b\]0;owned\\x07 {2}SHA256:\S+ {2}always to \d{4}-/);
  });

  it('a revoked serial is refused at once, without a reload', async () => {
    const before = await sighups();
    expect(Number(before)).toBeGreaterThan(0); // the reloads of ca init and init are in the log: the count means something
    const dry = await cli(p.collector, ['keys', 'revoke', '--dry-run', '2']);
    expect(dry.stdout).toContain('Would revoke serial 2.');
    const r = await cli(p.collector, ['keys', 'revoke', '1']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Revoked serial 1: sshd refuses it from the next login/);
    const l = await login(USER, '/root/cam1');
    expect(l.ok).toBe(false);
    expect(await p.collector.sh('cat /var/log/auth.log')).toMatch(/Authentication key ED25519-CERT SHA256:\S+ revoked by file \/etc\/ssh\/sftp-setup\/ca\/krl/);
    expect(await sighups()).toBe(before);
    expect((await cli(p.collector, ['keys', 'revoke', '1'])).stdout).toBe('Already revoked: serial 1\n');
    const j = JSON.parse((await cli(p.collector, ['keys', 'list', '--user', USER, '--json'])).stdout);
    expect(j.certificates.find((c: { serial: string }) => c.serial === '1').revoked).toBe(true);
  });

  it('revoking a key refuses its certificates too; a -cert.pub revokes that certificate', async () => {
    await makeKey(p.camera, '/root/cam3');
    await enroll('/root/cam3', USER);
    expect((await login(USER, '/root/cam3')).ok).toBe(true);
    const r = await cli(p.collector, ['keys', 'revoke', '-'], { input: await p.camera.sh('cat /root/cam3.pub') });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect((await login(USER, '/root/cam3')).ok).toBe(false);
    await makeKey(p.camera, '/root/cam4');
    await enroll('/root/cam4', USER);
    expect((await login(USER, '/root/cam4')).ok).toBe(true);
    const c = await cli(p.collector, ['keys', 'revoke', '-'], { input: await p.camera.sh('cat /root/cam4-cert.pub') });
    expect(c.stdout).toMatch(/^Revoked serial \d+ \(id test@camera/);
    expect((await login(USER, '/root/cam4')).ok).toBe(false);
  });

  it('expired and not-yet-valid certificates are refused', async () => {
    await makeKey(p.camera, '/root/old');
    await makeKey(p.camera, '/root/early');
    // An expired one can only be made by hand (keys sign refuses an interval that has ended).
    const pub = await p.camera.sh('cat /root/old.pub');
    const cert = await p.collector.sh(`d=$(mktemp -d) && printf '%s' '${pub.trim()}' > $d/k.pub && ssh-keygen -q -s ${CA.userKey} -I old -n ${USER} -z 900 -V 20200101Z:20200201Z $d/k.pub && cat $d/k-cert.pub && rm -r $d`);
    await p.camera.run(['sh', '-c', 'cat > /root/old-cert.pub'], { input: cert });
    expect((await login(USER, '/root/old')).ok).toBe(false);
    expect(await p.collector.sh('cat /var/log/auth.log')).toMatch(/Certificate invalid: expired/);
    await enroll('/root/early', USER, ['--valid', '20300101Z:20310101Z']);
    expect((await login(USER, '/root/early')).ok).toBe(false);
    expect(await p.collector.sh('cat /var/log/auth.log')).toMatch(/Certificate invalid: not yet valid/);
  });

  it('bad input exits 2 and changes nothing: a CA key as the camera key, a malformed validity, an account without --ca', async () => {
    const before = await snapshot(p.collector, WATCHED);
    const caPub = await p.collector.sh(`cat ${CA.userKey}.pub`);
    const hostCaPub = await p.collector.sh(`cat ${CA.hostKey}.pub`);
    const cam = await p.camera.sh('cat /root/cam1.pub');
    for (const [args, input, msg] of [
      [['keys', 'sign', '--user', USER, '-'], caPub, /KEY is the user CA key/],
      [['keys', 'sign', '--user', USER, '-'], hostCaPub, /KEY is the host CA key/],
      [['keys', 'sign', '--user', USER, '--valid', '52w', '-'], cam, /--valid "52w": the end "52w" is not a time/],
      [['keys', 'sign', '--user', USER, '--valid', '+1d:-1d', '-'], cam, /--valid "\+1d:-1d": the start/],
      [['keys', 'sign', '--user', USER, '--valid', 'always:20200101Z', '-'], cam, /has already ended/],
      [['keys', 'sign', '--user', USER, '--id', 'a\nb', '-'], cam, /--id "a\\nb" contains a control character/],
      [['keys', 'sign', '--user', USER, '-'], await p.camera.sh('cat /root/cam1-cert.pub'), /KEY - \(stdin\) is not a valid public key: unknown key type/],
      [['keys', 'revoke', '-'], caPub, /is the user CA key itself/],
      [['keys', 'revoke', '99999999999999999999'], undefined, /serial "99999999999999999999" is out of range/],
    ] as Array<[string[], string | undefined, RegExp]>) {
      const r = await cli(p.collector, args, input !== undefined ? { input } : {});
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    // An account set up without --ca accepts no certificates: signing for it is refused.
    const plainAccount = await cli(p.collector, ['keys', 'sign', '--user', 'nobody-here', '-'], { input: cam });
    expect(plainAccount.exitCode).toBe(2);
    expect(await snapshot(p.collector, WATCHED)).toBe(before);
  });
});

describe('allsky-config --cert --via', () => {
  const KEY = '/home/pi/.ssh/allsky_upload';
  const doctorCamera = async () => JSON.parse((await cli(p.camera, ['doctor', '--json', '--role', 'camera'])).stdout) as { checks: Array<{ id: string; status: string; evidence: string[]; reason?: string; fix?: string }> };

  it('a camera with a plain pinned host key keeps working once the collector presents host certificates', async () => {
    // ssh-keyscan without -c: the plain host key, as allsky-config pinned it before certificates.
    await p.camera.sh('ssh-keyscan -t ed25519 collector 2>/dev/null | grep -v "^#" > /root/kh-plain');
    const r = await sftpAs(p.camera, { key: '/root/plain', knownHosts: '/root/kh-plain' }, 'pwd');
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('a dry run changes nothing on either side and says a certificate would be requested', async () => {
    const [cam, col] = await Promise.all([snapshot(p.camera, ['/home/pi']), snapshot(p.collector, WATCHED)]);
    const r = await cli(p.camera, ['allsky-config', '--via', 'root@collector', '--cert', '--dry-run'], VIA_ENV);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would +certificate \/home\/pi\/\.ssh\/allsky_upload-cert\.pub — request a certificate from the collector over --via/);
    expect(r.stdout).toMatch(/would +collector host CA pinned in \/home\/pi\/\.ssh\/known_hosts \(@cert-authority collector\)/);
    expect(await snapshot(p.camera, ['/home/pi'])).toBe(cam);
    expect(await snapshot(p.collector, WATCHED)).toBe(col);
  });

  it('enrolls the camera in one command: it uploads the way Allsky does, with no authorized_keys entry and no pinned host key', async () => {
    const r = await cli(p.camera, ['allsky-config', '--via', 'root@collector', '--cert', '--yes'], VIA_ENV);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +certificate \/home\/pi\/\.ssh\/allsky_upload-cert\.pub \(serial \d+, always to \d{4}-/);
    expect(r.stdout).toMatch(/collector host CA pinned in \/home\/pi\/\.ssh\/known_hosts \(@cert-authority collector\)/);
    expect(r.stdout).not.toContain('key authorized on the collector');
    expect(r.stdout.match(/pass {2}images/g)?.length).toBe(5);
    const pub = (await p.camera.sh(`cut -d" " -f2 ${KEY}.pub`)).trim();
    expect(await p.collector.sh(`cat ${KEYS_FILE}`)).not.toContain(pub);
    const hostCa = (await p.collector.sh(`cut -d" " -f1,2 ${CA.hostKey}.pub`)).trim();
    expect(await p.camera.sh('cat /home/pi/.ssh/known_hosts')).toBe(`@cert-authority collector ${hostCa}\n`);
    expect(await p.camera.sh(`stat -c '%U %a' ${KEY}-cert.pub`)).toBe('pi 644\n');
    const listing = await p.camera.sh(`ssh-keygen -L -f ${KEY}-cert.pub`);
    expect(listing).toMatch(new RegExp(`Principals: \\n +${USER}\\n`));
    expect(await p.collector.sh('cat /var/log/auth.log')).toMatch(/Accepted publickey for allsky-upload from 10\.250\.0\.2 .* ED25519-CERT .* ID pi@camera/);
  });

  it('again changes nothing and asks for no new certificate', async () => {
    const serial = (await p.collector.sh(`cat ${CA.serial}`)).trim();
    const before = await snapshot(p.camera, ['/home/pi']);
    const r = await cli(p.camera, ['allsky-config', '--via', 'root@collector', '--cert', '--yes', '--no-test'], VIA_ENV);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Already configured: nothing changed.');
    expect(await snapshot(p.camera, ['/home/pi'])).toBe(before);
    expect((await p.collector.sh(`cat ${CA.serial}`)).trim()).toBe(serial);
  });

  it('after the collector\'s host keys are made again and re-signed, the camera uploads with no change on it', async () => {
    const before = await snapshot(p.camera, ['/home/pi']);
    await p.collector.sh('rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && ssh-keygen -q -A');
    const r = await cli(p.collector, ['ca', 'init', '--yes']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +host certificate \/etc\/ssh\/ssh_host_ed25519_key-cert\.pub .* re-sign \(the host key changed\)/);
    const d = await doctorCamera();
    for (const id of ['camera.known-hosts', 'camera.login', 'camera.remote-dirs', 'camera.certificate']) {
      expect(d.checks.find((c) => c.id === id)?.status, `${id}: ${JSON.stringify(d.checks.filter((c) => c.status !== 'pass'))}`).toBe('pass');
    }
    expect(await snapshot(p.camera, ['/home/pi'])).toBe(before);
    // The admin's own known_hosts (root's, not the camera's) still pins the old key: renewed by hand.
    await p.camera.sh('ssh-keyscan -t ed25519 collector 2>/dev/null | grep -v "^#" > /root/.ssh/known_hosts');
  });
});

describe('doctor and certificates', () => {
  const KEY = '/home/pi/.ssh/allsky_upload';
  type Check = { id: string; status: string; evidence: string[]; reason?: string; fix?: string };
  const check = async (host: 'camera' | 'collector', id: string) => {
    const r = await cli(host === 'camera' ? p.camera : p.collector, ['doctor', '--json', '--role', host, ...(host === 'collector' ? ['--no-probe'] : [])]);
    const checks = (JSON.parse(r.stdout) as { checks: Check[] }).checks;
    return { c: checks.filter((x) => x.id === id), all: checks };
  };
  /** Replace the camera's certificate with one signed on the collector by hand, with this validity. */
  const certWith = async (validity: string) => {
    const pub = (await p.camera.sh(`cat ${KEY}.pub`)).trim();
    const cert = await p.collector.sh(`d=$(mktemp -d) && printf '%s' '${pub}' > $d/k.pub && ssh-keygen -q -s ${CA.userKey} -I pi@camera -n ${USER} -z 950 -V ${validity} $d/k.pub && cat $d/k-cert.pub && rm -r $d`);
    await p.camera.run(['sh', '-c', `cat > ${KEY}-cert.pub`], { input: cert });
  };

  it('names an expired certificate, and allsky-config --cert renews it', async () => {
    await certWith('20200101Z:20200201Z');
    const { c, all } = await check('camera', 'camera.certificate');
    expect(c[0]).toMatchObject({ status: 'fail' });
    expect(c[0]!.evidence.join('\n')).toMatch(/expired 2020-02-01 00:00 UTC; this camera's clock says/);
    expect(c[0]!.reason).toMatch(/Certificate invalid: expired/);
    expect(all.find((x) => x.id === 'camera.login')?.status).toBe('fail');
    const r = await cli(p.camera, ['allsky-config', '--via', 'root@collector', '--cert', '--yes'], VIA_ENV);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +certificate .* renewed/);
    expect((await check('camera', 'camera.certificate')).c[0]?.status).toBe('pass');
  });

  it('names a certificate that is not valid yet, pointing at the clock', async () => {
    await certWith('20300101Z:20310101Z');
    const { c } = await check('camera', 'camera.certificate');
    expect(c[0]).toMatchObject({ status: 'fail' });
    expect(c[0]!.evidence.join('\n')).toMatch(/valid only from 2030-01-01 00:00 UTC; this camera's clock says \d{4}-/);
    expect(c[0]!.reason).toMatch(/clock is behind/);
  });

  it('warns a month before a certificate expires', async () => {
    await certWith('always:+10d');
    const { c } = await check('camera', 'camera.certificate');
    expect(c[0]).toMatchObject({ status: 'warn', fix: 'sftp-setup allsky-config --cert --via <admin>@collector' });
    expect(c[0]!.evidence.join('\n')).toMatch(/expires in 9 days/);
    await cli(p.camera, ['allsky-config', '--via', 'root@collector', '--cert', '--yes', '--no-test'], VIA_ENV);
  });

  it('on the collector: the CA is root-only, and a KRL sshd cannot read fails naming the accounts it locks out', async () => {
    const ok = await check('collector', 'ca.krl');
    expect(ok.c.map((x) => x.status)).toEqual(['pass']);
    expect((await check('collector', 'ca.files')).c[0]?.status).toBe('pass');
    expect((await check('collector', 'ca.principals')).c.map((x) => x.status)).toEqual(['pass', 'pass']);
    await p.collector.sh(`mv ${CA.krl} ${CA.krl}.away`);
    try {
      const { c } = await check('collector', 'ca.krl');
      expect(c[0]).toMatchObject({ status: 'fail', fix: 'sudo sftp-setup ca init' });
      expect(c[0]!.reason).toMatch(/sshd refuses every public-key login of allsky-upload, cam-two/);
    } finally {
      await p.collector.sh(`mv ${CA.krl}.away ${CA.krl}`);
    }
  });
});

describe('the CA and the accounts', () => {
  it('no upload account can read a CA key, and no chroot holds the CA', async () => {
    for (const user of [USER, OTHER]) {
      const r = await p.collector.run(['cat', CA.userKey], { user });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
      const chroot = (await p.collector.sh(`sshd -T -C user=${user} | sed -n 's/^chrootdirectory //p'`)).trim();
      expect(chroot).not.toBe('none');
      expect(`${CA_DIR}/`.startsWith(`${chroot.replace('%u', user)}/`)).toBe(false);
    }
  });

  it('uninstall removes the account\'s principals file with its keys file', async () => {
    const r = await cli(p.collector, ['uninstall', '--user', OTHER, '--yes']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await p.collector.sh(`ls ${principalsFileFor(OTHER)} 2>&1 || true`)).toMatch(/No such file/);
    expect(await p.collector.sh(`cat ${principalsFileFor(USER)}`)).toBe(`${USER}\n`);
  });
});

describe('a lost or replaced KRL', () => {
  // Revoked above: serial 1 (cam1, keys revoke 1), cam3's key (keys revoke KEY.pub: by fingerprint), cam4's
  // certificate (keys revoke -cert.pub: its serial). The camera enrolled with allsky-config holds a valid one.
  const REVOKED = ['/root/cam1', '/root/cam3', '/root/cam4'];
  const VALID = '/home/pi/.ssh/allsky_upload';
  type Check = { id: string; status: string; evidence: string[]; reason?: string; fix?: string };
  const doctor = async (id: string) => {
    const r = await cli(p.collector, ['doctor', '--json', '--role', 'collector', '--no-probe']);
    return (JSON.parse(r.stdout) as { checks: Check[] }).checks.filter((c) => c.id === id);
  };
  const fingerprint = async (pub: string) => (await p.camera.sh(`ssh-keygen -lf ${pub}`)).split(' ')[1]!;
  const serialOf = async (cert: string) => /Serial: (\d+)/.exec(await p.camera.sh(`ssh-keygen -L -f ${cert}`))![1]!;
  /** Which of the revoked keys sshd lets in, and whether the valid camera gets in. */
  const logins = async () => ({
    revoked: (await Promise.all(REVOKED.map((k) => login(USER, k)))).map((r) => r.ok),
    valid: (await login(USER, VALID)).ok,
  });
  const REFUSED = { revoked: [false, false, false], valid: true };

  it('the revoked certificates and key are refused before anything is lost', async () => {
    expect(await logins()).toEqual(REFUSED);
    expect((await doctor('ca.revocations')).map((c) => c.status)).toEqual(['pass']);
  });

  it('a KRL replaced by an empty one made by hand lets them in again, and doctor fails naming each', async () => {
    await p.collector.sh(`rm ${CA.krl} && ssh-keygen -q -k -f ${CA.krl} && chmod 644 ${CA.krl}`);
    expect(await logins()).toEqual({ revoked: [true, true, true], valid: true });
    expect((await doctor('ca.krl')).map((c) => c.status)).toEqual(['pass']);
    const [c] = await doctor('ca.revocations');
    expect(c).toMatchObject({ status: 'fail', fix: 'sudo sftp-setup ca init' });
    const evidence = c!.evidence.join('\n');
    expect(evidence).toMatch(/^serial 1 \(allsky-upload \(id pi@roof "q" \$\(touch \/tmp\/pwned\) `touch \/tmp\/pwned2` \\x1b\]0;owned\\x07\)\): revoked in \/etc\/ssh\/sftp-setup\/ca\/issued\.jsonl, accepted by \/etc\/ssh\/sftp-setup\/ca\/krl$/m);
    expect(evidence).toContain(`serial ${await serialOf('/root/cam4-cert.pub')} (allsky-upload (id test@camera`);
    expect(evidence).toContain(`key ${await fingerprint('/root/cam3.pub')} (allsky-upload (id test@camera`);
    expect(c!.reason).toMatch(/sshd accepts 3 certificates or keys the CA revoked/);
    // The human report escapes the camera's key id.
    const human = await cli(p.collector, ['doctor', '--role', 'collector', '--no-probe']);
    expect(human.stdout).toMatch(/FAIL +the revocation list refuses everything the CA revoked/);
    expect(human.stdout).not.toMatch(/\x1b\]0;owned/);
  });

  it('ca init --dry-run says what it would put back and changes nothing', async () => {
    const before = await snapshot(p.collector, WATCHED);
    const r = await cli(p.collector, ['ca', 'init', '--dry-run']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would +key revocation list .* restore 3 revocations of \/etc\/ssh\/sftp-setup\/ca\/issued\.jsonl it no longer holds \(serial 1, \d+; key SHA256:\S+\)/);
    expect(await snapshot(p.collector, WATCHED)).toBe(before);
  });

  it('ca init puts every revocation back: refused again at once, the valid camera still logs in', async () => {
    const r = await cli(p.collector, ['ca', 'init', '--yes']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await logins()).toEqual(REFUSED);
    expect(r.stdout).toMatch(/Restored 3 revocations in \/etc\/ssh\/sftp-setup\/ca\/krl from \/etc\/ssh\/sftp-setup\/ca\/issued\.jsonl \(serial 1, \d+; key SHA256:\S+\): sshd refuses them again\./);
    expect((await doctor('ca.revocations')).map((c) => c.status)).toEqual(['pass']);
    expect((await cli(p.collector, ['ca', 'init', '--yes'])).stdout).toContain('Already set up: nothing changed.');
  });

  it('a deleted KRL: a dry run changes nothing, and ca init makes it again from the record', async () => {
    await p.collector.sh(`rm ${CA.krl}`);
    const before = await snapshot(p.collector, WATCHED);
    const dry = await cli(p.collector, ['ca', 'init', '--dry-run']);
    expect(dry.exitCode, dry.stdout + dry.stderr).toBe(0);
    expect(await snapshot(p.collector, WATCHED)).toBe(before);
    const r = await cli(p.collector, ['ca', 'init', '--yes', '--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await logins()).toEqual(REFUSED);
    expect(dry.stdout).toMatch(/would +key revocation list .* create it, revoking again the 3 revocations of \/etc\/ssh\/sftp-setup\/ca\/issued\.jsonl/);
    expect(JSON.parse(r.stdout).krl).toMatchObject({ restored: 3, unusableRecordLines: [], recordMissing: false });
    expect(await p.collector.sh(`stat -c '%U:%G %a' ${CA.krl}`)).toBe('root:root 644\n');
    // What sshd enforces, asked of ssh-keygen directly: the certificates and the key are revoked.
    const q = await p.collector.run(['sh', '-c', `ssh-keygen -Q -l -f ${CA.krl}`]);
    expect(q.stdout).toMatch(/^serial: 1$/m);
    expect(q.stdout).toMatch(/^hash: SHA256:[0-9a-f]{64}$/m);
  });

  it('a rebuild that fails later in the run is rolled back with it', async () => {
    const cert = '/etc/ssh/ssh_host_ed25519_key-cert.pub';
    // The host certificate must be signed again, with a host CA key that ssh-keygen cannot read: the KRL is
    // made, then signing fails.
    await p.collector.sh(`rm ${CA.krl} && mv ${cert} /root/cert.keep && cp -p ${CA.hostKey} /root/host_ca.keep && echo damaged > ${CA.hostKey}`);
    try {
      const before = await snapshot(p.collector, WATCHED, { mtime: false });
      const r = await cli(p.collector, ['ca', 'init', '--yes']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/changed +key revocation list/);
      expect(r.stdout + r.stderr).toContain('Every change of this run was rolled back.');
      expect(await snapshot(p.collector, WATCHED, { mtime: false })).toBe(before);
    } finally {
      await p.collector.sh(`cp -p /root/host_ca.keep ${CA.hostKey} && mv /root/cert.keep ${cert}`);
    }
    expect((await cli(p.collector, ['ca', 'init', '--yes'])).exitCode).toBe(0);
    expect(await logins()).toEqual(REFUSED);
  });

  it('without its record the CA says it cannot restore anything, and invents nothing', async () => {
    try {
      await p.collector.sh(`mv ${CA.issued} /root/issued.keep && rm ${CA.krl}`);
      const r = await cli(p.collector, ['ca', 'init', '--yes']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/create an empty key revocation list; the CA's record \/etc\/ssh\/sftp-setup\/ca\/issued\.jsonl is missing although certificates were issued/);
      expect(r.stdout).toMatch(/Warning: the CA's record .* is missing although certificates were issued: no revocation can be restored from it; revoke again what was revoked/);
      expect(await p.collector.sh(`ssh-keygen -Q -l -f ${CA.krl} | grep -v '^#' | grep . || true`)).toBe('');
      const [c] = await doctor('ca.revocations');
      expect(c).toMatchObject({ status: 'warn' });
      expect(c!.evidence[0]).toMatch(/issued\.jsonl: missing, but .*serial says \d+ certificates were issued/);
    } finally {
      await p.collector.sh(`if [ -e /root/issued.keep ]; then mv /root/issued.keep ${CA.issued}; fi`);
    }
    // The record back: the KRL that exists now lacks its revocations, and ca init adds them.
    const r = await cli(p.collector, ['ca', 'init', '--yes']);
    expect(r.stdout).toContain('Restored 3 revocations');
    expect(await logins()).toEqual(REFUSED);
  });

  it('hostile lines in the record add no KRL line, are named by number, and print escaped', async () => {
    const valid = await fingerprint(`${VALID}.pub`);
    const hostile = [
      // A serial and a fingerprint whose line break would add "revoke everything" and the valid camera's key.
      JSON.stringify({ event: 'revoked', at: 'x', serial: '1\nserial: 1-18446744073709551615' }),
      JSON.stringify({ event: 'revoked', at: 'x', fingerprint: `SHA256:x\nhash: ${valid}` }),
      JSON.stringify({ event: 'revoked', at: 'x', serial: '2', ca: `SHA256:x\nhash: ${valid}` }),
      '\x1b]0;owned\x07 not a record',
    ];
    await p.collector.sh(`cp -p ${CA.issued} /root/issued.clean`);
    await p.collector.run(['sh', '-c', `cat >> ${CA.issued}`], { input: hostile.map((l) => `${l}\n`).join('') });
    const lines = Number((await p.collector.sh(`wc -l < ${CA.issued}`)).trim());
    try {
      await p.collector.sh(`rm ${CA.krl}`);
      const r = await cli(p.collector, ['ca', 'init', '--yes']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('Restored 3 revocations');
      expect(r.stdout).toContain(`Warning: lines ${lines - 3}, ${lines - 2}, ${lines - 1}, ${lines} of ${CA.issued} cannot be used: what they revoked is not restored.`);
      expect(r.stdout + r.stderr).not.toMatch(/\x1b\]0;owned/);
      const listing = await p.collector.sh(`ssh-keygen -Q -l -f ${CA.krl}`);
      expect(listing).not.toMatch(/serial: 1-/);
      expect(listing.match(/^(serial|hash|id|key): /gm)).toHaveLength(3);
      expect(await logins()).toEqual(REFUSED);
      const [c] = await doctor('ca.revocations');
      expect(c).toMatchObject({ status: 'warn' });
    } finally {
      await p.collector.sh(`cp -p /root/issued.clean ${CA.issued}`);
    }
  });
});

/**
 * The end of a certificate's life, against the real sshd: `keys rotate` on a camera enrolled with
 * `allsky-config --cert --via` gets its new key certified (no authorized_keys entry) and the old key revoked
 * in the KRL without a reload; `uninstall` revokes every certificate issued for the account, so that an
 * account made again under the same name (the certificates' principal) refuses the old camera.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CA, CA_DIR } from '../../src/collector/layout.js';
import {
  authorizeAdmin, CAMERA_KEY, cli, COLLECTOR_STATE, installRemoteCli, KEYS_FILE, login, makeKey, REMOTE_CLI, snapshot, startPair, USER, type Pair,
} from './helpers.js';
import { installAllsky } from './allsky-fixture.js';

const VIA_ENV = { env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE_CLI }, timeoutMs: 120_000 };
const CAMERA_FILES = ['/home/pi'];
const COLLECTOR_FILES = [...COLLECTOR_STATE, CA_DIR];
const CERT = `${CAMERA_KEY}-cert.pub`;

let p: Pair;

const rotate = (args: string[], env: Record<string, string> = {}) =>
  cli(p.camera, ['keys', 'rotate', ...args], { ...VIA_ENV, env: { ...VIA_ENV.env, ...env } });
const fingerprint = async (path: string) => (await p.camera.sh(`ssh-keygen -lf ${path}`)).split(' ')[1]!;
/** What ssh-keygen -L says of a certificate file on the camera. */
const certOf = async (path: string) => {
  const l = await p.camera.sh(`ssh-keygen -L -f ${path}`);
  return { key: /Public key: \S+ (SHA256:\S+)/.exec(l)![1]!, serial: /Serial: (\d+)/.exec(l)![1]!, principals: /Principals: \n((?: {16}.*\n)+)/.exec(l)![1]!.trim().split(/\s+/) };
};
/** A login with this private key and the certificate beside it (ssh loads KEY-cert.pub by itself). */
const accepts = async (key: string, user = USER) => {
  const r = await login(p.camera, { key, user });
  if (!r.ok && !/Permission denied \(publickey/.test(r.stderr)) throw new Error(`login failed for another reason: ${r.stderr}`);
  return r.ok;
};
/** How many logins sshd refused because the KRL revokes the certificate (the log only grows). */
const revokedRefusals = async () => Number((await p.collector.sh('grep -c "Authentication key ED25519-CERT .* revoked by file /etc/ssh/sftp-setup/ca/krl" /var/log/auth.log || true')).trim());
const sighups = async () => (await p.collector.sh('grep -c "Received SIGHUP" /var/log/auth.log || true')).trim();
type Cert = { serial: string; fingerprint: string; revoked: boolean };
const issued = async (): Promise<Cert[]> => JSON.parse((await cli(p.collector, ['keys', 'list', '--user', USER, '--json'])).stdout).certificates;
/** Keep a copy of the camera's key and certificate (as root, outside pi's files) to try them later. */
const saveCurrent = async (name: string) => {
  await p.camera.sh(`mkdir -p /root/old && cp ${CAMERA_KEY} /root/old/${name} && cp ${CERT} /root/old/${name}-cert.pub && chmod 600 /root/old/${name}`);
  return `/root/old/${name}`;
};

beforeAll(async () => {
  p = await startPair();
  await Promise.all([installAllsky(p.camera), installRemoteCli(p.collector)]);
  await authorizeAdmin(p.camera, p.collector);
  await p.camera.sh('ssh-keyscan -t ed25519 collector 2>/dev/null | grep -v "^#" > /root/.ssh/known_hosts');
  // Another camera with a plain authorized key shares the account: the keys file is not empty.
  const plain = await makeKey(p.camera, '/root/plain');
  for (const args of [['ca', 'init', '--yes'], ['init', '--yes', '--no-verify', '--ca', '--key', plain]]) {
    const r = await cli(p.collector, args);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  }
  const r = await cli(p.camera, ['allsky-config', '--via', 'root@collector', '--cert', '--yes', '--no-test'], VIA_ENV);
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  expect(await accepts(CAMERA_KEY)).toBe(true);
}, 180_000);

afterAll(async () => {
  await p?.destroy();
});

/** The end state of every rotation of the certificate camera. */
async function expectRotated(oldCopy: string, oldFp: string, keysBefore: string): Promise<void> {
  const newFp = await fingerprint(CAMERA_KEY);
  expect(newFp).not.toBe(oldFp);
  const cert = await certOf(CERT);
  expect(cert.key).toBe(newFp);
  expect(cert.principals).toEqual([USER]);
  expect(await p.camera.sh(`stat -c '%U:%G %a' ${CAMERA_KEY} ${CAMERA_KEY}.pub ${CERT}`)).toBe('pi:pi 600\npi:pi 644\npi:pi 644\n');
  expect(await p.camera.sh('ls -A /home/pi/.ssh | sort')).toBe('allsky_upload\nallsky_upload-cert.pub\nallsky_upload.pub\nknown_hosts\n');
  // No authorized_keys entry for the new key: the keys file is exactly as it was.
  expect(await p.collector.sh(`cat ${KEYS_FILE}`)).toBe(keysBefore);
  const refusals = await revokedRefusals();
  expect(await accepts(oldCopy)).toBe(false);
  expect(await revokedRefusals()).toBe(refusals + 1);
  expect(await accepts(CAMERA_KEY)).toBe(true);
  const certs = await issued();
  expect(certs.find((c) => c.serial === cert.serial)).toMatchObject({ fingerprint: newFp, revoked: false });
  expect(certs.filter((c) => c.fingerprint === oldFp).every((c) => c.revoked)).toBe(true);
  // The camera's own check: its certificate and an Allsky-style login pass.
  const d = JSON.parse((await cli(p.camera, ['doctor', '--json', '--role', 'camera'])).stdout) as { checks: Array<{ id: string; status: string }> };
  for (const id of ['camera.login', 'camera.certificate']) expect(d.checks.find((c) => c.id === id)?.status, id).toBe('pass');
}

describe('keys rotate on a certificate camera', () => {
  it('dry run: names the certificate steps and changes nothing on either side', async () => {
    const [cam, col] = await Promise.all([snapshot(p.camera, CAMERA_FILES), snapshot(p.collector, COLLECTOR_FILES)]);
    const r = await rotate(['--via', 'root@collector', '--dry-run']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would +authorize: have the collector's CA certify it for allsky-upload .*\(no authorized_keys entry\)/);
    expect(r.stdout).toMatch(/would +revoke: revoke SHA256:\S+ and its certificates in the collector's KRL/);
    expect(await snapshot(p.camera, CAMERA_FILES)).toBe(cam);
    expect(await snapshot(p.collector, COLLECTOR_FILES)).toBe(col);
  });

  it('bad input changes nothing: no --via, a certificate that is not of the key, pi\'s link to a file of root\'s', async () => {
    const [cam, col] = await Promise.all([snapshot(p.camera, CAMERA_FILES), snapshot(p.collector, COLLECTOR_FILES)]);
    const r = await rotate(['--yes']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/allsky_upload logs in with a certificate .*: the new key needs one from the collector's CA/);
    expect(r.stderr).toMatch(/--via ADMIN@COLLECTOR/);
    expect(await snapshot(p.camera, CAMERA_FILES)).toBe(cam);
    // pi (who owns the certificate file) puts another key's certificate there: refused, nothing signed or revoked.
    await p.camera.sh(`cp -p ${CERT} /root/cert.keep && touch -r /home/pi/.ssh /root/dir.keep && cp /root/plain.pub ${CERT}`);
    try {
      const bad = await rotate(['--via', 'root@collector', '--yes']);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toMatch(/allsky_upload-cert\.pub is not a certificate of the key in \/home\/pi\/\.ssh\/allsky_upload/);
      expect(await snapshot(p.collector, COLLECTOR_FILES)).toBe(col);
      // ... or a link to a file only root can read: root does not follow pi's link, and prints nothing of it.
      await p.camera.sh(`echo 'ssh-ed25519-cert-v01@openssh.com TOPSECRET' > /root/secret && chmod 600 /root/secret && rm ${CERT} && ln -s /root/secret ${CERT} && chown -h pi:pi ${CERT}`);
      const link = await rotate(['--via', 'root@collector', '--yes']);
      expect(link.exitCode).toBe(1);
      expect(link.stdout + link.stderr).not.toContain('TOPSECRET');
      expect(link.stderr).toMatch(/cannot read \/home\/pi\/\.ssh\/allsky_upload-cert\.pub: .* symbolic link owned by uid \d+: not followed/);
      expect(await snapshot(p.collector, COLLECTOR_FILES)).toBe(col);
    } finally {
      await p.camera.sh(`rm -f ${CERT} && cp -p /root/cert.keep ${CERT} && touch -r /root/dir.keep /home/pi/.ssh`);
    }
    expect(await snapshot(p.camera, CAMERA_FILES)).toBe(cam);
  });

  it('rotates: the new key gets its own certificate, the old key is revoked in the KRL without a reload', async () => {
    const oldFp = await fingerprint(CAMERA_KEY);
    const oldSerial = (await certOf(CERT)).serial;
    const oldCopy = await saveCurrent('first');
    const keysBefore = await p.collector.sh(`cat ${KEYS_FILE}`);
    const reloads = await sighups();
    const r = await rotate(['--via', 'root@collector', '--yes']);
    expect(r.stderr).toBe('');
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/done +authorize: certificate serial \d+ for allsky-upload, .*; no authorized_keys entry/);
    expect(r.stdout).toMatch(/done +revoke: revoked SHA256:\S+ and its certificates in the collector's KRL \(no reload\); it is refused now/);
    expect((await certOf(CERT)).serial).not.toBe(oldSerial);
    await expectRotated(oldCopy, oldFp, keysBefore);
    expect(await sighups()).toBe(reloads);
  });

  for (const stop of ['authorized', 'half-switched']) {
    it(`killed after "${stop}": the camera still logs in, and the next run converges`, async () => {
      const oldFp = await fingerprint(CAMERA_KEY);
      const oldCopy = await saveCurrent(stop);
      const keysBefore = await p.collector.sh(`cat ${KEYS_FILE}`);
      const r = await rotate(['--via', 'root@collector', '--yes'], { SFTP_SETUP_ROTATE_STOP_AFTER: stop });
      expect(r.exitCode).toBe(137);
      expect(await accepts(CAMERA_KEY)).toBe(true);
      const again = await rotate(['--via', 'root@collector', '--yes']);
      expect(again.stderr).toBe('');
      expect(again.exitCode, again.stdout).toBe(0);
      expect(again.stdout).toMatch(/resume/);
      await expectRotated(oldCopy, oldFp, keysBefore);
    });
  }
});

describe('uninstall revokes the account\'s certificates', () => {
  // A second camera certified for the account by hand (keys sign), whatever the rotations above left.
  beforeAll(async () => {
    const victim = await makeKey(p.camera, '/root/victim');
    const j = JSON.parse((await cli(p.collector, ['keys', 'sign', '--user', USER, '--json', '-'], { input: victim })).stdout);
    await p.camera.run(['sh', '-c', 'cat > /root/victim-cert.pub'], { input: `${j.certificate}\n` });
    expect(await accepts('/root/victim')).toBe(true);
  });

  it('dry run: says how many it would revoke and changes nothing', async () => {
    const pending = (await issued()).filter((c) => !c.revoked).length;
    expect(pending).toBeGreaterThan(0);
    const before = await snapshot(p.collector, COLLECTOR_FILES);
    const r = await cli(p.collector, ['uninstall', '--user', USER, '--dry-run']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`would +certificates issued for allsky-upload .*revoke ${pending} certificate`));
    expect(r.stdout).toContain(`Would revoke ${pending} certificate${pending === 1 ? '' : 's'} issued for allsky-upload.`);
    expect(await snapshot(p.collector, COLLECTOR_FILES)).toBe(before);
  });

  it('a run that fails later puts the KRL and the CA\'s log back', async () => {
    const before = await snapshot(p.collector, [CA_DIR], { mtime: false });
    // The drop-ins' directory turns read-only: uninstall revokes and deletes the account, then cannot remove the block.
    await p.collector.sh('mount --bind /etc/ssh/sshd_config.d /etc/ssh/sshd_config.d && mount -o remount,bind,ro /etc/ssh/sshd_config.d');
    try {
      const r = await cli(p.collector, ['uninstall', '--yes', '--user', USER]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/changed +certificates issued for allsky-upload/);
    } finally {
      await p.collector.sh('umount /etc/ssh/sshd_config.d');
    }
    expect(await snapshot(p.collector, [CA_DIR], { mtime: false })).toBe(before);
    expect(await accepts(CAMERA_KEY)).toBe(true);
  });

  it('revokes every certificate issued for the account, and says how many', async () => {
    const pending = (await issued()).filter((c) => !c.revoked).length;
    const r = await cli(p.collector, ['uninstall', '--yes', '--user', USER, '--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).certificatesRevoked).toBe(pending);
    // The human line, on a second account made and removed the same way.
    const key = await makeKey(p.camera, '/root/two');
    expect((await cli(p.collector, ['init', '--yes', '--no-verify', '--ca', '--user', 'cam-two', '--root', '/srv/cam-two', '--key', key])).exitCode).toBe(0);
    const signed = await cli(p.collector, ['keys', 'sign', '--user', 'cam-two', '-'], { input: key });
    expect(signed.exitCode, signed.stderr).toBe(0);
    const two = await cli(p.collector, ['uninstall', '--yes', '--user', 'cam-two']);
    expect(two.stdout).toContain('Revoked 1 certificate issued for cam-two: no later account named cam-two accepts them');
  });

  it('an account made again under the same name refuses the old camera\'s certificate', async () => {
    const plain = (await p.camera.sh('cat /root/plain.pub')).trim();
    const r = await cli(p.collector, ['init', '--yes', '--no-verify', '--ca', '--key', plain]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    // The certificates still name allsky-upload and have not expired: only the KRL stops them.
    expect((await certOf('/root/victim-cert.pub')).principals).toEqual([USER]);
    expect((await certOf(CERT)).principals).toEqual([USER]);
    const refusals = await revokedRefusals();
    expect(await accepts('/root/victim')).toBe(false);
    expect(await accepts(CAMERA_KEY)).toBe(false);
    expect(await revokedRefusals()).toBe(refusals + 2);
    // The new account itself works: its plain key, and a certificate issued now.
    expect(await accepts('/root/plain')).toBe(true);
    const fresh = await makeKey(p.camera, '/root/fresh');
    const j = JSON.parse((await cli(p.collector, ['keys', 'sign', '--user', USER, '--json', '-'], { input: fresh })).stdout);
    await p.camera.run(['sh', '-c', 'cat > /root/fresh-cert.pub'], { input: `${j.certificate}\n` });
    expect(await accepts('/root/fresh')).toBe(true);
    // keys list shows the old account's certificates as revoked, the new one not.
    const certs = await issued();
    expect(certs.filter((c) => c.serial !== j.serial).every((c) => c.revoked)).toBe(true);
    expect(certs.find((c) => c.serial === j.serial)?.revoked).toBe(false);
    expect((await cli(p.collector, ['keys', 'list', '--user', USER])).stdout).toMatch(/serial \d+ .*REVOKED/);
  });

  it('a name whose account is gone but whose certificates were left valid gets them revoked', async () => {
    // As an uninstall from before this revocation left it: the KRL without cam-two's serial.
    const key = await makeKey(p.camera, '/root/three');
    expect((await cli(p.collector, ['init', '--yes', '--no-verify', '--ca', '--user', 'cam-three', '--root', '/srv/cam-three', '--key', key])).exitCode).toBe(0);
    const j = JSON.parse((await cli(p.collector, ['keys', 'sign', '--user', 'cam-three', '--json', '-'], { input: key })).stdout);
    await p.collector.run(['sh', '-c', 'cat > /root/three-cert.pub'], { input: `${j.certificate}\n` });
    await p.collector.sh(`cp -p ${CA.krl} /root/krl.before`);
    expect((await cli(p.collector, ['uninstall', '--yes', '--user', 'cam-three'])).exitCode).toBe(0);
    await p.collector.sh(`cp -p /root/krl.before ${CA.krl}`);
    const dry = await cli(p.collector, ['uninstall', '--user', 'cam-three', '--dry-run']);
    expect(dry.stdout).toContain('Would revoke 1 certificate issued for cam-three.');
    const r = await cli(p.collector, ['uninstall', '--yes', '--user', 'cam-three']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Revoked 1 certificate issued for cam-three');
    expect(await p.collector.sh(`ssh-keygen -Q -f ${CA.krl} /root/three-cert.pub 2>&1 || true`)).toMatch(/REVOKED/);
    // Once revoked, the name is simply gone.
    const again = await cli(p.collector, ['uninstall', '--yes', '--user', 'cam-three']);
    expect(again.stdout).toMatch(/Nothing to remove/);
  });
});

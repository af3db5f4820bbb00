/**
 * OpenSSH certificates against the real sshd: `ca init` (root-only CA, empty KRL up front, host certificates),
 * `init --ca` (the account's Match block trusts the user CA for its own name only), `keys sign` / `keys
 * revoke`, and a camera enrolled with `allsky-config --cert --via` that uploads with no authorized_keys entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CA, CA_DIR, keysFileFor, principalsFileFor } from '../../src/collector/layout.js';
import { cli, makeKey, snapshot, startPair, type Pair } from './helpers.js';

const USER = 'allsky-upload';
const OTHER = 'cam-two';
const DROPIN = '/etc/ssh/sshd_config.d/10-sftp-setup-host-certificate.conf';
// What a CA-related bad input must leave exactly as it was.
const WATCHED = ['/etc/ssh', '/var/lib/allsky-uploads'];

let p: Pair;

/** A login with exactly this key (and its -cert.pub, which ssh loads by itself), no host key checks. */
async function login(user: string, key: string): Promise<{ ok: boolean; stderr: string }> {
  const r = await p.camera.run(['bash', '-c',
    `echo pwd | sftp -F /dev/null -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no` +
      ` -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -b - ${user}@collector`]);
  return { ok: r.exitCode === 0, stderr: r.stderr };
}

beforeAll(async () => {
  p = await startPair();
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

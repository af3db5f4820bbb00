/**
 * The camera side of certificates, pure parts: the @cert-authority pin replacing pinned host keys in
 * known_hosts, and the collector's `keys sign --json` answer read as hostile remote output.
 */
import { describe, expect, it } from 'vitest';
import { certAuthorityEntries, hashHostName, planCertAuthority } from '../../src/camera/known-hosts.js';
import { parseSignAnswer } from '../../src/camera/cert-enroll.js';
import { viaSignScript, HOST_KEYS_MARK } from '../../src/camera/handoff.js';

const CA = { type: 'ssh-ed25519', base64: 'AAAAC3NzaC1lZDI1NTE5AAAAICA1' };
const OLD_CA = { type: 'ssh-ed25519', base64: 'AAAAC3NzaC1lZDI1NTE5AAAAICA0' };
const HOSTKEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1';

describe('planCertAuthority', () => {
  it('replaces the host keys pinned for the collector by one @cert-authority line, keeping every other line', () => {
    const hashed = hashHostName('collector', Buffer.alloc(20, 1));
    const before = `other ${HOSTKEY}\ncollector,10.0.0.1 ${HOSTKEY}\n${hashed} ${HOSTKEY}\n@revoked * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRV\n`;
    const plan = planCertAuthority(before, 'collector', CA);
    expect(plan.stale).toEqual([`collector,10.0.0.1 ${HOSTKEY}`, `${hashed} ${HOSTKEY}`]);
    expect(plan.text).toBe(`other ${HOSTKEY}\n10.0.0.1 ${HOSTKEY}\n@revoked * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRV\n@cert-authority collector ${CA.type} ${CA.base64}\n`);
    // Idempotent.
    expect(planCertAuthority(plan.text, 'collector', CA)).toMatchObject({ changed: false, added: false, stale: [] });
  });

  it('replaces a CA line with another key (the collector made its CA again), only for this host', () => {
    const before = `@cert-authority collector,other ${OLD_CA.type} ${OLD_CA.base64}\n`;
    const plan = planCertAuthority(before, 'collector', CA);
    expect(plan.text).toBe(`@cert-authority other ${OLD_CA.type} ${OLD_CA.base64}\n@cert-authority collector ${CA.type} ${CA.base64}\n`);
    expect(certAuthorityEntries(plan.text, 'collector')).toEqual([{ line: 2, type: CA.type, base64: CA.base64, content: `@cert-authority collector ${CA.type} ${CA.base64}` }]);
    expect(certAuthorityEntries(plan.text, '[collector]:2222')).toEqual([]);
  });
});

describe('the collector\'s keys sign answer', () => {
  const good = { ok: true, serial: '4', certificate: 'ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1', userCa: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICA1', hostCa: null };
  it('is read field by field', () => {
    expect(parseSignAnswer(`${JSON.stringify(good, null, 2)}\n`)).toEqual({ certificate: good.certificate, userCa: good.userCa, hostCa: null, serial: '4' });
    expect(parseSignAnswer(JSON.stringify({ ...good, certificate: null, hostCa: good.userCa }))?.hostCa).toBe(good.userCa);
  });
  it('refuses what could smuggle a second line or a foreign type into a file', () => {
    for (const bad of [
      { ...good, certificate: `${good.certificate}\nssh-ed25519 AAAA evil` },
      { ...good, certificate: `${good.certificate} comment` },
      { ...good, certificate: 'ssh-ed25519 AAAAC3NzaC1' },
      { ...good, userCa: 'ssh-ed25519 AAAA\n@cert-authority * ssh-ed25519 AAAA' },
      { ...good, hostCa: 'ssh-dss AAAA' },
      { ...good, ok: false },
      { ...good, userCa: undefined },
    ]) expect(parseSignAnswer(JSON.stringify(bad)), JSON.stringify(bad)).toBeUndefined();
    expect(parseSignAnswer('not json')).toBeUndefined();
  });
  it('is asked for with the key on stdin, never in the command line', () => {
    const script = viaSignScript({ admin: 'pi', user: 'allsky-upload', remoteCommand: 'sftp-setup', dryRun: true, wait: 90 });
    expect(script).toBe(`cat /etc/ssh/ssh_host_*_key.pub; echo '${HOST_KEYS_MARK}'; sudo -n sftp-setup keys sign --user allsky-upload --json --dry-run - --wait 90`);
  });
});

/**
 * The certificate authority's pure parts: `ssh-keygen -L` listings read back, certificate states at a given
 * time, --valid intervals, key ids from hostile comments, default host names, the @cert-authority line, and
 * the Match block's certificate lines.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { certState, daysLeft, parseCertListing, parseValidLine, showValidity, type CertInfo } from '../../src/ca/cert-info.js';
import { DEFAULT_VALIDITY, intervalSeconds, parseValidity } from '../../src/ca/validity.js';
import { keyIdFor, validateKeyId } from '../../src/ca/key-id.js';
import { certAuthorityLine, defaultHostNames, listenHost } from '../../src/ca/host-names.js';
import { renderMatchBlock, sftpProfileFlags, templateName } from '../../src/sshd/render.js';
import { trustsUserCa } from '../../src/collector/ca-steps.js';
import { loadConfigDetailed } from '../../src/sshd/includes.js';
import { usageError } from './helpers.js';

// What OpenSSH 9.2's ssh-keygen -L prints (TZ=UTC0), the way the certificate came in on stdin.
const USER_CERT = [
  '(stdin):1:',
  '        Type: ssh-ed25519-cert-v01@openssh.com user certificate',
  '        Public key: ED25519-CERT SHA256:+QOvk4zQuhXLbWfF8G7dMebaEvnET4fEld0Zov7HfIA',
  '        Signing CA: ED25519 SHA256:btCSOOYKq4O8bqEv1n6Gc11SOlpbhg/Ftdv8z9O06ww (using ssh-ed25519)',
  '        Key ID: "pi@allsky \\"roof\\" $(reboot)"',
  '        Serial: 7',
  '        Valid: from 2026-11-30T06:43:45 to 2027-11-29T06:48:45',
  '        Principals: ',
  '                allsky-upload',
  '        Critical Options: (none)',
  '        Extensions: (none)',
  '',
].join('\n');

const HOST_CERT = [
  '/dev/stdin:',
  '        Type: ssh-ed25519-cert-v01@openssh.com host certificate',
  '        Public key: ED25519-CERT SHA256:Mg7oeL3MPja3Hcgl11Q+FlpKf20HtZjJhRJbxlzrmP8',
  '        Signing CA: ED25519 SHA256:ruUInxv/INx0+tUBYsT4hr+j/TZnwO33XbfjqIggq3E (using ssh-ed25519)',
  '        Key ID: "collector ssh_host_ed25519_key"',
  '        Serial: 0',
  '        Valid: forever',
  '        Principals: ',
  '                collector',
  '                10.0.0.1',
  '        Critical Options: (none)',
  '        Extensions: ',
  '                permit-X11-forwarding',
  '                permit-pty',
  '',
].join('\n');

describe('parseCertListing', () => {
  it('reads a user certificate', () => {
    const c = parseCertListing(USER_CERT)!;
    expect(c).toMatchObject({
      kind: 'user', type: 'ssh-ed25519-cert-v01@openssh.com', keyFingerprint: 'SHA256:+QOvk4zQuhXLbWfF8G7dMebaEvnET4fEld0Zov7HfIA',
      caFingerprint: 'SHA256:btCSOOYKq4O8bqEv1n6Gc11SOlpbhg/Ftdv8z9O06ww', serial: '7', principals: ['allsky-upload'], criticalOptions: [], extensions: [],
    });
    // The id is everything between the first and the last quote of its line.
    expect(c.keyId).toBe('pi@allsky \\"roof\\" $(reboot)');
    expect(c.validAfter!.toISOString()).toBe('2026-11-30T06:43:45.000Z');
    expect(c.validBefore!.toISOString()).toBe('2027-11-29T06:48:45.000Z');
  });

  it('reads a host certificate valid forever, with several principals and extensions', () => {
    const c = parseCertListing(HOST_CERT)!;
    expect(c.kind).toBe('host');
    expect(c.principals).toEqual(['collector', '10.0.0.1']);
    expect(c.extensions).toEqual(['permit-X11-forwarding', 'permit-pty']);
    expect([c.validAfter, c.validBefore]).toEqual([null, null]);
    expect(showValidity(c)).toBe('always to forever');
  });

  it('gives undefined for what is not a certificate listing', () => {
    expect(parseCertListing('')).toBeUndefined();
    expect(parseCertListing('/dev/stdin:1 is not a certificate\n')).toBeUndefined();
    expect(parseCertListing(USER_CERT.replace('Serial: 7', 'Serial: seven'))).toBeUndefined();
    expect(parseCertListing(USER_CERT.replace(/Valid: .*/, 'Valid: sometimes'))).toBeUndefined();
  });

  it('reads every validity form ssh-keygen prints', () => {
    expect(parseValidLine('forever')).toEqual({ validAfter: null, validBefore: null });
    expect(parseValidLine('before 2030-01-01T00:00:00')?.validBefore?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(parseValidLine('after 2020-01-01T00:00:00')?.validAfter?.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(parseValidLine('from 2020-01-01T00:00:00 to nowhere')).toBeUndefined();
  });
});

describe('certState', () => {
  const c = parseCertListing(USER_CERT)!;
  it('tells not-yet-valid, valid, expiring (within 30 days) and expired apart', () => {
    expect(certState(c, new Date('2026-11-30T06:00:00Z'))).toBe('not-yet-valid');
    expect(certState(c, new Date('2027-01-01T00:00:00Z'))).toBe('valid');
    expect(certState(c, new Date('2027-11-01T00:00:00Z'))).toBe('expiring');
    expect(certState(c, new Date('2027-11-29T06:48:45Z'))).toBe('expired');
    expect(daysLeft(c, new Date('2027-11-19T06:48:45Z'))).toBe(10);
    expect(certState({ validAfter: null, validBefore: null }, new Date(0))).toBe('valid');
  });
});

describe('parseValidity', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  it('accepts what ssh-keygen -V reads and keeps it as given', () => {
    expect(parseValidity(DEFAULT_VALIDITY, '--valid', now)).toEqual({ spec: 'always:+52w', from: null, to: new Date(now.getTime() + 52 * 7 * 86400e3) });
    expect(parseValidity('-5m:+52w', '--valid', now).from).toEqual(new Date(now.getTime() - 300e3));
    expect(parseValidity('+1h30m', '--valid', now).to).toEqual(new Date(now.getTime() + 5400e3));
    expect(parseValidity('20260101Z:20270101Z', '--valid', now).to).toEqual(new Date('2027-01-01T00:00:00Z'));
    expect(parseValidity('20260101120000Z:forever', '--valid', now).to).toBeNull();
    expect(parseValidity('0x1:0x2000000000', '--valid', now).from).toEqual(new Date(1000));
  });

  it('refuses malformed, backwards and already-ended intervals with a usage error naming --valid', () => {
    for (const bad of ['', '52w', '+52x', 'always', 'forever:always', '+52w:-1d', '1y', '-1d:+1d:+2d', '20261301Z:forever', '20250231Z:forever',
      '+0', '$(reboot)', '-5m;rm:+1d', 'always:20200101Z', '20270101Z:20260101Z']) {
      const e = usageError(() => parseValidity(bad, '--valid', now));
      expect(e.message, bad).toMatch(/^--valid /);
      expect(e.fix).toMatch(/always:\+52w/);
    }
  });

  it('reads sshd time intervals', () => {
    expect(intervalSeconds('1h30m')).toBe(5400);
    expect(intervalSeconds('600')).toBe(600);
    expect(intervalSeconds('52W')).toBe(52 * 604800);
    expect(intervalSeconds('1y')).toBeUndefined();
    expect(intervalSeconds('')).toBeUndefined();
  });
});

describe('key ids', () => {
  it('makes a hostile comment one printable line, and keeps quotes and $(…) as data', () => {
    expect(keyIdFor({ comment: 'pi@cam\n\x1b]0;owned\x07 "x" $(reboot) `id`', user: 'u', serial: 3n })).toBe('pi@cam\\n\\x1b]0;owned\\x07 "x" $(reboot) `id`');
    expect(keyIdFor({ comment: '', user: 'allsky-upload', serial: 3n })).toBe('allsky-upload-serial-3');
    expect(keyIdFor({ comment: 'x'.repeat(500), user: 'u', serial: 1n })).toHaveLength(128);
    expect(keyIdFor({ id: ' roof ', comment: 'ignored', user: 'u', serial: 1n })).toBe('roof');
  });

  it('refuses an --id that cannot be one line', () => {
    expect(usageError(() => validateKeyId('a\nb')).message).toMatch(/^--id .*control character/);
    expect(usageError(() => validateKeyId('  ')).message).toBe('--id is empty');
    expect(usageError(() => validateKeyId('x'.repeat(129))).message).toMatch(/at most 128/);
  });
});

describe('host names', () => {
  const ifaces = [
    { address: '127.0.0.1', family: 'IPv4', internal: true },
    { address: '192.168.1.10', family: 'IPv4', internal: false },
    { address: 'fe80::1', family: 'IPv6', internal: false },
    { address: 'fd00::10', family: 'IPv6', internal: false },
  ];
  it('defaults to the name, NAME.local and every address a wildcard listener answers on', () => {
    expect(defaultHostNames('Collector', ['0.0.0.0:22', '[::]:22'], ifaces)).toEqual(['collector', 'collector.local', '192.168.1.10', 'fd00::10']);
    expect(defaultHostNames('collector.example.org', ['192.168.1.10:2222'], ifaces)).toEqual(['collector.example.org', '192.168.1.10']);
    expect(defaultHostNames('localhost', ['127.0.0.1:22'], ifaces)).toEqual([]);
  });
  it('reads listen addresses', () => {
    expect(listenHost('[fd00::1]:22')).toBe('fd00::1');
    expect(listenHost('10.0.0.1:22')).toBe('10.0.0.1');
  });
  it('writes the known_hosts line, with [host]:port off port 22', () => {
    const ca = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGLU3tj4IrV0LWo/FNkyWeuMA8oftMQ9oIc30ve8VW3T sftp-setup host CA';
    expect(certAuthorityLine(['collector', '10.0.0.1'], 22, ca)).toBe('@cert-authority collector,10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGLU3tj4IrV0LWo/FNkyWeuMA8oftMQ9oIc30ve8VW3T');
    expect(certAuthorityLine(['collector'], 2222, ca)).toMatch(/^@cert-authority \[collector\]:2222 ssh-ed25519 /);
  });
});

describe('the Match block with certificates', () => {
  const template = readFileSync(new URL(`../../templates/${templateName}`, import.meta.url), 'utf8');
  const block = renderMatchBlock(template, {
    user: 'cam1', chroot: '/srv/cam1', authorizedKeysFile: '/etc/ssh/sftp-setup/authorized_keys/%u', sftpFlags: sftpProfileFlags('allsky'), header: 'x',
    certificates: { trustedUserCaKeys: '/etc/ssh/sftp-setup/ca/user_ca.pub', authorizedPrincipalsFile: '/etc/ssh/sftp-setup/principals/%u', revokedKeys: '/etc/ssh/sftp-setup/ca/krl' },
  });
  it('adds the three lines after AuthorizedKeysFile, inside the Match', () => {
    expect(block).toContain([
      '    AuthorizedKeysFile /etc/ssh/sftp-setup/authorized_keys/%u',
      '    TrustedUserCAKeys /etc/ssh/sftp-setup/ca/user_ca.pub',
      '    AuthorizedPrincipalsFile /etc/ssh/sftp-setup/principals/%u',
      '    RevokedKeys /etc/ssh/sftp-setup/ca/krl',
      '    PasswordAuthentication no',
    ].join('\n'));
  });
  it('is recognised again on the next run (init without --ca keeps it)', () => {
    const read = (p: string) => (p === '/m' ? block : null);
    const { directives } = loadConfigDetailed('/m', { read, glob: () => [] });
    expect(trustsUserCa(directives, 'cam1')).toBe(true);
    expect(trustsUserCa(directives, 'cam2')).toBe(false);
  });
});

describe('the issued-certificates log', () => {
  const info = parseCertListing(USER_CERT)!;
  const now = new Date('2026-12-01T00:00:00Z');
  it('keeps a hostile key id on one line and reads it back, marking revocations by serial or key', async () => {
    const { issuedRecord, recordLine, readRecords, certificatesOf } = await import('../../src/ca/issued.js');
    const a = issuedRecord({ ...info, keyId: 'evil\n{"event":"revoked","serial":"8"}' }, 'allsky-upload', 'ssh-ed25519', now);
    const b = issuedRecord({ ...info, serial: '8', keyFingerprint: 'SHA256:other' }, 'allsky-upload', 'ssh-ed25519', now);
    const c = issuedRecord({ ...info, serial: '9' }, 'cam-two', 'ssh-ed25519', now);
    const text = recordLine(a) + recordLine(b) + 'not json\n' + recordLine(c) + recordLine({ event: 'revoked', fingerprint: info.keyFingerprint, at: now.toISOString() });
    expect(text.split('\n')).toHaveLength(6);
    const mine = certificatesOf(readRecords(text), 'allsky-upload');
    expect(mine.map((x) => [x.serial, x.revoked])).toEqual([['7', true], ['8', false]]);
    expect(mine[0]!.keyId).toBe('evil\n{"event":"revoked","serial":"8"}');
  });
  it('reads the serial counter, refusing what is not a positive number', async () => {
    const { parseSerial } = await import('../../src/ca/issued.js');
    expect(parseSerial('1\n')).toBe(1n);
    expect(parseSerial('1000')).toBe(1000n);
    for (const bad of [null, '', '0\n', '-1', '1 2', 'x', '99999999999999999999']) expect(parseSerial(bad), String(bad)).toBeUndefined();
  });
});

describe('the revocation list', () => {
  // What OpenSSH 9.2's ssh-keygen -Q -l prints of a KRL with a key, serials of two CAs and a key id.
  const LISTING = [
    '# KRL version 0',
    '# Generated at 20261130T094142',
    '',
    'hash: SHA256:YQdDCUSzF7jVK5M+/3wK11DlrMgCL3O2kt8qmPdjSSA # ssh-ed25519',
    '',
    '# CA key ssh-ed25519 SHA256:QpxiSC8DG8nl071pftdtvgI1xEP0XELYPBNjn/vSrsc',
    'serial: 5-7',
    'serial: 100',
    'id: cam1',
    '',
    '# CA key ssh-ed25519 SHA256:EVNZxyvnkF3rVMbBU56P4vr100wzc2FBsEThHfN+CNE',
    'serial: 1',
    '',
  ].join('\n');
  const OURS = 'SHA256:QpxiSC8DG8nl071pftdtvgI1xEP0XELYPBNjn/vSrsc';
  const OTHER = 'SHA256:EVNZxyvnkF3rVMbBU56P4vr100wzc2FBsEThHfN+CNE';

  it('reads serial ranges per CA and keys revoked by hash', async () => {
    const { parseKrlListing, revokesSerial } = await import('../../src/ca/krl.js');
    const krl = parseKrlListing(LISTING);
    expect([...krl.keys]).toEqual(['SHA256:YQdDCUSzF7jVK5M+/3wK11DlrMgCL3O2kt8qmPdjSSA']);
    expect(['4', '5', '6', '7', '8', '100', '1'].map((s) => revokesSerial(krl, OURS, s))).toEqual([false, true, true, true, false, true, false]);
    // A serial is revoked under its CA only.
    expect(revokesSerial(krl, OTHER, '1')).toBe(true);
    expect(revokesSerial(krl, OTHER, '5')).toBe(false);
    expect(parseKrlListing('# KRL version 0\n')).toEqual({ serials: new Map(), keys: new Set() });
  });

  it('finds what uninstall must still revoke: the account\'s certificates of our CA that the KRL accepts', async () => {
    const { issuedRecord, certificatesOf } = await import('../../src/ca/issued.js');
    const { parseKrlListing, stillAccepted } = await import('../../src/ca/krl.js');
    const info = parseCertListing(USER_CERT)!;
    const now = new Date('2026-12-01T00:00:00Z');
    const rec = (serial: string, extra: Partial<CertInfo> = {}, user = 'allsky-upload') => issuedRecord({ ...info, serial, caFingerprint: OURS, ...extra }, user, 'ssh-ed25519', now);
    const records = [
      rec('6'), // in a revoked range
      rec('8'), // still accepted
      rec('9', { keyFingerprint: 'SHA256:YQdDCUSzF7jVK5M+/3wK11DlrMgCL3O2kt8qmPdjSSA' }), // its key is revoked
      rec('10', { caFingerprint: OTHER }), // another CA: not trusted any more, and its serial 10 is not ours
      { ...rec('11'), ca: undefined }, // a record from before the CA was noted: ours
      rec('12', {}, 'cam-two'),
      // The log says 8 was revoked, but the KRL (what sshd obeys) does not: it is revoked again.
      { event: 'revoked' as const, serial: '8', at: now.toISOString() },
    ];
    expect(stillAccepted(records, 'allsky-upload', OURS, parseKrlListing(LISTING)).map((c) => c.serial)).toEqual(['8', '11']);
    expect(certificatesOf(records, 'allsky-upload').find((c) => c.serial === '8')?.revoked).toBe(true);
    expect(rec('7').ca).toBe(OURS);
  });

  it('writes uninstall\'s revocations as log lines naming why', async () => {
    const { readRecords, recordLine, revokedRecords } = await import('../../src/ca/issued.js');
    const lines = revokedRecords(['3', '4'], 'uninstall allsky-upload', new Date('2026-12-01T00:00:00Z')).map(recordLine).join('');
    expect(readRecords(lines)).toEqual([
      { event: 'revoked', serial: '3', at: '2026-12-01T00:00:00.000Z', reason: 'uninstall allsky-upload' },
      { event: 'revoked', serial: '4', at: '2026-12-01T00:00:00.000Z', reason: 'uninstall allsky-upload' },
    ]);
  });
});

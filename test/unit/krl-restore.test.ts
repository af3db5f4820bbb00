/**
 * Rebuilding the KRL from the CA's record, the pure parts: which revocations the record holds (and which of
 * its lines cannot be used), the ssh-keygen spec built from them (a line break in a record field never adds
 * a spec line), what a KRL listing no longer refuses, and doctor's verdict on it.
 */
import { describe, expect, it } from 'vitest';
import { FailError } from '../../src/errors.js';
import { krlSpec, recordFingerprint, recordSerial } from '../../src/ca/krl-spec.js';
import { describeRevocations, missingFrom, recordedRevocations } from '../../src/ca/krl-restore.js';
import { parseKrlListing } from '../../src/ca/krl.js';
import { recordLine, type CaRecord } from '../../src/ca/issued.js';
import { revocationsCheck } from '../../src/doctor/ca-revocations.js';
import { formatDoctorCheck } from '../../src/doctor/check.js';

const OURS = 'SHA256:QpxiSC8DG8nl071pftdtvgI1xEP0XELYPBNjn/vSrsc';
const OLD_CA = 'SHA256:EVNZxyvnkF3rVMbBU56P4vr100wzc2FBsEThHfN+CNE';
// A key whose fingerprint ssh-keygen -Q -l lists as hex once it is revoked by a `hash:` line (OpenSSH 9.2).
const KEY_A = 'SHA256:0j6Ym+BtgDu3gPzWI/qdX2cP+o7JZic8KXNP5kuSlDA';
const KEY_A_HEX = 'SHA256:d23e989be06d803bb780fcd623fa9d5f670ffa8ec966273c29734fe64b929430';
const KEY_B = 'SHA256:YQdDCUSzF7jVK5M+/3wK11DlrMgCL3O2kt8qmPdjSSA';
const AT = '2026-12-01T00:00:00.000Z';

const issued = (serial: string, extra: Partial<Extract<CaRecord, { event: 'issued' }>> = {}): CaRecord => ({
  event: 'issued', serial, keyId: `cam${serial}`, user: 'allsky-upload', principals: ['allsky-upload'], fingerprint: KEY_B, keyType: 'ssh-ed25519',
  validAfter: null, validBefore: null, issuedAt: AT, ca: OURS, ...extra,
});
const revoked = (r: Record<string, unknown>) => `${JSON.stringify({ event: 'revoked', at: AT, ...r })}\n`;

describe('values the spec accepts', () => {
  it('a serial is decimal digits in 1..2^64-1, a fingerprint exactly SHA256 and 43 base64 characters', () => {
    expect(recordSerial('7')).toBe(7n);
    expect(recordSerial('18446744073709551615')).toBe(2n ** 64n - 1n);
    for (const bad of ['0', '18446744073709551616', '-1', '0x10', ' 7', '7\n', '7\nserial: 1-18446744073709551615', 7, null, undefined]) {
      expect(recordSerial(bad), JSON.stringify(bad)).toBeUndefined();
    }
    expect(recordFingerprint(KEY_A)).toBe(KEY_A);
    for (const bad of [`${KEY_A}\nserial: 1`, `${KEY_A} `, KEY_A_HEX, 'SHA256:abc', `MD5:${KEY_A.slice(7)}`, 42]) {
      expect(recordFingerprint(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('builds one directive a line, and refuses a value that would add a line', () => {
    expect(krlSpec({ serials: [3n, 5n], hashes: [KEY_A] })).toBe(`serial: 3\nserial: 5\nhash: ${KEY_A}\n`);
    expect(krlSpec({})).toBe('');
    expect(() => krlSpec({ hashes: [`${KEY_A}\nserial: 1-18446744073709551615`] })).toThrow(FailError);
    expect(() => krlSpec({ hashes: [`${KEY_A}\nserial: 1-18446744073709551615`] })).toThrow(/\\nserial/);
    expect(() => krlSpec({ serials: [0n] })).toThrow(FailError);
    expect(() => krlSpec({ serials: [2n ** 64n] })).toThrow(FailError);
  });
});

describe('the revocations of the record', () => {
  it('serials of this CA and keys by fingerprint, sorted, each once, with who they concern', () => {
    const text = [
      recordLine(issued('3')), recordLine(issued('5', { keyId: 'roof "cam"\n{"event":"revoked","serial":"1"}' })), recordLine(issued('12', { fingerprint: KEY_A })),
      revoked({ serial: '5', ca: OURS }), revoked({ serial: '3' }), revoked({ fingerprint: KEY_A }), revoked({ serial: '5', reason: 'uninstall allsky-upload' }),
    ].join('');
    const r = recordedRevocations(text, OURS);
    expect(r.serials).toEqual([3n, 5n]);
    expect(r.hashes).toEqual([KEY_A]);
    expect(r.unusable).toEqual([]);
    expect(r.otherCa).toBe(0);
    // The key id is data: it names the certificate, it revokes nothing.
    expect(r.names.get('serial 5')).toEqual(['allsky-upload (id roof "cam"\n{"event":"revoked","serial":"1"})']);
    expect(r.names.get(KEY_A)).toEqual(['allsky-upload (id cam12)']);
    expect(describeRevocations(r)).toBe(`serial 3, 5; key ${KEY_A}`);
  });

  it('a line that is not a record, or a revocation whose field is not exactly a serial or a key, is counted and never used', () => {
    const text = [
      revoked({ serial: '4' }),
      'not json at all',
      revoked({ serial: '1\nserial: 1-18446744073709551615' }),
      revoked({ fingerprint: `${KEY_B}\nserial: 1-18446744073709551615` }),
      revoked({ serial: 9 }),
      revoked({ serial: '6', fingerprint: 'SHA256:short' }),
      revoked({ serial: '7', ca: 'SHA256:x\nhash: y' }),
      revoked({}),
      '{"event":"revoked","serial":"8"', // cut short
    ].map((l) => l.replace(/\n$/, '')).join('\n');
    const r = recordedRevocations(text, OURS);
    expect(r.serials).toEqual([4n]);
    expect(r.hashes).toEqual([]);
    expect(r.unusable).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    // What reaches ssh-keygen: one line, nothing else.
    expect(krlSpec(r)).toBe('serial: 4\n');
  });

  it('serials revoked under another CA are not carried over; a record that names no CA is this one\'s', () => {
    const text = [
      recordLine(issued('20', { ca: OLD_CA })), recordLine(issued('21', { ca: undefined })), recordLine(issued('22', { ca: OLD_CA })), recordLine(issued('22')),
      revoked({ serial: '20' }), revoked({ serial: '21' }), revoked({ serial: '22' }), revoked({ serial: '23', ca: OLD_CA }), revoked({ serial: '24' }),
    ].join('');
    const r = recordedRevocations(text, OURS);
    expect(r.serials).toEqual([21n, 22n, 24n]);
    expect(r.otherCa).toBe(2);
    // No CA yet: no serial can be put back, keys still can.
    const none = recordedRevocations(text + revoked({ fingerprint: KEY_A }), undefined);
    expect(none.serials).toEqual([]);
    expect(none.hashes).toEqual([KEY_A]);
    expect(recordedRevocations(null, OURS)).toMatchObject({ serials: [], hashes: [], unusable: [] });
  });
});

describe('what the KRL no longer refuses', () => {
  const LISTING = [
    '# KRL version 0',
    '',
    `hash: ${KEY_B} # ssh-ed25519`,
    `hash: ${KEY_A_HEX}`,
    '',
    `# CA key ssh-ed25519 ${OURS}`,
    'serial: 3-4',
    '',
    `# CA key ssh-ed25519 ${OLD_CA}`,
    'serial: 5',
    '',
  ].join('\n');

  it('reads keys listed by fingerprint and by hex hash alike', () => {
    expect([...parseKrlListing(LISTING).keys].sort()).toEqual([KEY_A, KEY_B].sort());
  });

  it('names the serials of this CA and the keys it lacks', () => {
    const krl = parseKrlListing(LISTING);
    expect(missingFrom({ serials: [3n, 4n, 5n], hashes: [KEY_A, KEY_B] }, krl, OURS)).toEqual({ serials: [5n], hashes: [] });
    expect(missingFrom({ serials: [3n], hashes: [KEY_A] }, parseKrlListing('# KRL version 0\n'), OURS)).toEqual({ serials: [3n], hashes: [KEY_A] });
  });
});

describe('doctor: ca.revocations', () => {
  const EMPTY = '# KRL version 0\n# Generated at 20261130T094142\n\n';
  const text = [recordLine(issued('3', { keyId: 'roof\x1b]0;owned\x07' })), revoked({ serial: '3', ca: OURS }), revoked({ fingerprint: KEY_A })].join('');

  it('fails naming each revocation the KRL accepts, and the fix', () => {
    const c = revocationsCheck({ log: text, counter: '4\n', ca: OURS, listing: EMPTY });
    expect(c).toMatchObject({ id: 'ca.revocations', status: 'fail', fix: 'sudo sftp-setup ca init' });
    expect(c.evidence[0]).toBe('serial 3 (allsky-upload (id roof\x1b]0;owned\x07)): revoked in /etc/ssh/sftp-setup/ca/issued.jsonl, accepted by /etc/ssh/sftp-setup/ca/krl');
    expect(c.evidence[1]).toMatch(new RegExp(`^key ${KEY_A.replace(/[+/]/g, '\\$&')}: revoked in`));
    expect(c.reason).toMatch(/sshd accepts 2 certificates or keys the CA revoked/);
    // Printed, the camera's key id cannot reach the terminal as a sequence.
    expect(formatDoctorCheck(c, 0)).not.toContain('\x1b');
    expect(formatDoctorCheck(c, 0)).toContain('roof\\x1b]0;owned\\x07');
  });

  it('passes when the KRL refuses them all, or nothing was revoked', () => {
    const full = `# CA key ssh-ed25519 ${OURS}\nserial: 3\nhash: ${KEY_A_HEX}\n`;
    expect(revocationsCheck({ log: text, counter: '4\n', ca: OURS, listing: full })).toMatchObject({ status: 'pass', evidence: ['2 revocations of /etc/ssh/sftp-setup/ca/issued.jsonl: all refused by /etc/ssh/sftp-setup/ca/krl'] });
    expect(revocationsCheck({ log: recordLine(issued('3')), counter: '4\n', ca: OURS, listing: EMPTY }).status).toBe('pass');
    expect(revocationsCheck({ log: null, counter: '1\n', ca: OURS, listing: EMPTY }).status).toBe('pass');
  });

  it('warns when the record is gone although certificates were issued, or has lines it cannot use', () => {
    const gone = revocationsCheck({ log: null, counter: '8\n', ca: OURS, listing: EMPTY });
    expect(gone).toMatchObject({ status: 'warn' });
    expect(gone.evidence[0]).toMatch(/issued\.jsonl: missing, but .*serial says 7 certificates were issued/);
    const damaged = revocationsCheck({ log: `${recordLine(issued('3'))}garbage\n`, counter: '4\n', ca: OURS, listing: EMPTY });
    expect(damaged).toMatchObject({ status: 'warn', fix: "sudo sed -n '2p' /etc/ssh/sftp-setup/ca/issued.jsonl" });
  });
});

/**
 * The arithmetic the key listing does without node:crypto, checked against node:crypto: SHA-256 of every
 * length around its block boundaries and of random data, and the ECDSA on-curve test on real points of
 * each curve, on points moved off it, and on coordinates out of range.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/keys/sha256.js';
import { onCurve } from '../../src/keys/parse.js';

const nodeSha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('sha256', () => {
  it('matches node:crypto for every length from 0 to 300 bytes and for larger random inputs', () => {
    for (let n = 0; n <= 300; n++) {
      const b = randomBytes(n);
      expect(sha256(b).toString('hex'), `length ${n}`).toBe(nodeSha256(b));
    }
    for (const n of [1000, 4096, 65_537]) {
      const b = randomBytes(n);
      expect(sha256(b).toString('hex')).toBe(nodeSha256(b));
    }
  });

  it('gives the FIPS 180-4 example digests', () => {
    expect(sha256(Buffer.from('abc')).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(Buffer.alloc(0)).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('onCurve', () => {
  const curves = [['nistp256', 'P-256', 32], ['nistp384', 'P-384', 48], ['nistp521', 'P-521', 66]] as const;
  /** Whether node:crypto takes the point as a public key (its JWK import checks the curve). */
  const nodeSays = (crv: string, size: number, q: Buffer) => {
    try {
      createPublicKey({ key: { kty: 'EC', crv, x: q.subarray(1, 1 + size).toString('base64url'), y: q.subarray(1 + size).toString('base64url') }, format: 'jwk' });
      return true;
    } catch {
      return false;
    }
  };

  it.each(curves)('%s: real points are on it, the same points with y changed are not, as node:crypto says', (name, crv, size) => {
    for (let i = 0; i < 20; i++) {
      const jwk = generateKeyPairSync('ec', { namedCurve: crv }).publicKey.export({ format: 'jwk' });
      const q = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
      expect(q.length).toBe(1 + 2 * size);
      expect(onCurve(name, q)).toBe(true);
      const moved = Buffer.from(q);
      moved[moved.length - 1]! ^= 1;
      expect(nodeSays(crv, size, moved)).toBe(false);
      expect(onCurve(name, moved)).toBe(false);
      // Random coordinates: off the curve for both.
      const random = Buffer.concat([Buffer.from([4]), randomBytes(2 * size)]);
      expect(onCurve(name, random)).toBe(nodeSays(crv, size, random));
    }
  });

  it('refuses a coordinate of p or more, a wrong length, a compressed point and an unknown curve', () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x!, 'base64url');
    const y = Buffer.from(jwk.y!, 'base64url');
    const q = Buffer.concat([Buffer.from([4]), x, y]);
    expect(onCurve('nistp256', q)).toBe(true);
    // x + p is the same point mod p, but out of range: sshd (and node:crypto) refuse it.
    const p = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
    const big = BigInt(`0x${x.toString('hex')}`) + p;
    if (big < 2n ** 256n) {
      const wide = Buffer.concat([Buffer.from([4]), Buffer.from(big.toString(16).padStart(64, '0'), 'hex'), y]);
      expect(onCurve('nistp256', wide)).toBe(false);
    }
    const allOnes = Buffer.concat([Buffer.from([4]), Buffer.alloc(32, 0xff), y]);
    expect(onCurve('nistp256', allOnes)).toBe(false);
    expect(onCurve('nistp256', q.subarray(0, q.length - 1))).toBe(false);
    expect(onCurve('nistp256', Buffer.concat([Buffer.from([2 + (y[31]! & 1)]), x]))).toBe(false);
    expect(onCurve('nistp384', q)).toBe(false);
    expect(onCurve('curve25519', q)).toBe(false);
  });
});

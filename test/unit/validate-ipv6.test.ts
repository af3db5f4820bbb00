/**
 * isIPv6Literal is our own reading of RFC 4291's text forms (so that validating a flag does not load Node's
 * net module): it must agree with Node's net.isIPv6 on every string without a zone id.
 */
import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isIPv6Literal } from '../../src/validate.js';

const hexGroup = fc.stringMatching(/^[0-9a-fA-F]{1,5}$/);
const quad = fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((o) => o.join('.'));
/** Strings shaped like addresses: groups, an optional "::" anywhere, an optional quad at the end, and noise. */
const addressLike = fc
  .tuple(fc.array(hexGroup, { maxLength: 9 }), fc.option(fc.nat(9)), fc.option(quad), fc.constantFrom('', ':', '.', ':::', '0'))
  .map(([groups, gap, q, noise]) => {
    const parts: string[] = [...groups];
    if (gap !== null) parts.splice(Math.min(gap, parts.length), 0, '');
    let s = parts.join(':');
    if (gap !== null && (s.startsWith(':') || s === '')) s = `:${s}`;
    if (gap !== null && s.endsWith(':')) s = `${s}:`;
    if (q !== null) s = s === '' || s.endsWith(':') ? s + q : `${s}:${q}`;
    return noise === '0' ? s : s + noise;
  });

describe('isIPv6Literal', () => {
  it('agrees with net.isIPv6 on address-like strings and on any string of address characters', () => {
    const agree = (s: string) => {
      expect(isIPv6Literal(s), s).toBe(isIPv6(s));
    };
    const seen = fc.sample(addressLike, 2000);
    expect(seen.filter((s) => isIPv6(s)).length).toBeGreaterThan(50); // the generator does reach real addresses
    fc.assert(fc.property(addressLike, agree), { numRuns: 20_000 });
    fc.assert(fc.property(fc.stringMatching(/^[0-9a-fA-F:.]{0,46}$/), agree), { numRuns: 20_000 });
  });

  it('reads the usual forms, and refuses zone ids and near misses', () => {
    for (const s of ['::', '::1', '1::', 'fe80::1', '2001:db8::8a2e:370:7334', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::ffff:192.0.2.1', '64:ff9b::192.0.2.33', '1:2:3:4:5:6:1.2.3.4', 'FFFF::']) {
      expect(isIPv6Literal(s), s).toBe(true);
      expect(isIPv6(s), s).toBe(true);
    }
    for (const s of ['', ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '::1.2.3', '::01.2.3.4', '::256.1.1.1', '1.2.3.4', '1.2.3.4::', 'fe80::1%eth0', '::1 ', ' ::1', '[::1]']) {
      expect(isIPv6Literal(s), s).toBe(false);
    }
  });
});

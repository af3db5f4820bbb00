import { describe, expect, it } from 'vitest';
import { randomHex } from '../../src/system/random.js';

describe('randomHex', () => {
  it('gives as many random bytes as asked, as hex, different each time', () => {
    for (const n of [1, 6, 8, 64]) expect(randomHex(n)).toMatch(new RegExp(`^[0-9a-f]{${2 * n}}$`));
    const seen = new Set(Array.from({ length: 200 }, () => randomHex(8)));
    expect(seen.size).toBe(200);
  });
});

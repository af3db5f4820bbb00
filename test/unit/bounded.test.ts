/** Bounded concurrency: never more than the bound at once, results in the input's order. */
import { describe, expect, it } from 'vitest';
import { limiter, mapBounded } from '../../src/bounded.js';

describe('mapBounded', () => {
  it('runs at most `limit` at once and keeps the order of the input, whatever order the work ends in', async () => {
    let active = 0;
    let most = 0;
    const out = await mapBounded([50, 10, 30, 0, 20, 5, 40], 3, async (ms, i) => {
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, ms));
      active--;
      return i;
    });
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(3);
  });

  it('a failure frees its place for the next', async () => {
    const gate = limiter(1);
    await expect(gate(async () => { throw new Error('x'); })).rejects.toThrow('x');
    expect(await gate(async () => 'next')).toBe('next');
  });
});

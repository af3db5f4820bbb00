import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAdd } from '../../src/collector/keys-edit.js';
import { expandDirs } from '../../src/collector/layout.js';
import { generateEd25519 } from '../../src/keys/generate.js';
import { parsePublicKey } from '../../src/keys/parse.js';

const now = new Date('2025-01-02T03:04:05Z');
const key = (comment: string) => parsePublicKey(generateEd25519(comment).publicLine, 'test');

describe('planAdd (keys add)', () => {
  const a = key('a@cam');
  const b = key('b@cam');

  it('adds a new key with restrict and a dated comment line, keeping what was there', () => {
    const r = planAdd('# mine\n', [a], undefined, now);
    expect(r.results.map((x) => x.action)).toEqual(['added']);
    expect(r.text).toBe(`# mine\n# sftp-setup: added 2025-01-02T03:04:05Z\nrestrict ${a.type} ${a.base64} a@cam\n`);
  });

  it('is idempotent', () => {
    const once = planAdd('', [a, b], undefined, now).text;
    const twice = planAdd(once, [a, b], undefined, new Date());
    expect(twice.text).toBe(once);
    expect(twice.results.map((x) => x.action)).toEqual(['unchanged', 'unchanged']);
  });

  it('--from updates a key already present; without --from the restriction stays', () => {
    const restricted = planAdd(planAdd('', [a], undefined, now).text, [a], ['10.0.0.0/24'], now);
    expect(restricted.results[0]!.action).toBe('updated');
    expect(restricted.text).toContain(`restrict,from="10.0.0.0/24" ${a.type} ${a.base64} a@cam\n`);
    const again = planAdd(restricted.text, [a], undefined, now);
    expect(again.results[0]!.action).toBe('unchanged');
    expect(again.text).toBe(restricted.text);
  });

  it('tightens a hand-written line of the same key to restrict, keeping its from=', () => {
    const hand = `from="192.168.1.5" ${a.type} ${a.base64} a@cam\n`;
    const r = planAdd(hand, [a], undefined, now);
    expect(r.results[0]!.action).toBe('updated');
    expect(r.text).toBe(`restrict,from="192.168.1.5" ${a.type} ${a.base64} a@cam\n`);
  });
});

describe('expandDirs', () => {
  it('adds parents, parents first', () => {
    expect(expandDirs(['images/videos/thumbnails', 'keograms'])).toEqual(['images', 'keograms', 'images/videos', 'images/videos/thumbnails']);
  });
  it('orders the names of one depth as English collation does for lower-case names, digits, "." and "-", whatever the locale', () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,6}$/);
    fc.assert(fc.property(fc.uniqueArray(name, { maxLength: 8 }), (names) => {
      expect(expandDirs(names)).toEqual([...names].sort((a, b) => a.localeCompare(b, 'en')));
    }));
    expect(expandDirs(['images', 'Allsky', 'b_x', 'b1'])).toEqual(['Allsky', 'b1', 'b_x', 'images']);
  });
});

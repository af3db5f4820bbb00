/**
 * What `keys add` does to the text of a keys file. Pure, so its rules are unit-tested: a new key is added
 * with `restrict` (and from= when given); a key already present gets --from when given, and otherwise
 * keeps the source restriction it has, so a camera repeating its hand-off never widens what an admin
 * narrowed.
 */
import { addKey, listKeys } from '../keys/authorized-keys.js';
import type { ParsedKey } from '../keys/parse.js';

export interface AddOutcome {
  key: ParsedKey;
  action: 'added' | 'updated' | 'unchanged';
}

export function planAdd(before: string, keys: ParsedKey[], from: string[] | undefined, now: Date): { text: string; results: AddOutcome[] } {
  let text = before;
  const results: AddOutcome[] = [];
  for (const key of keys) {
    const present = listKeys(text).entries.find((e) => e.fingerprint === key.fingerprint);
    const r = addKey(text, key, { from: from ?? present?.from, now });
    text = r.text;
    results.push({ key, action: r.action });
  }
  return { text, results };
}

/**
 * The KRL specification ssh-keygen -k reads (`serial: N`, `hash: SHA256:…`), built from values that are
 * checked here one by one. Revocations restored from the CA's record pass through it: that record holds what
 * cameras chose (key ids, comments), so a field with a line break must never become a second spec line (a
 * `serial: 1-18446744073709551615` would revoke every certificate). Pure.
 */
import { FailError } from '../errors.js';
import { printable } from '../text/printable.js';

/** ssh-keygen's serials are 64-bit and never zero. */
const MAX_SERIAL = 2n ** 64n - 1n;
/** A SHA256 fingerprint as ssh-keygen -l prints it: 32 bytes, base64 without padding. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A serial from the record: a string of decimal digits in 1..2^64-1, else undefined. */
export function recordSerial(v: unknown): bigint | undefined {
  if (typeof v !== 'string' || !/^[0-9]{1,20}$/.test(v)) return undefined;
  const n = BigInt(v);
  return n >= 1n && n <= MAX_SERIAL ? n : undefined;
}

/** A key fingerprint from the record, exactly `SHA256:` and 43 base64 characters, else undefined. */
export function recordFingerprint(v: unknown): string | undefined {
  return typeof v === 'string' && FINGERPRINT.test(v) ? v : undefined;
}

export interface SpecRevocations {
  serials?: bigint[];
  /** SHA256 fingerprints of keys revoked outright (the key, and every certificate of it) */
  hashes?: string[];
}

/** The spec text, one directive a line; a value that is not what it must be is refused, never written. */
export function krlSpec(what: SpecRevocations): string {
  const lines: string[] = [];
  for (const s of what.serials ?? []) {
    if (recordSerial(String(s)) === undefined) throw new FailError(`serial ${printable(String(s))} cannot be revoked: not in 1..${MAX_SERIAL}`, 'please report this');
    lines.push(`serial: ${s}`);
  }
  for (const h of what.hashes ?? []) {
    if (recordFingerprint(h) === undefined) throw new FailError(`"${printable(h)}" is not a SHA256 key fingerprint; nothing was revoked`, 'please report this');
    lines.push(`hash: ${h}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

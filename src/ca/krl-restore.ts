/**
 * What the CA's record says was revoked, as the KRL must hold it: the serials revoked under the CA sshd trusts
 * now and the keys revoked outright (by fingerprint). `ca init` rebuilds a lost KRL from it, and doctor names
 * what a KRL no longer refuses. The record is root's, but key ids and comments in it came from cameras: only a
 * field that is exactly a serial or a fingerprint is used, and every line that cannot be used is counted, so
 * a rebuild says what it could not restore instead of guessing. Pure.
 */
import { parseRecordLine, type IssuedRecord } from './issued.js';
import { recordFingerprint, recordSerial } from './krl-spec.js';
import { revokesSerial, type KrlListing } from './krl.js';

export interface Revocations {
  /** serials of the CA sshd trusts now, ascending */
  serials: bigint[];
  /** SHA256 fingerprints of keys revoked outright */
  hashes: string[];
}

export interface RecordedRevocations extends Revocations {
  /** 1-based lines of the record that are not a record, or a revocation without a usable serial or key */
  unusable: number[];
  /** serials revoked under another CA (one sshd no longer trusts, or no CA at all yet): not carried over */
  otherCa: number;
  /** who each revocation concerns, from the issued records: "serial 7" / "SHA256:…" -> ["allsky-upload (id cam1)"] */
  names: Map<string, string[]>;
}

export const serialLabel = (s: bigint | string) => `serial ${s}`;

/**
 * The revocations the record holds. A serial is this CA's when its revocation names this CA; one written
 * before revocations named their CA counts as this CA's unless every certificate issued with that serial
 * names another (a record that names no CA is this one's, as for uninstall).
 */
export function recordedRevocations(text: string | null, caFingerprint: string | undefined): RecordedRevocations {
  const out: RecordedRevocations = { serials: [], hashes: [], unusable: [], otherCa: 0, names: new Map() };
  const issued: IssuedRecord[] = [];
  const revoked: Array<{ serial?: bigint; hash?: string; ca?: string }> = [];
  (text ?? '').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const r = parseRecordLine(line);
    if (!r) return void out.unusable.push(i + 1);
    if (r.event === 'issued') return void issued.push(r);
    const serial = r.serial === undefined ? undefined : recordSerial(r.serial);
    const hash = r.fingerprint === undefined ? undefined : recordFingerprint(r.fingerprint);
    // A field that is there but is not a serial or a fingerprint makes the whole line unusable.
    if ((r.serial !== undefined && serial === undefined) || (r.fingerprint !== undefined && hash === undefined) || (!serial && !hash) ||
      (r.ca !== undefined && recordFingerprint(r.ca) === undefined)) return void out.unusable.push(i + 1);
    revoked.push({ serial, hash, ca: r.ca });
  });

  const serials = new Set<bigint>();
  const hashes = new Set<string>();
  for (const r of revoked) {
    if (r.hash) hashes.add(r.hash);
    if (r.serial === undefined) continue;
    const of = issued.filter((x) => x.serial === r.serial!.toString());
    const mine = caFingerprint !== undefined &&
      (r.ca !== undefined ? r.ca === caFingerprint : of.length === 0 || of.some((x) => x.ca === undefined || x.ca === caFingerprint));
    if (mine) serials.add(r.serial);
    else out.otherCa++;
  }
  out.serials = [...serials].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  out.hashes = [...hashes].sort();

  for (const x of issued) {
    const who = `${x.user} (id ${x.keyId})`;
    const serial = recordSerial(x.serial);
    const keys = [...(serial !== undefined && serials.has(serial) && (x.ca === undefined || x.ca === caFingerprint) ? [serialLabel(serial)] : []),
      ...(hashes.has(x.fingerprint) ? [x.fingerprint] : [])];
    for (const k of keys) out.names.set(k, [...new Set([...(out.names.get(k) ?? []), who])]);
  }
  return out;
}

/** The recorded revocations the KRL (as ssh-keygen -Q -l lists it) does not refuse. */
export function missingFrom(recorded: Revocations, krl: KrlListing, caFingerprint: string | undefined): Revocations {
  return {
    serials: caFingerprint === undefined ? [] : recorded.serials.filter((s) => !revokesSerial(krl, caFingerprint, s.toString())),
    hashes: recorded.hashes.filter((h) => !krl.keys.has(h)),
  };
}

export const revocationCount = (r: Revocations) => r.serials.length + r.hashes.length;

/** "serial 3, 5; key SHA256:…", at most `max` items then how many more. */
export function describeRevocations(r: Revocations, max = 8): string {
  const items = [...r.serials.map((s) => s.toString()), ...r.hashes];
  const shown = items.slice(0, max);
  const serials = shown.filter((_, i) => i < r.serials.length);
  const keys = shown.slice(serials.length);
  const parts = [serials.length ? `serial ${serials.join(', ')}` : '', keys.length ? `key ${keys.join(', ')}` : ''].filter(Boolean);
  return parts.join('; ') + (items.length > max ? ` and ${items.length - max} more` : '');
}

/** "3 revocations" / "1 revocation". */
export function revocationsWord(n: number): string {
  return `${n} revocation${n === 1 ? '' : 's'}`;
}

/**
 * The CA's own record of what it did: one JSON object a line in a root-only file, appended to by `keys sign`
 * and `keys revoke`, read by `keys list`. JSON keeps a hostile key id (quotes, line breaks) one line. Pure.
 */
import type { CertInfo } from './cert-info.js';

export interface IssuedRecord {
  event: 'issued';
  serial: string;
  keyId: string;
  user: string;
  principals: string[];
  /** SHA256 fingerprint of the camera's key */
  fingerprint: string;
  keyType: string;
  validAfter: string | null;
  validBefore: string | null;
  issuedAt: string;
  /** SHA256 fingerprint of the CA that signed it (absent in records written before it was kept) */
  ca?: string;
}

export interface RevokedRecord {
  event: 'revoked';
  serial?: string;
  fingerprint?: string;
  at: string;
  /** why, when it was not `keys revoke` (e.g. "uninstall allsky-upload") */
  reason?: string;
  /** SHA256 fingerprint of the CA a serial was revoked under (absent in records written before it was kept) */
  ca?: string;
}

export type CaRecord = IssuedRecord | RevokedRecord;

export function issuedRecord(info: CertInfo, user: string, keyType: string, now: Date): IssuedRecord {
  return {
    event: 'issued', serial: info.serial, keyId: info.keyId, user, principals: info.principals, fingerprint: info.keyFingerprint, keyType,
    validAfter: info.validAfter?.toISOString() ?? null, validBefore: info.validBefore?.toISOString() ?? null, issuedAt: now.toISOString(),
    ca: info.caFingerprint,
  };
}

export function recordLine(r: CaRecord): string {
  return `${JSON.stringify(r)}\n`;
}

/** One line of the record, or undefined when it is not one (not JSON, not an event we write). */
export function parseRecordLine(line: string): CaRecord | undefined {
  try {
    const r = JSON.parse(line) as CaRecord;
    return r && typeof r === 'object' && (r.event === 'issued' || r.event === 'revoked') ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Every record that parses; a damaged line is skipped, not fatal (the KRL, not this log, is the authority). */
export function readRecords(text: string): CaRecord[] {
  return text.split('\n').filter((l) => l.trim()).map(parseRecordLine).filter((r): r is CaRecord => r !== undefined);
}

export interface IssuedCert extends IssuedRecord {
  revoked: boolean;
}

/** The certificates issued for an account, oldest first, each marked when its serial or key was revoked. */
export function certificatesOf(records: CaRecord[], user: string): IssuedCert[] {
  const revoked = records.filter((r): r is RevokedRecord => r.event === 'revoked');
  return records
    .filter((r): r is IssuedRecord => r.event === 'issued' && r.user === user)
    .map((r) => ({ ...r, revoked: revoked.some((x) => x.serial === r.serial || (x.fingerprint !== undefined && x.fingerprint === r.fingerprint)) }));
}

/** The log lines saying these serials were revoked under the CA `ca` (its fingerprint), and why. */
export function revokedRecords(serials: string[], reason: string, now: Date, ca?: string): RevokedRecord[] {
  return serials.map((serial) => ({ event: 'revoked', serial, at: now.toISOString(), reason, ...(ca ? { ca } : {}) }));
}

/** The next serial from the counter file's text; undefined when it is not a positive decimal number. */
export function parseSerial(text: string | null): bigint | undefined {
  const m = /^(\d{1,19})\n?$/.exec(text ?? '');
  if (!m) return undefined;
  const n = BigInt(m[1]!);
  return n >= 1n && n < 2n ** 63n ? n : undefined;
}

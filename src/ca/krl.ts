/**
 * The key revocation list as `ssh-keygen -Q -l` prints it, read back into data: the serials revoked under
 * each CA and the keys revoked by hash. The KRL, not the CA's log, is what sshd obeys, so what is still to
 * revoke is decided against it. Pure.
 */
import { fingerprintOfLine } from '../keys/parse.js';
import { certificatesOf, type CaRecord, type IssuedCert } from './issued.js';

export interface KrlListing {
  /** CA fingerprint -> revoked serial ranges, both ends included */
  serials: Map<string, Array<[bigint, bigint]>>;
  /** SHA256 fingerprints of keys revoked outright (every certificate of them too) */
  keys: Set<string>;
}

const CA_HEADER = /^# CA key \S+ (SHA256:[A-Za-z0-9+/]+)$/;
const SERIAL = /^serial: (\d+)(?:-(\d+))?$/;
const HASH = /^hash: (SHA256:[A-Za-z0-9+/]+)(?: #.*)?$/;
const HEX_SHA256 = /^SHA256:([0-9a-f]{64})$/;

/**
 * ssh-keygen lists a key revoked as a key (`keys revoke KEY`) by its fingerprint, base64 with the key type
 * after it, but one revoked by a `hash:` line (the KRL rebuilt from the CA's record) as 64 hex digits: both
 * read back here as the fingerprint `ssh-keygen -l` prints (OpenSSH 9.2 through 10).
 */
function fingerprintOfHash(listed: string): string {
  const hex = HEX_SHA256.exec(listed);
  return hex ? `SHA256:${Buffer.from(hex[1]!, 'hex').toString('base64').replace(/=+$/, '')}` : listed;
}

export function parseKrlListing(text: string): KrlListing {
  const out: KrlListing = { serials: new Map(), keys: new Set() };
  let ca: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const header = CA_HEADER.exec(line);
    if (header) {
      ca = header[1]!;
      continue;
    }
    // "# Wildcard CA" and anything else commented: no CA to file serials under.
    if (line.startsWith('#')) {
      if (/^# (Wildcard )?CA/.test(line)) ca = undefined;
      continue;
    }
    const serial = SERIAL.exec(line);
    if (serial) {
      if (ca === undefined) continue;
      const from = BigInt(serial[1]!);
      const ranges = out.serials.get(ca) ?? [];
      ranges.push([from, serial[2] !== undefined ? BigInt(serial[2]) : from]);
      out.serials.set(ca, ranges);
      continue;
    }
    const hash = HASH.exec(line);
    if (hash) {
      out.keys.add(fingerprintOfHash(hash[1]!));
      continue;
    }
    // A key listed explicitly (not by hash): its own public key line.
    const fp = fingerprintOfLine(line.replace(/ #.*$/, ''));
    if (fp) out.keys.add(fp);
  }
  return out;
}

export function revokesSerial(krl: KrlListing, caFingerprint: string, serial: string): boolean {
  if (!/^\d+$/.test(serial)) return false;
  const n = BigInt(serial);
  return (krl.serials.get(caFingerprint) ?? []).some(([a, b]) => a <= n && n <= b);
}

/**
 * What uninstall revokes: every certificate issued for the account that the KRL does not refuse yet, of the
 * CA sshd trusts now (a record that does not name its CA counts as this one's). A serial is revoked under one
 * CA, so another CA's serial would name someone else's certificate here; and that CA's certificates are
 * refused anyway, since sshd no longer trusts it.
 */
export function stillAccepted(records: CaRecord[], user: string, caFingerprint: string, krl: KrlListing): IssuedCert[] {
  return certificatesOf(records, user).filter((c) => (c.ca === undefined || c.ca === caFingerprint) &&
    !revokesSerial(krl, caFingerprint, c.serial) && !krl.keys.has(c.fingerprint));
}

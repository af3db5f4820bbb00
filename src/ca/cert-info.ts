/**
 * What `ssh-keygen -L` says about a certificate, read back into data, and what that means at a given time.
 * Pure. The listing is run with TZ=UTC0 (system/ssh-keygen.ts), so its times are UTC.
 */

export interface CertInfo {
  kind: 'user' | 'host';
  /** e.g. ssh-ed25519-cert-v01@openssh.com */
  type: string;
  /** SHA256 fingerprint of the certified key (the same as the plain key's) */
  keyFingerprint: string;
  /** SHA256 fingerprint of the CA that signed it */
  caFingerprint: string;
  keyId: string;
  serial: string;
  /** null: no start ("always") */
  validAfter: Date | null;
  /** null: no end ("forever") */
  validBefore: Date | null;
  principals: string[];
  criticalOptions: string[];
  extensions: string[];
}

const FIELD = /^ {8}([A-Za-z][A-Za-z ]*):(?: (.*))?$/;
const ITEM = /^ {16}(.*)$/;

function utc(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** "forever", "before T", "after T", "from T to T" (sshkey_format_cert_validity) */
export function parseValidLine(text: string): { validAfter: Date | null; validBefore: Date | null } | undefined {
  const t = text.trim();
  if (t === 'forever') return { validAfter: null, validBefore: null };
  let m = /^before (\S+)$/.exec(t);
  if (m) {
    const before = utc(m[1]!);
    return before ? { validAfter: null, validBefore: before } : undefined;
  }
  m = /^after (\S+)$/.exec(t);
  if (m) {
    const after = utc(m[1]!);
    return after ? { validAfter: after, validBefore: null } : undefined;
  }
  m = /^from (\S+) to (\S+)$/.exec(t);
  if (m) {
    const after = utc(m[1]!);
    const before = utc(m[2]!);
    return after && before ? { validAfter: after, validBefore: before } : undefined;
  }
  return undefined;
}

/** Parse the listing of one certificate; undefined when it is not one (a plain key, garbage). */
export function parseCertListing(text: string): CertInfo | undefined {
  const fields = new Map<string, { value: string; items: string[] }>();
  let current: { value: string; items: string[] } | undefined;
  for (const line of text.split('\n')) {
    const f = FIELD.exec(line);
    if (f) {
      current = { value: (f[2] ?? '').trim(), items: [] };
      if (!fields.has(f[1]!)) fields.set(f[1]!, current);
      continue;
    }
    const item = ITEM.exec(line);
    if (item && current) current.items.push(item[1]!);
  }
  const type = /^(\S+) (user|host) certificate$/.exec(fields.get('Type')?.value ?? '');
  const pub = /^\S+ (SHA256:[A-Za-z0-9+/]+)$/.exec(fields.get('Public key')?.value ?? '');
  const ca = /^\S+ (SHA256:[A-Za-z0-9+/]+) \(using \S+\)$/.exec(fields.get('Signing CA')?.value ?? '');
  const id = /^"(.*)"$/.exec(fields.get('Key ID')?.value ?? '');
  const serial = /^(\d+)$/.exec(fields.get('Serial')?.value ?? '');
  const valid = parseValidLine(fields.get('Valid')?.value ?? '');
  if (!type || !pub || !ca || !id || !serial || !valid) return undefined;
  const list = (name: string) => {
    const f = fields.get(name);
    return f && f.value !== '(none)' ? f.items.map((i) => i.trim()).filter(Boolean) : [];
  };
  return {
    kind: type[2] as 'user' | 'host', type: type[1]!, keyFingerprint: pub[1]!, caFingerprint: ca[1]!, keyId: id[1]!, serial: serial[1]!,
    ...valid, principals: list('Principals'), criticalOptions: list('Critical Options'), extensions: list('Extensions'),
  };
}

export type CertState = 'valid' | 'expiring' | 'expired' | 'not-yet-valid';

export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

/** Where `now` falls in the certificate's validity; 'expiring' within `warnDays` of the end. */
export function certState(c: Pick<CertInfo, 'validAfter' | 'validBefore'>, now: Date, warnDays = EXPIRY_WARNING_DAYS): CertState {
  if (c.validAfter && now.getTime() < c.validAfter.getTime()) return 'not-yet-valid';
  if (c.validBefore && now.getTime() >= c.validBefore.getTime()) return 'expired';
  if (c.validBefore && c.validBefore.getTime() - now.getTime() < warnDays * DAY_MS) return 'expiring';
  return 'valid';
}

/** "2026-01-02 03:04 UTC", or the words ssh-keygen uses for no limit. */
export function showTime(d: Date | null, none: 'always' | 'forever'): string {
  return d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : none;
}

export function showValidity(c: Pick<CertInfo, 'validAfter' | 'validBefore'>): string {
  return `${showTime(c.validAfter, 'always')} to ${showTime(c.validBefore, 'forever')}`;
}

/** Whole days from now to the end of validity (negative once expired), or null for no end. */
export function daysLeft(c: Pick<CertInfo, 'validBefore'>, now: Date): number | null {
  return c.validBefore ? Math.floor((c.validBefore.getTime() - now.getTime()) / DAY_MS) : null;
}

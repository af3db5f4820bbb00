/**
 * The validity of a certificate we issue (`keys sign --valid`), checked before ssh-keygen sees it: one
 * line naming the input and the fix for anything else, and nothing signed. Pure (`now` is given).
 *
 * The default starts at "always": sshd checks a camera's certificate on the collector's clock, and a Pi
 * without a real-time clock may come up with a time restored from before the certificate was issued
 * (fake-hwclock) until NTP answers. A start in the past gives nothing away: the certificate binds a key
 * that exists now. The end is a year (52 weeks) away; renewal is the camera's `allsky-config --cert`.
 */
import { UsageError } from '../errors.js';
import { show } from '../validate.js';

export const DEFAULT_VALIDITY = 'always:+52w';

const UNIT_S: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const INTERVAL = /^(?:\d+[smhdwSMHDW]?)+$/;

const FIX = 'give START:END or END, e.g. always:+52w, -1d:+26w or 20250101:20260101Z (START: always, -TIME, YYYYMMDD[HHMM[SS]][Z]; END: forever, +TIME, YYYYMMDD[HHMM[SS]][Z]; TIME like 52w, 30d, 1h30m)';

/** Seconds in an sshd_config TIME FORMAT interval ("1h30m"), or undefined. */
export function intervalSeconds(text: string): number | undefined {
  if (!INTERVAL.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhdwSMHDW]?)/g)) total += Number(m[1]) * UNIT_S[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(total) && total > 0 ? total : undefined;
}

/** YYYYMMDD or YYYYMMDDHHMM[SS], local time unless it ends in Z, as ssh-keygen reads it. */
function absolute(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 59) return undefined;
  const date = m[7] ? new Date(Date.UTC(y!, mo! - 1, d!, h, mi, s)) : new Date(y!, mo! - 1, d!, h, mi, s);
  // 20250231 rolls over to March: not a date a person meant.
  const back = m[7] ? date.getUTCDate() : date.getDate();
  return back === d ? date : undefined;
}

/** One side of the interval as a time (null: unbounded), or undefined when it is not in the format. */
function side(text: string, which: 'start' | 'end', now: Date): Date | null | undefined {
  if (which === 'start' && text === 'always') return null;
  if (which === 'end' && text === 'forever') return null;
  const sign = which === 'start' ? '-' : '+';
  if (text.startsWith(sign)) {
    const s = intervalSeconds(text.slice(1));
    return s === undefined ? undefined : new Date(now.getTime() + (which === 'start' ? -s : s) * 1000);
  }
  const hex = /^0x([0-9a-fA-F]{1,16})$/.exec(text);
  if (hex) return new Date(Number(BigInt(`0x${hex[1]}`)) * 1000);
  return absolute(text);
}

export interface Validity {
  /** what ssh-keygen -V gets, exactly as given */
  spec: string;
  from: Date | null;
  to: Date | null;
}

/** Check a -V interval; refuse one that is malformed, ends before it starts, or has already ended. */
export function parseValidity(input: string, flag: string, now: Date): Validity {
  const spec = input.trim();
  const parts = spec.split(':');
  if (spec === '' || parts.length > 2) throw new UsageError(`${flag} ${show(input)} is not a validity interval`, FIX);
  const [startText, endText] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  const from = startText === undefined ? now : side(startText, 'start', now);
  if (from === undefined) throw new UsageError(`${flag} ${show(input)}: the start ${show(startText!)} is not a time ssh-keygen reads`, FIX);
  const to = side(endText, 'end', now);
  if (to === undefined) throw new UsageError(`${flag} ${show(input)}: the end ${show(endText)} is not a time ssh-keygen reads`, FIX);
  if (from && to && to.getTime() <= from.getTime()) throw new UsageError(`${flag} ${show(input)} ends before it starts`, FIX);
  if (to && to.getTime() <= now.getTime()) {
    throw new UsageError(`${flag} ${show(input)} has already ended: the certificate would be refused at once`, FIX);
  }
  return { spec, from: startText === undefined ? null : from, to };
}

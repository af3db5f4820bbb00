/** Validation of sync's own options. Pure: each returns a normalised value or throws a UsageError naming the flag. */
import { UsageError } from '../errors.js';
import { show } from '../validate.js';
import { isPlainRemoteDir } from './names.js';

/** `--limit-rate 500K` (bytes per second, K = 1024, M = 1024²), as lftp's net:limit-rate reads it. */
export function parseRate(value: string, flag = '--limit-rate'): number {
  const m = /^(\d+(?:\.\d+)?)([KkMm]?)$/.exec(value.trim());
  const n = m ? Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1024 : 1048576) : NaN;
  if (!Number.isFinite(n) || n < 1024 || n > 1024 ** 3) {
    throw new UsageError(`${flag} ${show(value)} is not a rate from 1K to 1024M bytes per second`, `give bytes per second with K or M, e.g. ${flag} 500K`);
  }
  return Math.round(n);
}

/** sftp's -l takes Kbit/s. */
export const kbitOf = (bytesPerSecond: number) => Math.max(1, Math.round((bytesPerSecond * 8) / 1024));

export function parseCount(value: string, flag: string, max: number): number {
  if (!/^\d{1,6}$/.test(value.trim()) || Number(value) > max) {
    throw new UsageError(`${flag} ${show(value)} is not a whole number from 0 to ${max}`, `e.g. ${flag} ${Math.min(3, max)}`);
  }
  return Number(value);
}

/** A network interface name as the kernel allows it (IFNAMSIZ 16, no `/`, no whitespace). */
export function parseInterface(value: string, flag = '--only-when-interface'): string {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(value) || value === '.' || value === '..') {
    throw new UsageError(`${flag} ${show(value)} is not a network interface name`, `give a name from "ip link", e.g. ${flag} wlan0`);
  }
  return value;
}

export function parseRemoteDir(value: string, flag = '--remote-dir'): string {
  const v = value.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (!isPlainRemoteDir(v)) {
    throw new UsageError(`${flag} ${show(value)} is not a plain relative directory`, `give a directory below the upload account's login directory, e.g. ${flag} archive`);
  }
  return v;
}

/** `--every 15` minutes: a divisor of 60 (a calendar event that repeats evenly), or a whole number of hours. */
export function parseEvery(value: string, flag = '--every'): number {
  const n = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && (60 % n === 0 || (n % 60 === 0 && n <= 1440)))) {
    throw new UsageError(`${flag} ${show(value)} is not an interval the timer can keep`, `give minutes that divide an hour (5, 10, 15, 20, 30, 60) or whole hours (120, 360, 1440), e.g. ${flag} 15`);
  }
  return n;
}

/** The timer's OnCalendar= for an interval in minutes. */
export function onCalendar(minutes: number): string {
  if (minutes < 60) return `*:0/${minutes}`;
  if (minutes === 60) return 'hourly';
  return minutes === 1440 ? 'daily' : `0/${minutes / 60}:00`;
}

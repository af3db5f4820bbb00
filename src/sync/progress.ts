/**
 * What a person sees of a sync: on a terminal one status line rewritten in place (files, bytes, rate, ETA),
 * elsewhere one summary line at the end. Pure: the caller says where the text goes.
 */

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${Math.max(0, s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export interface Counts {
  files: number;
  bytes: number;
}

export interface ProgressView {
  done: Counts;
  total: Counts;
  elapsedMs: number;
}

/** `  37/120 files  12.3/51.0 MiB  1.2 MiB/s  ETA 32 s` */
export function progressLine(p: ProgressView): string {
  const rate = p.elapsedMs > 0 ? (p.done.bytes * 1000) / p.elapsedMs : 0;
  const left = p.total.bytes - p.done.bytes;
  const eta = rate > 0 ? humanDuration((left / rate) * 1000) : '—';
  const mib = (n: number) => (n / 1048576).toFixed(1);
  return `  ${p.done.files}/${p.total.files} files  ${mib(p.done.bytes)}/${mib(p.total.bytes)} MiB  ${humanBytes(Math.round(rate))}/s  ETA ${eta}`;
}

export interface RunSummary {
  delivered: Counts;
  present: Counts;
  backlog: Counts;
  deleted: number;
  skipped: number;
  waiting: number;
  elapsedMs: number;
}

/** The one line a non-terminal run prints (and a terminal run ends with). */
export function summaryLine(s: RunSummary): string {
  const rate = s.elapsedMs > 0 ? (s.delivered.bytes * 1000) / s.elapsedMs : 0;
  const parts = [
    s.delivered.files === 0
      ? 'Nothing new to deliver'
      : `Delivered ${s.delivered.files} file${s.delivered.files === 1 ? '' : 's'} (${humanBytes(s.delivered.bytes)}) in ${humanDuration(s.elapsedMs)}, ${humanBytes(Math.round(rate))}/s`,
    `${s.present.files} already on the collector`,
  ];
  if (s.deleted) parts.push(`${s.deleted} deleted from the spool`);
  if (s.waiting) parts.push(`${s.waiting} still being written (next run)`);
  if (s.skipped) parts.push(`${s.skipped} skipped (see above)`);
  parts.push(s.backlog.files ? `backlog ${s.backlog.files} files (${humanBytes(s.backlog.bytes)})` : 'backlog 0');
  return parts.join('; ') + '.';
}

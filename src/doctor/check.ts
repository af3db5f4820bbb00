/**
 * A doctor check: a stable id, a verdict, the evidence behind it and a command that fixes it. Checks are a
 * flat list (like np's prerequisite tasks): each area module returns its own, the command prints them.
 */
import { paint } from '../text/color.js';
import { wrapLine } from '../text/wrap.js';
import { outputWidth } from '../system/stdout.js';
import { printable as p } from '../text/printable.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  /** stable, e.g. "chroot.components"; the same for every account */
  id: string;
  title: string;
  status: CheckStatus;
  /** paths with owner and mode, config lines with file and line, log lines */
  evidence: string[];
  /** a command the user can paste */
  fix?: string;
  /** why a check was skipped, or what a failure means */
  reason?: string;
  /** the upload account (collector) the check is about */
  user?: string;
}

type Extra = Partial<Pick<DoctorCheck, 'fix' | 'reason' | 'user'>>;

export const pass = (id: string, title: string, evidence: string[] = [], extra: Extra = {}): DoctorCheck => ({ id, title, status: 'pass', evidence, ...extra });
export const warn = (id: string, title: string, evidence: string[], extra: Extra = {}): DoctorCheck => ({ id, title, status: 'warn', evidence, ...extra });
export const fail = (id: string, title: string, evidence: string[], extra: Extra = {}): DoctorCheck => ({ id, title, status: 'fail', evidence, ...extra });
export const skip = (id: string, title: string, reason: string, extra: Extra = {}): DoctorCheck => ({ id, title, status: 'skip', evidence: [], reason, ...extra });

/** Owner and mode the way `ls -l` users read them: "root:root 0755". */
export function ownerMode(info: { uid: number; gid: number; mode: number }, names?: Map<number, string>): string {
  const n = (id: number) => names?.get(id) ?? (id === 0 ? 'root' : String(id));
  return `${n(info.uid)}:${info.gid === 0 ? 'root' : info.gid} ${info.mode.toString(8).padStart(4, '0')}`;
}

/** Shell quoting for paths in printed fix commands. */
export function q(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The verdict as printed, coloured: pass, WARN, FAIL, skip (four columns each). */
export const MARK: Record<CheckStatus, string> = {
  pass: paint.green('pass'),
  warn: paint.yellow('WARN'),
  fail: paint.red('FAIL'),
  skip: paint.dim('skip'),
};

/**
 * One check for a person: the verdict line, then for a problem its evidence, reason and fix, each broken at
 * spaces to fit the terminal (`width`, 0: no wrapping) and continued under its own text. Nothing a person
 * must read is dimmed.
 */
export function formatDoctorCheck(c: DoctorCheck, width = outputWidth()): string {
  // Titles, evidence and fixes carry names and values read from the machine: escaped, one line each.
  let head = `  ${MARK[c.status]}  ${p(c.title)}`;
  if (c.status === 'skip' && c.reason) head += ` — ${p(c.reason)}`;
  else if (c.status === 'pass' && c.evidence.length) head += ` — ${p(c.evidence[0])}`;
  const lines = [wrapLine(head, width, 8)];
  if (c.status !== 'pass' && c.status !== 'skip') {
    for (const e of c.evidence) lines.push(wrapLine(`        ${p(e)}`, width, 10));
    if (c.reason) lines.push(wrapLine(`        ${p(c.reason)}`, width, 8));
    if (c.fix) lines.push(wrapLine(`        ${paint.cyan('fix:')} ${p(c.fix)}`, width, 13));
  }
  return lines.join('\n');
}

export function summarize(checks: DoctorCheck[]): { pass: number; warn: number; fail: number; skip: number } {
  const s = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) s[c.status]++;
  return s;
}

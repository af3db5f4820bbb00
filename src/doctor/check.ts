/**
 * A doctor check: a stable id, a verdict, the evidence behind it and a command that fixes it. Checks are a
 * flat list (like np's prerequisite tasks): each area module returns its own, the command prints them.
 */
import chalk from 'chalk';
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

const MARK: Record<CheckStatus, string> = {
  pass: chalk.green('pass'),
  warn: chalk.yellow('WARN'),
  fail: chalk.red('FAIL'),
  skip: chalk.dim('skip'),
};

export function formatDoctorCheck(c: DoctorCheck): string {
  // Titles, evidence and fixes carry names and values read from the machine: escaped, one line each.
  const lines = [`  ${MARK[c.status]}  ${p(c.title)}${c.status === 'skip' && c.reason ? chalk.dim(` — ${p(c.reason)}`) : ''}`];
  if (c.status !== 'pass' && c.status !== 'skip') {
    for (const e of c.evidence) lines.push(chalk.dim(`        ${p(e)}`));
    if (c.reason) lines.push(`        ${p(c.reason)}`);
    if (c.fix) lines.push(`        ${chalk.cyan('fix:')} ${p(c.fix)}`);
  } else if (c.status === 'pass' && c.evidence.length) {
    lines[0] += chalk.dim(` — ${p(c.evidence[0])}`);
  }
  return lines.join('\n');
}

export function summarize(checks: DoctorCheck[]): { pass: number; warn: number; fail: number; skip: number } {
  const s = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) s[c.status]++;
  return s;
}

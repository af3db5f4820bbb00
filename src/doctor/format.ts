/**
 * The doctor's report for a person. One upload account (or a camera): every check, as it always was. Several
 * accounts (a fleet): the general checks, then one line per account, the details of each problem once
 * (a problem that many accounts share is shown for the first and named for the rest), skips folded into
 * one line per reason, and a last line that names each failing account and check. Pure.
 */
import { paint } from '../text/color.js';
import { printable as p } from '../text/printable.js';
import { wrapLine } from '../text/wrap.js';
import { formatDoctorCheck, MARK, summarize, type CheckStatus, type DoctorCheck } from './check.js';

/** A warning or failure on more accounts than this is shown once, for the first of them. */
export const FOLD_ABOVE = 3;
/** Accounts named in the summary line and in folded lists before "… and N more". */
export const NAMED = 8;

export interface FormatOptions {
  /** what the checks without an account are about */
  scope: 'collector' | 'camera';
  /** terminal width for wrapping (0: none) */
  width: number;
}

const RANK: Record<CheckStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };

/** Accounts in the order their checks come. */
function usersOf(checks: DoctorCheck[]): string[] {
  return [...new Set(checks.flatMap((c) => (c.user === undefined ? [] : [c.user])))];
}

/** "a, b, c, … and 5 more" */
export function nameList(names: string[], max = NAMED): string {
  const shown = names.slice(0, max).map(p).join(', ');
  return names.length > max ? `${shown}, … and ${names.length - max} more` : shown;
}

/** What failed, for the JSON report: the general checks' ids, and per account its failing check ids. */
export function failing(checks: DoctorCheck[]): Array<{ user?: string; checks: string[] }> {
  const out: Array<{ user?: string; checks: string[] }> = [];
  const general = [...new Set(checks.filter((c) => c.status === 'fail' && c.user === undefined).map((c) => c.id))];
  if (general.length) out.push({ checks: general });
  for (const u of usersOf(checks)) {
    const ids = [...new Set(checks.filter((c) => c.user === u && c.status === 'fail').map((c) => c.id))];
    if (ids.length) out.push({ user: u, checks: ids });
  }
  return out;
}

/**
 * The last line: counts, and when something failed, what: "collector fails: sshd.running; 3 accounts fail:
 * cam07 (keys.file), cam12 (tree.modes), … and 1 more — 5 failed, 1 warning(s), 90 passed, 2 skipped".
 */
export function summaryLine(checks: DoctorCheck[], scope: FormatOptions['scope']): string {
  const s = summarize(checks);
  const counts = `${s.warn} warning(s), ${s.pass} passed, ${s.skip} skipped`;
  if (!s.fail) return `${paint.green('nothing failed')}, ${counts}`;
  const what = failing(checks);
  const parts: string[] = [];
  const general = what.find((f) => f.user === undefined);
  if (general) parts.push(`${scope} fails: ${general.checks.map(p).join(', ')}`);
  const accounts = what.filter((f) => f.user !== undefined);
  if (accounts.length) {
    const named = accounts.slice(0, NAMED).map((f) => `${p(f.user)} (${f.checks.map(p).join(', ')})`).join(', ');
    const more = accounts.length > NAMED ? `, … and ${accounts.length - NAMED} more` : '';
    parts.push(`${accounts.length} account${accounts.length === 1 ? ' fails' : 's fail'}: ${named}${more}`);
  }
  return `${paint.red(parts.join('; '))} — ${s.fail} failed, ${counts}`;
}

/** Every line of the report, the summary last. */
export function formatDoctorReport(checks: DoctorCheck[], o: FormatOptions): string[] {
  const users = usersOf(checks);
  const out: string[] = [];
  if (users.length <= 1) {
    let lastUser: string | undefined;
    for (const c of checks) {
      if (c.user && c.user !== lastUser) out.push(paint.bold(`Upload account ${p(c.user)}`));
      lastUser = c.user ?? lastUser;
      out.push(formatDoctorCheck(c, o.width));
    }
  } else {
    for (const c of checks) if (c.user === undefined) out.push(formatDoctorCheck(c, o.width));
    out.push(...fleetLines(checks.filter((c) => c.user !== undefined), users, o.width));
  }
  out.push(summaryLine(checks, o.scope));
  return out;
}

function fleetLines(checks: DoctorCheck[], users: string[], width: number): string[] {
  const out: string[] = [];
  // One line per account: its verdict and, for a problem, which checks.
  out.push(paint.bold(`Upload accounts (${users.length})`));
  for (const u of users) {
    const mine = checks.filter((c) => c.user === u);
    const worst = mine.reduce<CheckStatus>((w, c) => (RANK[c.status] > RANK[w] ? c.status : w), 'skip');
    const problems = [...new Set(mine.filter((c) => c.status === 'fail' || c.status === 'warn').map((c) => c.id))];
    out.push(wrapLine(`  ${MARK[worst === 'skip' ? 'pass' : worst]}  ${p(u)}${problems.length ? ` — ${problems.map(p).join(', ')}` : ''}`, width, 8));
  }

  // Problems shared by many accounts: shown once, for the first; the rest named.
  const problems = checks.filter((c) => c.status === 'fail' || c.status === 'warn');
  const groups = new Map<string, DoctorCheck[]>();
  for (const c of problems) {
    const k = `${c.status} ${c.id}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const folded = new Set([...groups.values()].filter((g) => new Set(g.map((c) => c.user)).size > FOLD_ABOVE).flat());

  // The others, account by account, failures first.
  for (const u of users) {
    const mine = problems.filter((c) => c.user === u && !folded.has(c)).sort((a, b) => RANK[b.status] - RANK[a.status]);
    if (mine.length === 0) continue;
    out.push(paint.bold(`Upload account ${p(u)}`));
    for (const c of mine) out.push(formatDoctorCheck(c, width));
  }
  const shared = [...groups.values()].filter((g) => folded.has(g[0]!)).sort((a, b) => RANK[b[0]!.status] - RANK[a[0]!.status]);
  for (const g of shared) {
    const names = [...new Set(g.map((c) => c.user!))];
    out.push(paint.bold(`${names.length} accounts: ${p(g[0]!.id)} (shown for ${p(names[0])})`));
    out.push(formatDoctorCheck(g[0]!, width));
    out.push(wrapLine(`        the same for ${nameList(names.slice(1))}; sftp-setup doctor --user NAME shows one in full`, width, 8));
  }

  // Skips, one line per check and reason.
  const skips = new Map<string, { c: DoctorCheck; users: string[] }>();
  for (const c of checks.filter((x) => x.status === 'skip')) {
    const k = `${c.id}\n${c.reason ?? ''}`;
    const s = skips.get(k) ?? { c, users: [] };
    s.users.push(c.user!);
    skips.set(k, s);
  }
  if (skips.size) out.push(paint.bold('Skipped'));
  for (const { c, users: us } of skips.values()) {
    const who = us.length === 1 ? `for ${p(us[0])}` : `for ${us.length} accounts`;
    out.push(wrapLine(`  ${MARK.skip}  ${p(c.id)} — ${p(c.reason ?? c.title)} (skipped ${who})`, width, 8));
  }
  return out;
}

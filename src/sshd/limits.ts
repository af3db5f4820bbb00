/**
 * sshd's global connection limits for a collector: how many unauthenticated connections sshd lets in at once
 * (MaxStartups, PerSourceMaxStartups) and how it penalises a source whose logins fail (PerSourcePenalties,
 * OpenSSH 9.8+), sized from the number of upload accounts, and who decides each one: sftp-setup, or the
 * user's own setting, which is kept. Pure: the caller reads sshd -T and the configuration.
 */
import type { Directive } from './includes.js';
import { parseConfig } from './parse.js';

/**
 * Our drop-in. Read first of the drop-ins, and (Debian's Include is the main file's first line) before the
 * main file's own lines: sshd applies the last MaxStartups it reads, so a line the user adds later still
 * wins. Not 50-sftp-setup-*.conf: those are the accounts' Match blocks (collector/managed.ts).
 */
export const LIMITS_FILE_NAME = '00-sftp-setup-limits.conf';

/**
 * Sizing. sshd counts a connection as a "startup" from accept until it has authenticated (a fraction of a
 * second for a key login) and, at `start` of them, drops new ones at random (`rate` %, rising to all at
 * `full`). Every Allsky camera uploads at the same moments (a new image, the end of the night), and may open
 * two connections at once (an image and a keogram, or a retry overlapping): `burst` = 2 per account.
 * - start = burst + ADMIN_ROOM: the whole burst lands without a drop, and 10 more (sshd's own default start,
 *   the room it gives a whole host) stay free for admins. Those are free again a moment after each login.
 * - full = start + 90: sshd's default band of random early drop above start, which bounds how many
 *   pre-authentication sshd processes a flood can make.
 * - perSource = burst + 5 (at least sshd's default start of 10): all the cameras may sit behind one NAT
 *   address (a school), so one source must fit the burst; the cap keeps that one source, a flood or cameras
 *   gone wild, from taking the last 5 slots below start from admins elsewhere.
 */
export const ADMIN_ROOM = 10;
const RATE = 30;
const FULL_BAND = 90;

export interface ConnectionLimits {
  accounts: number;
  burst: number;
  start: number;
  rate: number;
  full: number;
  perSource: number;
}

export function limitsFor(accounts: number): ConnectionLimits {
  const burst = 2 * Math.max(1, accounts);
  const start = burst + ADMIN_ROOM;
  return { accounts, burst, start, rate: RATE, full: start + FULL_BAND, perSource: Math.max(10, burst + 5) };
}

/**
 * PerSourcePenalties: after failed logins sshd refuses the whole source address for a while, and a NAT
 * makes a site one address. The default charges 5 s per failed login and refuses the source once more than
 * 15 s are outstanding (they run down in real time): three failures in a few seconds. A camera with a stale
 * key fails on each upload (and lftp retries it), so it would get every camera at the site refused. Charged
 * 1 s instead, a source is refused only when it fails faster than once a second for a while: a camera never
 * does, a password guesser does. Chosen over an exempt list of the cameras' networks because it needs no
 * address (keys without from= are common, and `keys add` would leave such a list behind) and keeps the
 * penalties for everyone. The other penalties keep sshd's defaults.
 */
export const PENALTY_SETTING = 'authfail:1s';
const PENALTY_EFFECT = 'authfail:1'; // how sshd -T prints it

export type LimitKeyword = 'MaxStartups' | 'PerSourceMaxStartups' | 'PerSourcePenalties';
const KEYWORDS: LimitKeyword[] = ['MaxStartups', 'PerSourceMaxStartups', 'PerSourcePenalties'];

// OpenSSH's built-in values (unchanged from 8.5 to 10.x). A different value with no line setting it is
// someone's choice (a build option): kept like a line. Penalty defaults vary by version: lines only.
const DEFAULTS: Partial<Record<string, string>> = { maxstartups: '10:30:100', persourcemaxstartups: 'none', persourcenetblocksize: '32:128' };

export type LimitDecision =
  /** sftp-setup writes `value` */
  | { keyword: LimitKeyword; by: 'sftp-setup'; value: string }
  /** the user's own: kept; `enough` says whether the accounts' burst still fits */
  | { keyword: LimitKeyword; by: 'yours'; value: string; where: string; enough: boolean }
  /** this sshd has no such option (sshd -T does not print it) */
  | { keyword: LimitKeyword; by: 'unsupported' };

export interface LimitsPlan {
  limits: ConnectionLimits;
  decisions: LimitDecision[];
  /** PerSourceNetBlockSize as sshd -T prints it, when it is not the default (each address alone) */
  netBlock?: string;
  /** the drop-in's content, or null when sftp-setup has nothing to set */
  text: string | null;
}

const first = (eff: Map<string, string[]>, k: string) => eff.get(k)?.[0];

/** MaxStartups as sshd -T prints it ("10:30:100"; a single number N reads as N:30:N). */
export function parseMaxStartups(value: string): { start: number; rate: number; full: number } | null {
  const n = value.trim().split(':').map(Number);
  if (n.some((x) => !Number.isInteger(x) || x < 0)) return null;
  if (n.length === 1) return { start: n[0]!, rate: RATE, full: n[0]! };
  if (n.length === 3) return { start: n[0]!, rate: n[1]!, full: n[2]! };
  return null;
}

/** Does a MaxStartups / PerSourceMaxStartups value let the accounts' burst in without a drop? */
export function fitsBurst(keyword: 'MaxStartups' | 'PerSourceMaxStartups', value: string, limits: ConnectionLimits): boolean {
  if (keyword === 'PerSourceMaxStartups') return value === 'none' || Number(value) >= limits.burst;
  const m = parseMaxStartups(value);
  // sshd drops only once `start` connections are already waiting: the burst and one admin login fit.
  return m !== null && m.start > limits.burst;
}

function ourValue(keyword: LimitKeyword, limits: ConnectionLimits): string {
  if (keyword === 'MaxStartups') return `${limits.start}:${limits.rate}:${limits.full}`;
  if (keyword === 'PerSourceMaxStartups') return String(limits.perSource);
  return PENALTY_SETTING;
}

/**
 * Who sets each limit. Ours only where nobody else does: a global line in any file but our own drop-in is
 * the user's, and so is a value sshd -T shows that is neither sshd's default nor our drop-in's. An option
 * sshd -T does not print does not exist in this sshd and is left out (sshd -t would refuse it).
 */
export function planLimits(opts: {
  accounts: number;
  /** sshd -T (global, no -C) of the configuration as it is */
  effective: Map<string, string[]>;
  /** the configuration as it is, every file */
  directives: Directive[];
  /** our drop-in's path, and its current text (null when absent) */
  ownPath: string;
  ownText: string | null;
}): LimitsPlan {
  const limits = limitsFor(opts.accounts);
  const own = new Map<string, string>();
  for (const l of parseConfig(opts.ownText ?? '', opts.ownPath)) if (l.keyword && !own.has(l.keyword)) own.set(l.keyword, l.args.join(' '));
  const decisions = KEYWORDS.map((keyword): LimitDecision => {
    const k = keyword.toLowerCase();
    const shown = first(opts.effective, k);
    if (shown === undefined) return { keyword, by: 'unsupported' };
    const enough = (value: string) => (keyword === 'PerSourcePenalties' ? true : fitsBurst(keyword, value, limits));
    const line = userLine(opts.directives, k, shown, opts.ownPath);
    if (line) {
      const value = normaliseLimit(k, line.args.join(' '));
      return { keyword, by: 'yours', value, where: `${line.file} line ${line.lineNo}`, enough: enough(value) };
    }
    const builtIn = DEFAULTS[k];
    if (builtIn !== undefined && shown !== builtIn && !own.has(k)) {
      return { keyword, by: 'yours', value: shown, where: 'sshd -T (no line sets it: built into this sshd)', enough: enough(shown) };
    }
    return { keyword, by: 'sftp-setup', value: ourValue(keyword, limits) };
  });
  const netBlock = first(opts.effective, 'persourcenetblocksize');
  const ours = decisions.filter((d): d is Extract<LimitDecision, { by: 'sftp-setup' }> => d.by === 'sftp-setup');
  return {
    limits,
    decisions,
    ...(netBlock !== undefined && netBlock !== DEFAULTS.persourcenetblocksize ? { netBlock } : {}),
    text: ours.length ? renderLimits(limits, ours) : null,
  };
}

/** A limit's value as sshd -T prints it (MaxStartups "20" is "20:30:20"). */
export function normaliseLimit(keyword: string, value: string): string {
  if (keyword.toLowerCase() !== 'maxstartups') return value;
  const m = parseMaxStartups(value);
  return m ? `${m.start}:${m.rate}:${m.full}` : value;
}

/**
 * The user's global line for a limit (any file but our drop-in), preferring the one sshd applies. Which one
 * that is depends on the keyword and the version (MaxStartups: the last one read; PerSourceMaxStartups: the
 * last on 9.2, the first on 10.0; checked with sshd -T), so it is found by value, not by position.
 */
export function userLine(directives: Directive[], keyword: string, shown: string | undefined, ownPath: string): Directive | undefined {
  const k = keyword.toLowerCase();
  const lines = directives.filter((d) => d.keyword === k && !d.match && d.file !== ownPath);
  return lines.filter((d) => normaliseLimit(k, d.args.join(' ')) === shown).at(-1) ?? lines.at(-1);
}

function renderLimits(limits: ConnectionLimits, ours: Array<{ keyword: LimitKeyword; value: string }>): string {
  const why: Record<LimitKeyword, string> = {
    MaxStartups: `# start ${limits.start}: ${limits.burst} uploads starting at once (2 per account) + ${ADMIN_ROOM} for admins; then sshd's random drop up to ${limits.full}`,
    PerSourceMaxStartups: `# all cameras may share one NAT address; the last ${limits.start - limits.perSource} slots below start stay for other addresses`,
    PerSourcePenalties: '# 1 s per failed login: a camera with a stale key cannot get its whole site refused; fast guessers still are',
  };
  return [
    `# Managed by sftp-setup: sshd's connection limits, sized for ${limits.accounts} upload account${limits.accounts === 1 ? '' : 's'}.`,
    '# Change them with "sftp-setup init". A setting of yours in another file is kept: this file then leaves it out.',
    ...ours.flatMap((d) => [why[d.keyword], `${d.keyword} ${d.value}`]),
    '',
  ].join('\n');
}

/**
 * What sshd -T must print for each limit we write (checked on the candidate before it is installed, and
 * after the reload): the keyword and what differs, or [] when sshd applies them all.
 */
export function limitsMismatch(effective: Map<string, string[]>, plan: LimitsPlan): Array<{ keyword: string; expected: string; actual: string | null }> {
  const out: Array<{ keyword: string; expected: string; actual: string | null }> = [];
  for (const d of plan.decisions) {
    if (d.by !== 'sftp-setup') continue;
    const actual = first(effective, d.keyword.toLowerCase()) ?? null;
    const ok = d.keyword === 'PerSourcePenalties' ? actual?.split(/\s+/).includes(PENALTY_EFFECT) : actual === d.value;
    if (!ok) out.push({ keyword: d.keyword, expected: d.keyword === 'PerSourcePenalties' ? PENALTY_EFFECT : d.value, actual });
  }
  return out;
}

/** One line for the plan and init's report: what is set, by whom, and whether the burst still fits. */
export function describeLimits(plan: LimitsPlan): string {
  const parts = plan.decisions.map((d) => {
    if (d.by === 'unsupported') return `${d.keyword}: not in this OpenSSH`;
    if (d.by === 'yours') {
      const low = d.enough ? '' : `, too low for ${plan.limits.burst} uploads at once: sftp-setup would set ${ourValue(d.keyword, plan.limits)}`;
      return `${d.keyword} ${d.value} kept (yours: ${d.where})${low}`;
    }
    return d.keyword === 'PerSourcePenalties' ? `${d.keyword} ${d.value}, so a camera with a stale key cannot get its whole site refused` : `${d.keyword} ${d.value}`;
  });
  if (plan.netBlock) parts.push(`PerSourceNetBlockSize ${plan.netBlock} (yours: cameras in one such block count as one source)`);
  return parts.join('; ');
}

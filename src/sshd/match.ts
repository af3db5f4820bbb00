/**
 * Evaluates sshd Match criteria for a known user, with the connection possibly unknown.
 * Pattern rules follow OpenSSH match.c (match_pattern, match_pattern_list) and addrmatch.c
 * (addr_match_list); criteria handling follows servconf.c match_cfg_line.
 */
import type { MatchRef } from './includes.js';

export type Tri = 'yes' | 'no' | 'maybe';

export interface MatchContext {
  user: string;
  groups: string[];
  host?: string;
  addr?: string;
  localAddr?: string;
  localPort?: number;
  rdomain?: string;
  /** sshd's release string such as 'OpenSSH_9.2', for `Match Version`. */
  version?: string;
}

/** `*` any run, `?` any one character, everything else literal (match.c match_pattern). */
export function matchPattern(s: string, pattern: string): boolean {
  // Iterative wildcard match with backtracking to the last '*': linear enough for config patterns.
  let si = 0;
  let pi = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < pattern.length && (pattern[pi] === '?' || pattern[pi] === s[si])) {
      si++;
      pi++;
    } else if (pi < pattern.length && pattern[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pattern.length && pattern[pi] === '*') pi++;
  return pi === pattern.length;
}

/**
 * match.c match_pattern_list: 1 on a positive match, -1 when a negated entry matches (which wins
 * over everything), 0 otherwise.
 */
export function matchPatternList(s: string, list: string, lower = false): 1 | 0 | -1 {
  let positive = false;
  for (let sub of list.split(',')) {
    const negated = sub.startsWith('!');
    if (negated) sub = sub.slice(1);
    if (lower) sub = sub.toLowerCase();
    // OpenSSH refuses subpatterns of 1023+ characters as "no match".
    if (sub.length >= 1023) return 0;
    if (matchPattern(s, sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

function parseIPv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

function parseIPv6(s: string): bigint | null {
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  // An embedded IPv4 tail (::ffff:1.2.3.4) is rewritten as its two 16-bit groups.
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = parseIPv4(v4[1]!);
    if (n === null) return null;
    s = `${s.slice(0, v4.index + 1)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const toGroups = (h: string): bigint[] | null => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(BigInt(parseInt(g, 16)));
    }
    return out;
  };
  const head = toGroups(halves[0]!);
  const after = halves.length === 2 ? toGroups(halves[1]!) : [];
  if (head === null || after === null) return null;
  const groups = [...head];
  if (halves.length === 2) {
    const fill = 8 - groups.length - after.length;
    if (fill < 1) return null;
    for (let i = 0; i < fill; i++) groups.push(0n);
  } else if (groups.length + after.length !== 8) {
    return null;
  }
  groups.push(...after);
  if (groups.length !== 8) return null;
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

export function parseAddress(s: string): { v: 4 | 6; n: bigint } | null {
  const a = parseIPv4(s);
  if (a !== null) return { v: 4, n: a };
  if (!s.includes(':')) return null;
  const b = parseIPv6(s);
  return b === null ? null : { v: 6, n: b };
}

/**
 * addrmatch.c addr_match_list: CIDR entries first, wildcard text otherwise.
 * 1 match, 0 none, -1 negated match, -2 malformed entry (e.g. host bits set in a CIDR).
 */
export function addrMatchList(addr: string, list: string): 1 | 0 | -1 | -2 {
  const target = parseAddress(addr);
  if (target === null) return 0;
  let ret: 1 | 0 = 0;
  for (let entry of list.split(',')) {
    const neg = entry.startsWith('!');
    if (neg) entry = entry.slice(1);
    if (entry === '') return -2;
    const slash = entry.indexOf('/');
    const base = parseAddress(slash >= 0 ? entry.slice(0, slash) : entry);
    let matched: boolean;
    if (base !== null) {
      const bits = base.v === 4 ? 32 : 128;
      const lenText = slash >= 0 ? entry.slice(slash + 1) : String(bits);
      if (!/^\d+$/.test(lenText) || Number(lenText) > bits) return -2;
      const len = BigInt(lenText);
      const hostMask = (1n << (BigInt(bits) - len)) - 1n;
      if ((base.n & hostMask) !== 0n) return -2; // "inconsistent mask length"
      matched = target.v === base.v && (target.n & ~hostMask) === base.n;
    } else {
      matched = matchPattern(addr, entry);
    }
    if (matched) {
      if (neg) return -1;
      ret = 1;
    }
  }
  return ret;
}

const KEYED = ['user', 'group', 'host', 'address', 'localaddress', 'localport', 'rdomain', 'version'];

function and(a: Tri, b: Tri): Tri {
  if (a === 'no' || b === 'no') return 'no';
  if (a === 'maybe' || b === 'maybe') return 'maybe';
  return 'yes';
}

/**
 * Does a Match line (its arguments) apply to this user? 'maybe' when the answer depends on the
 * connection (address, host name, port ...) and the context does not say, or when the line is
 * malformed (sshd would refuse it; callers should not treat it as harmless).
 */
export function matchApplies(criteria: string[], ctx: MatchContext): Tri {
  let result: Tri = 'yes';
  let attributes = 0;
  for (let i = 0; i < criteria.length; i++) {
    let attrib = criteria[i]!;
    if (attrib.startsWith('#')) break;
    attributes++;
    const lower = attrib.toLowerCase();
    if (lower === 'all') {
      const next = criteria[i + 1];
      if (attributes > 1 || (next !== undefined && next !== '' && !next.startsWith('#'))) return 'maybe';
      return 'yes';
    }
    if (lower === 'invalid-user') {
      // We only ask about accounts that exist.
      result = 'no';
      continue;
    }
    let arg: string | undefined;
    const eq = attrib.indexOf('=');
    if (eq > 0 && KEYED.includes(lower.slice(0, eq))) {
      arg = attrib.slice(eq + 1);
      attrib = attrib.slice(0, eq);
    } else {
      arg = criteria[++i];
    }
    if (arg === undefined || arg === '' || arg.startsWith('#')) return 'maybe';
    result = and(result, criterion(attrib.toLowerCase(), arg, ctx));
  }
  return attributes === 0 ? 'maybe' : result;
}

function criterion(attrib: string, arg: string, ctx: MatchContext): Tri {
  const yn = (b: boolean): Tri => (b ? 'yes' : 'no');
  switch (attrib) {
    case 'user':
      return yn(matchPatternList(ctx.user, arg) === 1);
    case 'group': {
      // groupaccess.c ga_match_pattern_list: a negated match on any group wins.
      let found = false;
      for (const g of ctx.groups) {
        const r = matchPatternList(g, arg);
        if (r === -1) return 'no';
        if (r === 1) found = true;
      }
      return yn(found);
    }
    case 'host':
      return ctx.host === undefined ? 'maybe' : yn(matchPatternList(ctx.host.toLowerCase(), arg, true) === 1);
    case 'address':
      return addressCriterion(ctx.addr, arg);
    case 'localaddress':
      return addressCriterion(ctx.localAddr, arg);
    case 'localport': {
      // sshd accepts one port here, not a list.
      if (!/^\d+$/.test(arg) || Number(arg) < 1 || Number(arg) > 65535) return 'maybe';
      return ctx.localPort === undefined ? 'maybe' : yn(Number(arg) === ctx.localPort);
    }
    case 'rdomain':
      return ctx.rdomain === undefined ? 'maybe' : yn(matchPatternList(ctx.rdomain, arg) === 1);
    case 'version':
      return ctx.version === undefined ? 'maybe' : yn(matchPatternList(ctx.version, arg) === 1);
    default:
      return 'maybe'; // unknown criterion: sshd would reject the file; do not call it harmless
  }
}

function addressCriterion(addr: string | undefined, list: string): Tri {
  if (addr === undefined) return 'maybe';
  const r = addrMatchList(addr, list);
  if (r === -2) return 'maybe';
  return r === 1 ? 'yes' : 'no';
}

/** A directive's whole Match chain: its own Match and those around the Includes that led to it. */
export function matchRefApplies(ref: MatchRef | undefined, ctx: MatchContext): Tri {
  let result: Tri = 'yes';
  for (let r = ref; r; r = r.outer) result = and(result, matchApplies(r.criteria, ctx));
  return result;
}

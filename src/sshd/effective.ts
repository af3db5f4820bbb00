/**
 * Reading `sshd -T` output and `sshd -V` / `ssh -V` version strings.
 */

/** `sshd -T` prints one lowercase `keyword value...` per line; repeated keywords accumulate. */
export function parseEffective(sshdTOutput: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const rawLine of sshdTOutput.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '') continue;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const list = map.get(key) ?? [];
    list.push(m[2] ?? '');
    map.set(key, list);
  }
  return map;
}

// Older sshd -T prints the old name for some options.
const EFFECTIVE_ALIASES: Record<string, string[]> = {
  kbdinteractiveauthentication: ['challengeresponseauthentication'],
};

// Values of these are file paths: compare them as paths, not as words.
const PATH_KEYWORDS = new Set(['chrootdirectory', 'authorizedkeysfile', 'authorizedprincipalsfile', 'revokedkeys', 'trustedusercakeys', 'banner']);
// Values sshd prints case-normalised (flags and enums); compare case-insensitively.
const WORD_KEYWORDS = new Set([
  'passwordauthentication', 'kbdinteractiveauthentication', 'pubkeyauthentication', 'allowtcpforwarding',
  'x11forwarding', 'permittty', 'allowagentforwarding', 'permittunnel', 'disableforwarding', 'loglevel',
  'strictmodes', 'usepam', 'permitrootlogin', 'allowstreamlocalforwarding', 'gatewayports',
]);

const BOOL: Record<string, string> = { yes: 'yes', true: 'yes', on: 'yes', no: 'no', false: 'no', off: 'no' };

export interface ExpandTokens {
  /** %u */ user?: string;
  /** %h */ home?: string;
  /** %U */ uid?: number;
}

/** Expand %u %h %U %% as sshd does at use time (sshd -T shows them unexpanded). */
export function expandTokens(value: string, t: ExpandTokens): string {
  return value.replace(/%([%uhU])/g, (all, c: string) => {
    if (c === '%') return '%';
    if (c === 'u' && t.user !== undefined) return t.user;
    if (c === 'h' && t.home !== undefined) return t.home;
    if (c === 'U' && t.uid !== undefined) return String(t.uid);
    return all;
  });
}

function normPath(p: string): string {
  // Strip config quoting, collapse '//', drop a trailing '/' (but keep '/').
  const unq = p.length >= 2 && p.startsWith('"') && p.endsWith('"') ? p.slice(1, -1) : p;
  const s = unq.replace(/\/{2,}/g, '/');
  return s.length > 1 ? s.replace(/\/$/, '') : s;
}

export function normaliseValue(keyword: string, value: string, tokens: ExpandTokens = {}): string {
  const k = keyword.toLowerCase();
  let v = expandTokens(value.trim().replace(/\s+/g, ' '), tokens);
  if (PATH_KEYWORDS.has(k)) v = v.split(' ').map(normPath).join(' ');
  if (WORD_KEYWORDS.has(k)) {
    v = v.toLowerCase();
    v = BOOL[v] ?? v;
  }
  return v;
}

export interface EffectiveMismatch {
  keyword: string;
  expected: string;
  /** null when sshd -T does not print the keyword at all. */
  actual: string | null;
}

/**
 * Keywords whose effective value differs from what we expect. Pass `tokens` to expand %u etc. on
 * both sides; without them both sides are compared unexpanded, as sshd -T prints them.
 */
export function compareEffective(
  map: Map<string, string[]>,
  expected: Record<string, string>,
  tokens: ExpandTokens = {},
): EffectiveMismatch[] {
  const out: EffectiveMismatch[] = [];
  for (const [kw, want] of Object.entries(expected)) {
    const k = kw.toLowerCase();
    const values = map.get(k) ?? EFFECTIVE_ALIASES[k]?.map((a) => map.get(a)).find((v) => v !== undefined);
    const actual = values === undefined ? null : values.join(' ');
    if (actual === null || normaliseValue(k, actual, tokens) !== normaliseValue(k, want, tokens)) {
      out.push({ keyword: k, expected: want, actual });
    }
  }
  return out;
}

export interface ParsedVersion {
  major: number;
  minor: number;
  patch: number;
  /** The whole first line that named the version, e.g. 'OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.11 ...'. */
  raw: string;
}

/** From `ssh -V` / `sshd -V` stderr (or sshd's usage text, which also names the version). */
export function parseSshdVersion(text: string): ParsedVersion | null {
  for (const line of text.split(/\r?\n/)) {
    const m = /OpenSSH_(\d+)\.(\d+)(?:p(\d+))?/.exec(line);
    if (m) return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] ? Number(m[3]) : 0, raw: line.trim() };
  }
  return null;
}

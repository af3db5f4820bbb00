/**
 * Which earlier settings would beat our Match block, and who sets a keyword.
 *
 * sshd's precedence (servconf.c parse_server_match_config + copy_set_server_options): global
 * directives are read first, first value wins; then for each connection the file is read again
 * applying only active Match blocks (and what follows `Match all`), first value wins, and those
 * values replace the global ones. So a global `PasswordAuthentication yes` never beats our block,
 * but any applying Match block (or `Match all` section) earlier in reading order does.
 */
import type { Directive, MatchRef } from './includes.js';
import { matchRefApplies, type MatchContext, type Tri } from './match.js';

/** Keywords our block sets, plus DisableForwarding which overrides the forwarding ones. */
export const MANAGED_KEYWORDS = [
  'chrootdirectory',
  'forcecommand',
  'authorizedkeysfile',
  'passwordauthentication',
  'kbdinteractiveauthentication',
  'pubkeyauthentication',
  'allowtcpforwarding',
  'x11forwarding',
  'permittty',
  'allowagentforwarding',
  'permittunnel',
  'disableforwarding',
  'loglevel',
] as const;

// servconf.h SSHCONF_ALIAS: old names still set the same option.
const ALIASES: Record<string, string> = {
  challengeresponseauthentication: 'kbdinteractiveauthentication',
  skeyauthentication: 'kbdinteractiveauthentication',
  dsaauthentication: 'pubkeyauthentication',
};

export function canonicalKeyword(keyword: string): string {
  const k = keyword.toLowerCase();
  return ALIASES[k] ?? k;
}

export interface Conflict {
  file: string;
  lineNo: number;
  /** Canonical lowercase keyword. */
  keyword: string;
  args: string[];
  raw: string;
  /** The Match line the directive sits under (innermost). */
  match: { criteria: string[]; file: string; lineNo: number };
  /** 'maybe': only for some connections (address, host ...). */
  applies: Exclude<Tri, 'no'>;
}

export type OwnSource =
  | { file: string }
  | { file: string; marker: true; range?: { start: number; end: number } };

/** Index in reading order where our block starts, or -1 when it is not in the config yet. */
export function ownBlockStart(directives: Directive[], user: string, own: OwnSource): number {
  if (!('marker' in own)) return directives.findIndex((d) => d.file === own.file);
  const inFile = directives.filter((d) => d.file === own.file);
  if (own.range) {
    const r = own.range;
    return inFile.find((d) => d.lineNo >= r.start && d.lineNo <= r.end)?.index ?? -1;
  }
  // Without a range take the last `Match User <user>` of the file: ours is appended at the end,
  // and a hand-written one earlier must be reported, not mistaken for ours.
  const ours = inFile.filter(
    (d) => d.keyword === 'match' && d.args.length === 2 && d.args[0]!.toLowerCase() === 'user' && d.args[1] === user,
  );
  return ours.at(-1)?.index ?? -1;
}

function innermost(m: MatchRef): Conflict['match'] {
  return { criteria: m.criteria, file: m.file, lineNo: m.lineNo };
}

/**
 * Match-block directives before our block (all of them when our block is not there yet) that apply
 * to the user for some or all connections and set a keyword we manage.
 */
export function findConflicts(
  directives: Directive[],
  user: string,
  groups: string[],
  ownSource: OwnSource,
  managed: readonly string[] = MANAGED_KEYWORDS,
): Conflict[] {
  const start = ownBlockStart(directives, user, ownSource);
  const end = start < 0 ? directives.length : start;
  const ctx: MatchContext = { user, groups };
  const out: Conflict[] = [];
  for (const d of directives.slice(0, end)) {
    if (!d.match || (d.file === ownSource.file && !('marker' in ownSource))) continue;
    const keyword = canonicalKeyword(d.keyword);
    if (!managed.includes(keyword)) continue;
    const applies = matchRefApplies(d.match, ctx);
    if (applies === 'no') continue;
    out.push({ file: d.file, lineNo: d.lineNo, keyword, args: d.args, raw: d.raw.trimEnd(), match: innermost(d.match), applies });
  }
  return out;
}

export interface WhoSets {
  directive: Directive;
  /** 'maybe' when it only applies for some connections; a later line may win for others. */
  applies: Exclude<Tri, 'no'>;
  /** True when the value comes from a Match block (or `Match all` section). */
  fromMatch: boolean;
}

/**
 * The directive whose value sshd uses for this keyword and connection: the first applying one in
 * a Match block, else the first global one; undefined means sshd's built-in default.
 */
export function whoSets(directives: Directive[], keyword: string, ctx: MatchContext): WhoSets | undefined {
  const k = canonicalKeyword(keyword);
  const same = directives.filter((d) => canonicalKeyword(d.keyword) === k);
  for (const d of same) {
    if (!d.match) continue;
    const applies = matchRefApplies(d.match, ctx);
    if (applies !== 'no') return { directive: d, applies, fromMatch: true };
  }
  const global = same.find((d) => !d.match);
  return global ? { directive: global, applies: 'yes', fromMatch: false } : undefined;
}

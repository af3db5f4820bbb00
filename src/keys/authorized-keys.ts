/**
 * authorized_keys as a list of lines that render back byte for byte: a file the tool did not write
 * (hand edits, CRLF, other people's keys, garbage) must survive our edits untouched apart from the lines
 * we change. Operations are pure text -> text functions; writing the file is someone else's job.
 */
import { UsageError } from '../errors.js';
import { parseCidrList } from '../validate.js';
import { parseOptions } from './options.js';
import { decodeKey, KeyDecodeError, publicLineOf, splitKeyLine, truncate, type ParsedKey } from './parse.js';

export interface AkEntry {
  /** Raw option string as written, or ''. */
  options: string;
  key: ParsedKey;
  /** ISO date from our metadata comment directly above, if any. */
  addedAt?: string;
}

interface LineBase {
  /** Line content without its terminator. */
  raw: string;
  /** '\n', '\r\n', or '' for a last line without newline. */
  eol: string;
}

export type AkLine =
  | (LineBase & { kind: 'other' }) // blank lines and ordinary comments
  | (LineBase & { kind: 'meta'; addedAt: string })
  | (LineBase & { kind: 'key'; entry: AkEntry })
  | (LineBase & { kind: 'broken'; problem: string });

export interface AkFile {
  lines: AkLine[];
}

export interface KeyInfo {
  /** 1-based line number in the file. */
  line: number;
  fingerprint: string;
  type: string;
  bits: number;
  comment: string;
  options: string;
  /** Addresses from a from="…" option, if present. */
  from?: string[];
  addedAt?: string;
}

export interface AkProblem {
  line: number;
  text: string;
  problem: string;
}

const META_PREFIX = '# sftp-setup: added ';
const META_RE = /^# sftp-setup: added (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)[ \t]*$/;

/** The comment line recording when a key was added (seconds precision, UTC). */
export function metaLine(now: Date): string {
  return `${META_PREFIX}${now.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

function classify(raw: string, eol: string): AkLine {
  const meta = META_RE.exec(raw);
  if (meta) return { kind: 'meta', raw, eol, addedAt: meta[1]! };
  const body = raw.replace(/^[ \t]+/, '');
  // sshd skips blank lines and lines starting with '#'; so do we.
  if (body === '' || body === '\r' || body.startsWith('#')) return { kind: 'other', raw, eol };
  const parts = splitKeyLine(raw);
  if (!parts) return { kind: 'broken', raw, eol, problem: 'no key type found' };
  if (parts.options !== '' && !parseOptions(parts.options)) {
    return { kind: 'broken', raw, eol, problem: `malformed options ${truncate(parts.options, 30)}` };
  }
  try {
    const key = decodeKey(parts.type, parts.base64, parts.comment);
    return { kind: 'key', raw, eol, entry: { options: parts.options, key } };
  } catch (e) {
    if (e instanceof KeyDecodeError) return { kind: 'broken', raw, eol, problem: e.message };
    throw e;
  }
}

export function parseAuthorizedKeys(text: string): AkFile {
  const lines: AkLine[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) {
      lines.push(classify(text.slice(pos), ''));
      break;
    }
    let raw = text.slice(pos, nl);
    let eol = '\n';
    if (raw.endsWith('\r')) {
      raw = raw.slice(0, -1);
      eol = '\r\n';
    }
    lines.push(classify(raw, eol));
    pos = nl + 1;
  }
  // A metadata comment dates the key directly below it only.
  lines.forEach((l, i) => {
    const prev = lines[i - 1];
    if (l.kind === 'key' && prev?.kind === 'meta') l.entry.addedAt = prev.addedAt;
  });
  return { lines };
}

export function renderAuthorizedKeys(f: AkFile): string {
  return f.lines.map((l) => l.raw + l.eol).join('');
}

/** Options we write: always `restrict` (no pty, no forwarding), plus from= when addresses are given. */
export function optionsFor(from?: string[]): string {
  if (!from || from.length === 0) return 'restrict';
  // Re-validate: the list goes inside a quoted option value, where a stray quote would change its meaning.
  const list = parseCidrList(from.join(','), '--from');
  return `restrict,from="${list.join(',')}"`;
}

export function keyLine(key: ParsedKey, opts: { from?: string[] } = {}): string {
  return `${optionsFor(opts.from)} ${publicLineOf(key)}`;
}

function sameKey(a: ParsedKey, b: ParsedKey): boolean {
  return a.type === b.type && a.base64 === b.base64;
}

export interface EditResult {
  text: string;
  changed: boolean;
}

export interface AddResult extends EditResult {
  action: 'added' | 'updated' | 'unchanged';
}

/**
 * Add a key with our options. An existing copy of the same key gets its options replaced in place
 * (every copy: sshd tries each matching line, so a stale copy without from= would still let it in).
 */
export function addKey(text: string, key: ParsedKey, opts: { from?: string[]; now: Date }): AddResult {
  const f = parseAuthorizedKeys(text);
  const options = optionsFor(opts.from);
  const present = f.lines.filter((l): l is Extract<AkLine, { kind: 'key' }> => l.kind === 'key' && sameKey(l.entry.key, key));
  if (present.length > 0) {
    let changed = false;
    for (const l of present) {
      if (l.entry.options === options) continue;
      // Keep the line's own comment: it is how the owner recognises the key.
      l.raw = `${options} ${publicLineOf(l.entry.key)}`;
      l.entry.options = options;
      changed = true;
    }
    return { text: renderAuthorizedKeys(f), changed, action: changed ? 'updated' : 'unchanged' };
  }
  const last = f.lines[f.lines.length - 1];
  if (last && last.eol === '') last.eol = '\n';
  const addedAt = metaLine(opts.now).slice(META_PREFIX.length);
  f.lines.push({ kind: 'meta', raw: metaLine(opts.now), eol: '\n', addedAt });
  f.lines.push({ kind: 'key', raw: keyLine(key, opts), eol: '\n', entry: { options, key, addedAt } });
  return { text: renderAuthorizedKeys(f), changed: true, action: 'added' };
}

function describe(e: AkEntry): string {
  return e.key.comment ? `${e.key.fingerprint} (${e.key.comment})` : e.key.fingerprint;
}

export interface RemoveResult extends EditResult {
  removed: AkEntry[];
}

/**
 * Remove the key(s) matching a fingerprint (SHA256:…) or an exact comment, together with our metadata
 * comment directly above each. No match, or a comment shared by different keys, is a UsageError.
 */
export function removeKey(text: string, selector: string): RemoveResult {
  const f = parseAuthorizedKeys(text);
  const keys = f.lines.filter((l): l is Extract<AkLine, { kind: 'key' }> => l.kind === 'key');
  const byFingerprint = /^SHA256:/i.test(selector);
  const wanted = byFingerprint ? `SHA256:${selector.slice(7).replace(/=+$/, '')}` : selector;
  const hits = keys.filter((l) => (byFingerprint ? l.entry.key.fingerprint === wanted : l.entry.key.comment === wanted));
  if (hits.length === 0) {
    const existing = keys.map((l) => describe(l.entry));
    throw new UsageError(
      `no key matches ${JSON.stringify(truncate(selector, 60))}`,
      existing.length
        ? `give a fingerprint or exact comment of one of: ${existing.join(', ')}`
        : 'the authorized_keys file holds no keys',
    );
  }
  const distinct = new Set(hits.map((l) => l.entry.key.fingerprint));
  if (distinct.size > 1) {
    throw new UsageError(
      `comment ${JSON.stringify(truncate(selector, 60))} matches ${distinct.size} different keys`,
      `give the fingerprint instead: ${[...distinct].join(', ')}`,
    );
  }
  const drop = new Set<AkLine>();
  for (const l of hits) {
    drop.add(l);
    const i = f.lines.indexOf(l);
    const prev = f.lines[i - 1];
    if (prev?.kind === 'meta') drop.add(prev);
  }
  const lines = f.lines.filter((l) => !drop.has(l));
  return {
    text: renderAuthorizedKeys({ lines }),
    changed: true,
    removed: hits.map((l) => l.entry),
  };
}

/** Every readable key with its metadata, and the lines that look like keys but sshd could not use. */
export function listKeys(text: string): { entries: KeyInfo[]; problems: AkProblem[] } {
  const f = parseAuthorizedKeys(text);
  const entries: KeyInfo[] = [];
  const problems: AkProblem[] = [];
  f.lines.forEach((l, i) => {
    if (l.kind === 'broken') problems.push({ line: i + 1, text: truncate(l.raw, 60), problem: l.problem });
    if (l.kind !== 'key') return;
    const { key, options, addedAt } = l.entry;
    const fromOpt = parseOptions(options)?.find((o) => o.name.toLowerCase() === 'from');
    entries.push({
      line: i + 1,
      fingerprint: key.fingerprint,
      type: key.type,
      bits: key.bits,
      comment: key.comment,
      options,
      ...(fromOpt?.value !== undefined ? { from: fromOpt.value.split(',') } : {}),
      ...(addedAt !== undefined ? { addedAt } : {}),
    });
  });
  return { entries, problems };
}

import { UsageError } from '../errors.js';
import { checkRemoteOptions, DUMMY_PASSWORD, type RemoteServerOptions } from './settings-json.js';
import { legacyDirs } from './detect.js';

type QuoteStyle = 'double' | 'single' | 'bare';

interface Assignment {
  name: string;
  valueStart: number;
  valueEnd: number;
  /** The value bash would assign, or undefined when it needs expansion ($VAR, $(…), `…`, ~). */
  decoded: string | undefined;
  style: QuoteStyle;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Thrown inside the scanner at an unterminated quote; turned into a UsageError naming the file. */
class Unterminated {
  constructor(readonly at: number) {}
}
const ASSIGN_AT = /[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=/y;
const WORD_END = new Set([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')']);

/** Skip a `'…'` at i (on the quote); returns index after it, or -1 when unterminated. */
function endOfSingle(text: string, i: number): number {
  const j = text.indexOf("'", i + 1);
  return j === -1 ? -1 : j + 1;
}

/** Skip a `"…"` at i; returns index after it, or -1. */
function endOfDouble(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return -1;
}

/** Skip `$(…)`, `${…}` or `$((…))` at i (on the `$`), roughly balancing brackets; -1 when unterminated. */
function endOfDollar(text: string, i: number): number {
  const open = text[i + 1]!;
  const close = open === '(' ? ')' : '}';
  let depth = 0;
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') j++;
    else if (c === "'" && open === '(') {
      const e = endOfSingle(text, j);
      if (e === -1) return -1;
      j = e - 1;
    } else if (c === '"') {
      const e = endOfDouble(text, j);
      if (e === -1) return -1;
      j = e - 1;
    } else if (c === open) depth++;
    else if (c === close && --depth === 0) return j + 1;
  }
  return -1;
}

/** Parse the shell word of an assignment value starting at i; undefined when it is not a plain assignment. */
function parseValue(text: string, i: number): { end: number; decoded: string | undefined } | undefined {
  const fail = (): never => {
    throw new Unterminated(i);
  };
  // `NAME=(…)` is an array assignment: not ours to rewrite.
  if (text[i] === '(') return undefined;
  let out = '';
  let ok = true;
  const start = i;
  while (i < text.length && !WORD_END.has(text[i]!) && !(text[i] === '\r' && (text[i + 1] === '\n' || i + 1 === text.length))) {
    const c = text[i]!;
    if (c === "'") {
      const e = endOfSingle(text, i);
      if (e === -1) fail();
      out += text.slice(i + 1, e - 1);
      i = e;
    } else if (c === '"') {
      const e = endOfDouble(text, i);
      if (e === -1) fail();
      for (let j = i + 1; j < e - 1; j++) {
        const d = text[j]!;
        if (d === '\\' && '$`"\\\n'.includes(text[j + 1]!)) {
          if (text[j + 1] !== '\n') out += text[j + 1];
          j++;
        } else if (d === '$' || d === '`') ok = false;
        else out += d;
      }
      i = e;
    } else if (c === '\\') {
      // A lone backslash at the very end is kept literally by bash.
      out += i + 1 < text.length ? (text[i + 1] === '\n' ? '' : text[i + 1]) : '\\';
      i += 2;
    } else if (c === '$' && (text[i + 1] === '(' || text[i + 1] === '{')) {
      const e = endOfDollar(text, i);
      if (e === -1) fail();
      ok = false;
      i = e;
    } else if (c === '$' && text[i + 1] === "'") {
      // ANSI-C quoting: not decoded here, only skipped.
      let j = i + 2;
      while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) fail();
      ok = false;
      i = j + 1;
    } else if (c === '`') {
      const e = text.indexOf('`', i + 1);
      if (e === -1) fail();
      ok = false;
      i = e + 1;
    } else {
      if (c === '$' || (c === '~' && i === start)) ok = false;
      out += c;
      i++;
    }
  }
  return { end: i, decoded: ok ? out : undefined };
}

/** Index of the start of the next logical line, skipping quotes that span lines and comments. */
function skipRestOfLine(text: string, i: number): number {
  let wordStart = true;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') return i + 1;
    if (c === '#' && wordStart) {
      const nl = text.indexOf('\n', i);
      return nl === -1 ? text.length : nl + 1;
    }
    let e = -1;
    if (c === "'") e = endOfSingle(text, i);
    else if (c === '"') e = endOfDouble(text, i);
    else if (c === '\\') e = Math.min(i + 2, text.length);
    else {
      wordStart = c === ' ' || c === '\t' || c === ';' || c === '&' || c === '|' || c === '(';
      i++;
      continue;
    }
    if (e === -1) throw new Unterminated(i);
    wordStart = false;
    i = e;
  }
  return text.length;
}

function styleOf(raw: string): QuoteStyle {
  if (/^"(?:[^"\\$`]|\\[\s\S])*"$/.test(raw)) return 'double';
  if (/^'[^']*'$/.test(raw)) return 'single';
  if (!/["'\\$`]/.test(raw)) return 'bare';
  return 'double';
}

/**
 * Find `NAME=value` assignments at the start of logical lines (optionally `export`ed).
 * An unterminated quote makes bash fail to source the file (and would swallow
 * anything appended), so it is reported instead of guessed around.
 */
function scanAssignments(text: string, fileLabel: string): Assignment[] {
  try {
    return scan(text);
  } catch (err) {
    if (!(err instanceof Unterminated)) throw err;
    const line = text.slice(0, err.at).split('\n').length;
    throw new UsageError(
      `${fileLabel} has an unterminated quote at line ${line}: bash cannot source it; nothing was changed`,
      `restore ${fileLabel} from its backup copy, or close the quote on line ${line}`,
    );
  }
}

function scan(text: string): Assignment[] {
  const found: Assignment[] = [];
  let i = 0;
  while (i < text.length) {
    ASSIGN_AT.lastIndex = i;
    const m = ASSIGN_AT.exec(text);
    if (m) {
      const valueStart = i + m[0].length;
      const v = parseValue(text, valueStart);
      if (v) {
        found.push({ name: m[1]!, valueStart, valueEnd: v.end, decoded: v.decoded, style: styleOf(text.slice(valueStart, v.end)) });
        i = skipRestOfLine(text, v.end);
        continue;
      }
    }
    i = skipRestOfLine(text, i);
  }
  return found;
}

/** Bash double-quoted form: only \ " $ ` are special there (history expansion is off in sourced files). */
export function bashDoubleQuote(value: string): string {
  return `"${value.replace(/[\\"$`]/g, '\\$&')}"`;
}

function render(value: string, style: QuoteStyle): string {
  if (style === 'single' && !value.includes("'")) return `'${value}'`;
  if (style === 'bare' && /^[A-Za-z0-9_./:@%+,=-]+$/.test(value)) return value;
  return bashDoubleQuote(value);
}

function checkVars(vars: Record<string, string>, fileLabel: string): void {
  for (const [name, value] of Object.entries(vars)) {
    if (!NAME.test(name)) throw new UsageError(`"${name}" is not a shell variable name (for ${fileLabel})`, 'use letters, digits and _');
    if (value.includes('\0')) throw new UsageError(`value for ${name} in ${fileLabel} contains a NUL byte`, 'remove it');
  }
}

/**
 * Set `NAME="value"` assignments in a bash settings file (legacy Allsky's
 * config/ftp-settings.sh). Each assignment of NAME has only its value rewritten,
 * in its own quoting style when that can hold the value; everything else
 * (comments, other lines, trailing comments, line order) stays byte for byte.
 * Missing variables are appended at the end.
 */
export function updateShellVars(
  text: string,
  vars: Record<string, string>,
  fileLabel: string,
): { text: string; changed: boolean } {
  checkVars(vars, fileLabel);
  const assigns = scanAssignments(text, fileLabel);
  const edits: { start: number; end: number; insert: string }[] = [];
  const missing: string[] = [];
  for (const [name, value] of Object.entries(vars)) {
    const hits = assigns.filter((a) => a.name === name);
    if (hits.length === 0) missing.push(`${name}=${bashDoubleQuote(value)}`);
    // Every copy is rewritten: bash keeps the last one, and a stale earlier copy only confuses readers.
    for (const a of hits) {
      if (a.decoded !== value) edits.push({ start: a.valueStart, end: a.valueEnd, insert: render(value, a.style) });
    }
  }
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.insert + out.slice(e.end);
  if (missing.length > 0) {
    const eol = (out.match(/\r\n/g)?.length ?? 0) > (out.match(/(?<!\r)\n/g)?.length ?? 0) ? '\r\n' : '\n';
    let sep = out === '' || out.endsWith('\n') ? '' : eol;
    // A last line ending in a backslash continues onto the next: end it with an empty line first.
    if (/(^|[^\\])(\\\\)*\\\r?\n?$/.test(out)) sep += eol;
    out += sep + missing.map((l) => l + eol).join('');
  }
  return { text: out, changed: out !== text };
}

/**
 * Variables assigned at the start of lines, last one winning as under `source`.
 * Values needing expansion ($VAR, $(…)) are given as written.
 */
export function readShellVars(text: string, fileLabel = 'shell settings file'): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const a of scanAssignments(text, fileLabel)) vars[a.name] = a.decoded ?? text.slice(a.valueStart, a.valueEnd);
  return vars;
}

/**
 * Legacy (v0.8.1 … v2023.05.01_xx) ftp-settings.sh values for an SFTP collector.
 * `existingText` (the current file) keeps a non-empty REMOTE_PASSWORD.
 * Destination names are fixed like the current generation's, so the collector
 * always holds the latest keogram/startrails/timelapse under one name.
 */
export function legacyChanges(opts: RemoteServerOptions, existingText?: string): Record<string, string> {
  const port = checkRemoteOptions(opts);
  // Legacy upload.sh does `echo ${LFTP_COMMANDS}` unquoted: glob characters would be expanded on the camera.
  if (/[*?[]/.test(opts.lftpCommands)) {
    throw new UsageError('lftp commands contain * ? or [, which legacy Allsky would glob-expand', 'remove them');
  }
  const old = existingText !== undefined ? readShellVars(existingText, 'config/ftp-settings.sh').REMOTE_PASSWORD : undefined;
  const dirs = legacyDirs(opts.imageDir);
  return {
    PROTOCOL: 'sftp',
    REMOTE_HOST: opts.host,
    REMOTE_PORT: port,
    REMOTE_USER: opts.user,
    REMOTE_PASSWORD: old !== undefined && old !== '' ? old : DUMMY_PASSWORD,
    LFTP_COMMANDS: opts.lftpCommands,
    IMAGE_DIR: dirs.image,
    VIDEOS_DIR: dirs.videos,
    KEOGRAM_DIR: dirs.keograms,
    STARTRAILS_DIR: dirs.startrails,
    VIDEOS_DESTINATION_NAME: 'allsky.mp4',
    KEOGRAM_DESTINATION_NAME: 'keogram.jpg',
    STARTRAILS_DESTINATION_NAME: 'startrails.jpg',
  };
}

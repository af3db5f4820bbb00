/**
 * Tokenizer for sshd_config text that follows OpenSSH's own rules (servconf.c
 * process_server_config_line_depth, misc.c strdelim and argv_split), so that what we
 * think a line says is what sshd thinks it says. Pure and total: never throws.
 */

export interface Line {
  file: string;
  /** 1-based, like sshd's error messages. */
  lineNo: number;
  /** The exact bytes of the line including its terminator, so lines can be joined back. */
  raw: string;
  /** Lowercased keyword; absent for blank and comment lines (and lines sshd skips). */
  keyword?: string;
  /** Arguments after quote removal and escape processing; a `#` starting a token ends them. */
  args: string[];
  /** The argument text exactly as sshd sees it (ForceCommand takes it verbatim, comments and all). */
  value?: string;
  /** Why sshd would reject this line (it is still returned, never thrown). */
  error?: string;
}

// sshd's WHITESPACE plus the form feed it tolerates at the end of a line.
const WS = ' \t\r\n';

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.includes(s[i]!)) i++;
  return i;
}

/**
 * misc.c strdelim(): next token split on whitespace, a double quote, or one '='.
 * Returns null when a quoted token has no closing quote (sshd then ignores the line).
 * `rest` is null when the string ran out (sshd's *s == NULL).
 */
function strdelim(s: string): { tok: string; rest: string | null } | null {
  let j = 0;
  while (j < s.length && !(WS.includes(s[j]!) || s[j] === '"' || s[j] === '=')) j++;
  if (j === s.length) return { tok: s, rest: null };
  if (s[j] === '"') {
    const k = s.indexOf('"', j + 1);
    if (k < 0) return null;
    return { tok: s.slice(0, j) + s.slice(j + 1, k), rest: s.slice(skipWs(s, k + 1)) };
  }
  const sawEquals = s[j] === '=';
  let p = skipWs(s, j + 1);
  // Only one '=' may act as a separator ("Key = value" or "Key=value", not "Key==value").
  if (!sawEquals && s[p] === '=') p = skipWs(s, p + 1);
  return { tok: s.slice(0, j), rest: s.slice(p) };
}

/** misc.c argv_split() with terminate_on_comment: quotes, backslash escapes, '#' at a token start. */
export function splitArgs(s: string): { args: string[]; error?: string } {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let quote = '';
    let arg = '';
    for (; i < s.length; i++) {
      const ch = s[i]!;
      const next = s[i + 1];
      if (ch === '\\') {
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          i++;
          arg += next;
        } else {
          arg += ch; // unrecognised escape is kept literally
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') return { args, error: 'invalid quotes' };
    args.push(arg);
  }
  return { args };
}

/** Split into lines keeping terminators; a final line without '\n' is kept as is. */
export function splitRawLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Parse one line's content (terminator included or not) the way sshd does. */
export function parseLineContent(content: string): Pick<Line, 'keyword' | 'args' | 'value' | 'error'> {
  // load_server_config strips leading " \t\r"; the line parser then strips trailing whitespace
  // and \f but never the first character.
  let s = content.replace(/\n$/, '').replace(/^[ \t\r]+/, '');
  if (s === '') return { args: [] };
  s = s[0]! + s.slice(1).replace(/[ \t\r\n\f]+$/, '');
  let d = strdelim(s);
  if (d === null) return { args: [] };
  // A line starting with a separator ('=' or a quote) yields an empty first token: take the next one.
  if (d.tok === '' && d.rest !== null) {
    s = d.rest;
    d = strdelim(s);
    if (d === null) return { args: [] };
  }
  if (d.tok === '' || d.tok.startsWith('#')) return { args: [] };
  const keyword = d.tok.toLowerCase();
  if (d.rest === null || d.rest === '') {
    return { keyword, args: [], error: `no argument after keyword "${d.tok}"` };
  }
  const { args, error } = splitArgs(d.rest);
  return error ? { keyword, args, value: d.rest, error } : { keyword, args, value: d.rest };
}

export function parseConfig(text: string, file: string): Line[] {
  return splitRawLines(text).map((raw, idx) => ({ file, lineNo: idx + 1, raw, ...parseLineContent(raw) }));
}

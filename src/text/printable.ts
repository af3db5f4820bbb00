/**
 * Escaping for the terminal. File names, key comments, log lines and settings values come from places
 * others write (the upload tree, a camera's key, a remote host): printed raw, an ESC or OSC sequence could
 * clear the screen or retitle the terminal, a newline or CR could forge a line of our output, and a bidi
 * control could reorder what is shown. Pure.
 */

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// C0 controls, DEL, C1 controls (U+0080–U+009F), the Arabic letter mark, LRM/RLM, the line and paragraph
// separators, the bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.codePointAt(0)!;
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * One item, one line: every control character (line breaks and tabs included) becomes a visible escape
 * (`\n`, `\r`, `\t`, `\x1b`, `\u{9b}`, `\u{202e}`). Everything else, backslashes included, is left as is.
 */
export function printable(value: unknown): string {
  return String(value).replace(CONTROL, escapeOne);
}

/**
 * Text whose line breaks are ours (a diff, a stack): each line is escaped as by printable(), and lines stay
 * joined by "\n". Tabs stay too: config files and JSON are indented with them, and a tab can neither break
 * a line nor start a terminal sequence. A lone CR or any other control inside a line is still escaped.
 */
export function printableLines(value: unknown): string {
  return String(value)
    .split('\n')
    .map((line) => line.split('\t').map(printable).join('\t'))
    .join('\n');
}

/**
 * A path or name for a report: as is when plain, otherwise quoted and escaped (a name may hold line breaks,
 * ESC, C1 or bidi controls): JSON's quoting, then printable() for what JSON leaves raw (U+0080–U+009F, bidi).
 */
export function shownPath(p: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(p) ? p : printable(JSON.stringify(p));
}

/**
 * Fitting output to the terminal: a long line is broken at spaces, never inside a word, and the lines it
 * continues on are indented under its text. Colour codes (our own; data is escaped before it gets here)
 * take no columns. Pure.
 */

// SGR sequences, as text/color.ts writes them.
const SGR = /\x1b\[[0-9;]*m/g;

/** Columns a string takes on the terminal, colour codes left out. */
export function visibleLength(s: string): number {
  return [...s.replace(SGR, '')].length;
}

/**
 * Break `line` at spaces so that no line is longer than `width` columns (a single word longer than that
 * stays whole); continuation lines start with `indent` spaces. A width of 0 or less means no wrapping.
 */
export function wrapLine(line: string, width: number, indent: number): string {
  if (width <= 0 || visibleLength(line) <= width) return line;
  const lead = /^ */.exec(line)![0];
  const words = line.slice(lead.length).split(' ');
  const pad = ' '.repeat(Math.min(indent, Math.max(0, width - 20)));
  const out: string[] = [];
  let cur = lead;
  let curLen = lead.length;
  let fresh = true; // nothing but the indentation on the current line yet
  for (const word of words) {
    const len = visibleLength(word);
    if (!fresh && curLen + 1 + len > width) {
      out.push(cur.replace(/ +$/, '')); // the spaces a break falls on stay out of the line
      cur = pad + word;
      curLen = pad.length + len;
      continue;
    }
    cur += (fresh ? '' : ' ') + word;
    curLen += (fresh ? 0 : 1) + len;
    fresh = false;
  }
  out.push(cur);
  return out.join('\n');
}

/** wrapLine for each line of a text. */
export function wrapText(text: string, width: number, indent: number): string {
  return text.split('\n').map((l) => wrapLine(l, width, indent)).join('\n');
}

/** The width to wrap at for an output stream: the terminal's, or 0 (no wrapping) when it is not a terminal. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }): number {
  return stream.isTTY ? stream.columns || 80 : 0;
}

/** A line split off a text file: content without its terminator, and the terminator ('' on a last unterminated line). */
export interface Line {
  content: string;
  eol: '' | '\n' | '\r\n';
}

/** Split keeping each line's own terminator so untouched lines can be written back byte for byte. */
export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      lines.push({ content: text.slice(start), eol: '' });
      break;
    }
    if (nl > start && text[nl - 1] === '\r') lines.push({ content: text.slice(start, nl - 1), eol: '\r\n' });
    else lines.push({ content: text.slice(start, nl), eol: '\n' });
    start = nl + 1;
  }
  return lines;
}

export function joinLines(lines: Line[]): string {
  return lines.map((l) => l.content + l.eol).join('');
}

/** The terminator new lines should get: CRLF only when the file mostly uses it. */
export function dominantEol(lines: Line[]): '\n' | '\r\n' {
  let crlf = 0;
  let lf = 0;
  for (const l of lines) {
    if (l.eol === '\r\n') crlf++;
    else if (l.eol === '\n') lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}

/** Append lines, first terminating a last line that had no newline. */
export function appendLines(lines: Line[], contents: string[]): Line[] {
  const out = lines.slice();
  const eol = dominantEol(lines);
  const last = out[out.length - 1];
  if (last && last.eol === '') out[out.length - 1] = { content: last.content, eol };
  for (const c of contents) out.push({ content: c, eol });
  return out;
}

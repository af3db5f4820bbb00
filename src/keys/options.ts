/**
 * authorized_keys options: the part of a line before the key type, e.g. `restrict,from="a,b",command="x \"y\""`.
 * Values are double-quoted; a quote inside is written `\"`. Commas inside quotes do not split options.
 */

export interface KeyOption {
  name: string;
  value?: string;
}

/**
 * Length of the options prefix at the start of `s` (it ends at the first space or tab outside quotes),
 * or -1 when a quote is never closed.
 */
export function optionsPrefixLength(s: string): number {
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inQuote && c === '\\' && s[i + 1] === '"') {
      i++;
    } else if (c === '"') {
      inQuote = !inQuote;
    } else if (!inQuote && (c === ' ' || c === '\t')) {
      return i;
    }
  }
  return inQuote ? -1 : s.length;
}

/** Split an option string into names and unescaped values; undefined when sshd would reject its syntax. */
export function parseOptions(s: string): KeyOption[] | undefined {
  const out: KeyOption[] = [];
  let i = 0;
  while (i < s.length) {
    const nameMatch = /^[A-Za-z0-9-]+/.exec(s.slice(i));
    if (!nameMatch) return undefined;
    const name = nameMatch[0];
    i += name.length;
    let value: string | undefined;
    if (s[i] === '=') {
      if (s[i + 1] !== '"') return undefined;
      i += 2;
      value = '';
      for (;;) {
        if (i >= s.length) return undefined;
        if (s[i] === '\\' && s[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (s[i] === '"') {
          i++;
          break;
        } else {
          value += s[i];
          i++;
        }
      }
    }
    out.push(value === undefined ? { name } : { name, value });
    if (i === s.length) break;
    if (s[i] !== ',') return undefined;
    i++;
    if (i === s.length) return undefined; // trailing comma
  }
  return out;
}

/** Render options back to authorized_keys syntax (inverse of parseOptions). */
export function renderOptions(opts: KeyOption[]): string {
  return opts
    .map((o) => (o.value === undefined ? o.name : `${o.name}="${o.value.replace(/"/g, '\\"')}"`))
    .join(',');
}

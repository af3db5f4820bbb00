/**
 * Setting variables in a .env file (KEY=value lines) while keeping every other line byte for byte.
 */
function quoteIfNeeded(v: string): string {
  return /^[A-Za-z0-9_./:@%+-]*$/.test(v) ? v : `"${v.replace(/["\\$`]/g, '\\$&')}"`;
}

export function setEnvVars(text: string, vars: Record<string, string>): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text === '' ? [] : text.split(/(?<=\n)/);
  const seen = new Set<string>();
  const out = lines.map((line) => {
    const m = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (!m || !(m[2]! in vars)) return line;
    const name = m[2]!;
    if (seen.has(name)) return line;
    seen.add(name);
    const end = line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '';
    const wanted = `${m[1]}${name}=${quoteIfNeeded(vars[name]!)}${end}`;
    // Keep the line as it is when it already says the same (quoted or not).
    return parseValue(line) === vars[name] ? line : wanted;
  });
  const missing = Object.keys(vars).filter((k) => !seen.has(k));
  if (missing.length) {
    if (out.length && !out[out.length - 1]!.endsWith('\n')) out[out.length - 1] += eol;
    for (const k of missing) out.push(`${k}=${quoteIfNeeded(vars[k]!)}${eol}`);
  }
  return out.join('');
}

function parseValue(line: string): string {
  const raw = line.replace(/\r?\n$/, '').replace(/^[^=]*=/, '').trim();
  const q = /^"(.*)"$/.exec(raw) ?? /^'(.*)'$/.exec(raw);
  return q ? q[1]!.replace(/\\(["\\$`])/g, '$1') : raw.replace(/\s+#.*$/, '');
}

/** The value of a variable in a .env text (the first assignment, quotes removed), or undefined. */
export function readEnvVar(text: string, name: string): string | undefined {
  for (const line of text.split(/(?<=\n)/)) {
    const m = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (m && m[2] === name) return parseValue(line);
  }
  return undefined;
}

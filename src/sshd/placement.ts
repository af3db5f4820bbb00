/**
 * Where our Match block goes: a drop-in file when the main config includes one early enough and
 * sshd is new enough, else a marked block at the end of the main file.
 */
import { UsageError } from '../errors.js';
import { hasGlob, resolveIncludePath, type Directive } from './includes.js';
import { parseConfig, splitRawLines } from './parse.js';

export interface SshdVersion {
  major: number;
  minor: number;
}

export type Placement =
  | { kind: 'dropin'; path: string; reason: string }
  | { kind: 'main'; reason: string };

export function dropinFileName(user: string): string {
  return `50-sftp-setup-${user}.conf`;
}

/**
 * glob(3)/fnmatch with FNM_PATHNAME|FNM_PERIOD semantics: `*`, `?` and `[...]` never match '/', nor
 * a leading '.' of a path component.
 */
export function globMatch(pattern: string, path: string): boolean {
  const pParts = pattern.split('/');
  const sParts = path.split('/');
  if (pParts.length !== sParts.length) return false;
  return pParts.every((p, i) => segmentMatch(p, sParts[i]!));
}

function segmentMatch(p: string, s: string): boolean {
  if (s.startsWith('.') && !p.startsWith('.')) return false;
  const rec = (pi: number, si: number): boolean => {
    while (pi < p.length) {
      const c = p[pi]!;
      if (c === '*') {
        for (let k = si; k <= s.length; k++) if (rec(pi + 1, k)) return true;
        return false;
      }
      if (si >= s.length) return false;
      if (c === '?') {
        pi++;
        si++;
        continue;
      }
      if (c === '[') {
        const cls = parseClass(p, pi);
        if (cls) {
          if (!cls.test(s[si]!)) return false;
          pi = cls.end;
          si++;
          continue;
        }
      }
      if (c === '\\' && pi + 1 < p.length) {
        if (p[pi + 1] !== s[si]) return false;
        pi += 2;
        si++;
        continue;
      }
      if (c !== s[si]) return false;
      pi++;
      si++;
    }
    return si === s.length;
  };
  return rec(0, 0);
}

function parseClass(p: string, start: number): { test(ch: string): boolean; end: number } | null {
  let i = start + 1;
  const negate = p[i] === '!' || p[i] === '^';
  if (negate) i++;
  const ranges: Array<[string, string]> = [];
  let first = true;
  while (i < p.length && (p[i] !== ']' || first)) {
    first = false;
    const lo = p[i]!;
    if (p[i + 1] === '-' && i + 2 < p.length && p[i + 2] !== ']') {
      ranges.push([lo, p[i + 2]!]);
      i += 3;
    } else {
      ranges.push([lo, lo]);
      i++;
    }
  }
  if (i >= p.length) return null; // no closing ']': the '[' is literal
  return {
    test: (ch) => ch !== '/' && ranges.some(([a, b]) => ch >= a && ch <= b) !== negate,
    end: i + 1,
  };
}

/**
 * Drop-in when: sshd >= 8.4 (drop-in Match blocks never applied in 8.2-8.3), and the main file
 * has a global Include (before any Match block) whose pattern would pick up
 * <dir>/50-sftp-setup-<user>.conf. Otherwise the main file.
 */
export function planPlacement(opts: {
  mainText: string;
  mainPath: string;
  directives?: Directive[];
  version: SshdVersion;
  user: string;
}): Placement {
  const { mainPath, version, user } = opts;
  if (version.major < 8 || (version.major === 8 && version.minor < 4)) {
    return { kind: 'main', reason: `OpenSSH ${version.major}.${version.minor} ignores Match blocks in included files (fixed in 8.4)` };
  }
  const found = globalDropin(opts, dropinFileName(user));
  if (found) return { kind: 'dropin', path: found.path, reason: found.reason };
  return { kind: 'main', reason: `${mainPath} has no Include (before its first Match) that would read a drop-in file` };
}

/**
 * Where a drop-in named `name` is read in global context: <dir>/<name> for the first Include of the main
 * file, before any Match block, whose pattern (a plain directory, a wildcard in the file name) picks it up.
 */
export function globalDropin(
  opts: { mainText: string; mainPath: string; directives?: Directive[] },
  name: string,
): { path: string; reason: string } | null {
  const { mainPath } = opts;
  // Only the main file's own lines matter; directives (when given) say the same but may be filtered.
  const mainLines = opts.directives
    ? opts.directives.filter((d) => d.file === mainPath && d.depth === 0)
    : parseConfig(opts.mainText, mainPath);
  for (const line of mainLines) {
    if (line.keyword === 'match') break; // an Include after a Match is read inside that Match
    if (line.keyword !== 'include') continue;
    for (const arg of line.args) {
      const pattern = resolveIncludePath(arg);
      const slash = pattern.lastIndexOf('/');
      const dir = pattern.slice(0, slash);
      if (slash <= 0 || hasGlob(dir) || !hasGlob(pattern.slice(slash + 1))) continue;
      const candidate = `${dir}/${name}`;
      if (globMatch(pattern, candidate)) {
        return { path: candidate, reason: `${mainPath} line ${line.lineNo} includes ${arg} before any Match block` };
      }
    }
  }
  return null;
}

const NEWLINE_NOTE = ' (a newline was added before this line)';

function markers(user: string): { begin: string; end: string } {
  return { begin: `# BEGIN sftp-setup ${user}`, end: `# END sftp-setup ${user}` };
}

/** Line numbers (1-based, inclusive) of our marked block in the text, or null. */
export function findMarkedBlock(text: string, user: string): { start: number; end: number; addedNewline: boolean } | null {
  const { begin, end } = markers(user);
  const lines = splitRawLines(text).map((l) => l.replace(/\r?\n$/, ''));
  const s = lines.findIndex((l) => l === begin || l === begin + NEWLINE_NOTE);
  if (s < 0) {
    if (lines.some((l) => l === end)) throw brokenMarkers(user);
    return null;
  }
  const e = lines.findIndex((l, i) => i > s && l === end);
  if (e < 0) throw brokenMarkers(user);
  return { start: s + 1, end: e + 1, addedNewline: lines[s] !== begin };
}

function brokenMarkers(user: string): UsageError {
  const { begin, end } = markers(user);
  return new UsageError(
    `the sshd config has only one of the "${begin}" / "${end}" lines`,
    'remove the partial sftp-setup block by hand, then run again',
  );
}

/**
 * Put our block at the end of the main file between markers, closed by `Match all` so anything
 * appended later is not swallowed by our Match. A trailing unterminated Match block in the file is
 * harmless: our block opens with its own Match, which ends that one. An existing marked block is
 * replaced in place.
 */
export function upsertMarkedBlock(mainText: string, user: string, block: string): { text: string; changed: boolean } {
  const { begin, end } = markers(user);
  const body = block.endsWith('\n') ? block : `${block}\n`;
  const found = findMarkedBlock(mainText, user);
  const raw = splitRawLines(mainText);
  if (found) {
    const head = raw.slice(0, found.start - 1).join('');
    const tail = raw.slice(found.end).join('');
    const endLine = raw[found.end - 1]!;
    const nl = endLine.endsWith('\n') ? (endLine.endsWith('\r\n') ? '\r\n' : '\n') : '';
    const section = `${found.addedNewline ? begin + NEWLINE_NOTE : begin}\n${body}Match all\n${end}${nl}`;
    const text = head + section + tail;
    return { text, changed: text !== mainText };
  }
  const needsNewline = mainText !== '' && !mainText.endsWith('\n');
  const text = `${mainText}${needsNewline ? '\n' : ''}${needsNewline ? begin + NEWLINE_NOTE : begin}\n${body}Match all\n${end}\n`;
  return { text, changed: true };
}

/** Remove our marked block, giving back the text exactly as it was before upsertMarkedBlock. */
export function removeMarkedBlock(mainText: string, user: string): { text: string; changed: boolean } {
  const found = findMarkedBlock(mainText, user);
  if (!found) return { text: mainText, changed: false };
  const raw = splitRawLines(mainText);
  let head = raw.slice(0, found.start - 1).join('');
  if (found.addedNewline && head.endsWith('\n')) head = head.slice(0, -1);
  return { text: head + raw.slice(found.end).join(''), changed: true };
}

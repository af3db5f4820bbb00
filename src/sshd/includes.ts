/**
 * Reads sshd_config plus everything it Includes, in sshd's reading order, and records the
 * Match context of every directive. File access is injected so this stays pure.
 *
 * Rules taken from servconf.c:
 * - Include takes several arguments; each is glob(3)-expanded; relative ones are taken from /etc/ssh.
 * - A pattern that matches nothing is skipped silently by sshd, even a plain file name
 *   (glob returns GLOB_NOMATCH). We report that as a problem instead of failing.
 * - An included file starts in the Match context of its Include line, and whatever Match state it
 *   ends in is discarded when it returns (`*activep = oactive`).
 * - Inside an included file, a Match is ANDed with the Include's context: when the outer Match is
 *   inactive, sshd parses the file with SSHCFG_NEVERMATCH, so nothing in it can apply.
 * - Nesting deeper than 16 is fatal ("Too many recursive configuration includes").
 */
import { parseConfig, type Line } from './parse.js';

export const SSH_DIR = '/etc/ssh';
export const MAX_INCLUDE_DEPTH = 16;

export interface MatchRef {
  /** Arguments of the Match line, e.g. ['User', 'alice'] or ['all']. */
  criteria: string[];
  file: string;
  lineNo: number;
  /** The Match around the Include that pulled this file in; both must apply. */
  outer?: MatchRef;
}

export interface Directive extends Line {
  keyword: string;
  /** Absent for global directives. `Match all` is kept (criteria ['all']): see below. */
  match?: MatchRef;
  /** 0 for the main file. */
  depth: number;
  /** Position in reading order (0-based), the order in which "first value wins". */
  index: number;
}

export interface ConfigIO {
  /** File contents, or null when missing or unreadable. */
  read(path: string): string | null;
  /** Existing paths matching the pattern, sorted like glob(3); [] when none. */
  glob(pattern: string): string[];
}

export interface ConfigProblem {
  file: string;
  lineNo: number;
  message: string;
  /** 'error': sshd refuses the config; 'warning': sshd accepts it but it is probably not meant. */
  severity: 'error' | 'warning';
}

/** A config sshd itself would refuse to load (main file missing, include loop, unreadable file). */
export class ConfigLoadError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly lineNo?: number,
  ) {
    super(message);
    this.name = 'ConfigLoadError';
  }
}

const GLOB_CHARS = /[*?[]/;

export function hasGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

/** Resolve an Include argument the way sshd does: relative to /etc/ssh unless it starts with / or ~. */
export function resolveIncludePath(arg: string): string {
  return arg.startsWith('/') || arg.startsWith('~') ? arg : `${SSH_DIR}/${arg}`;
}

export interface LoadResult {
  directives: Directive[];
  problems: ConfigProblem[];
  /** Every file read, in order, with its parsed lines (blank and comment lines too). */
  files: Array<{ path: string; lines: Line[] }>;
}

/**
 * Like loadConfig, but also returns non-fatal problems (missing include files, lines sshd would
 * reject) and the parsed files. Throws ConfigLoadError only where sshd would refuse to start.
 */
export function loadConfigDetailed(mainPath: string, io: ConfigIO): LoadResult {
  const out: LoadResult = { directives: [], problems: [], files: [] };

  const loadFile = (path: string, depth: number, ctx: MatchRef | undefined, from?: Line): void => {
    if (depth > MAX_INCLUDE_DEPTH) {
      throw new ConfigLoadError(
        `too many nested Include levels (more than ${MAX_INCLUDE_DEPTH}) at ${path}; is there an Include loop?`,
        from?.file ?? path,
        from?.lineNo,
      );
    }
    const text = io.read(path);
    if (text === null) {
      throw new ConfigLoadError(
        from ? `cannot read ${path} (included from ${from.file} line ${from.lineNo})` : `cannot read ${path}`,
        path,
      );
    }
    const lines = parseConfig(text, path);
    out.files.push({ path, lines });
    // The context at the start of the file; a Match inside replaces `current` but keeps `outer`.
    const outer = ctx;
    let current = ctx;
    for (const line of lines) {
      if (line.error) {
        out.problems.push({ file: path, lineNo: line.lineNo, message: line.error, severity: 'error' });
      }
      if (line.keyword === undefined) continue;
      const d: Directive = { ...line, keyword: line.keyword, depth, index: out.directives.length };
      if (line.keyword === 'match') {
        current = { criteria: line.args, file: path, lineNo: line.lineNo, ...(outer ? { outer } : {}) };
      }
      // The Match line itself belongs to the new block; that is what a reader expects.
      if (current) d.match = current;
      out.directives.push(d);
      if (line.keyword === 'include') {
        if (line.args.length === 0) {
          out.problems.push({ file: path, lineNo: line.lineNo, message: 'Include without a file name', severity: 'error' });
        }
        for (const arg of line.args) {
          const pattern = resolveIncludePath(arg);
          const paths = io.glob(pattern);
          if (paths.length === 0) {
            out.problems.push({
              file: path,
              lineNo: line.lineNo,
              message: hasGlob(pattern)
                ? `Include ${arg} matches no file (fine for an empty drop-in directory)`
                : `Include ${arg}: ${pattern} does not exist; sshd skips it silently`,
              severity: 'warning',
            });
          }
          for (const p of paths) loadFile(p, depth + 1, current, line);
        }
      }
    }
  };

  loadFile(mainPath, 0, undefined);
  return out;
}

/**
 * All directives of the main config and its includes, in reading order, each with its Match
 * context. `Match all` is recorded as a match with criteria ['all'] rather than as global: sshd
 * re-applies what follows it in the per-connection Match pass, where it beats later Match blocks
 * (checked with sshd -T on OpenSSH 9.2).
 */
export function loadConfig(mainPath: string, io: ConfigIO): Directive[] {
  return loadConfigDetailed(mainPath, io).directives;
}

/** The problems of loadConfigDetailed that mention a missing file, as one-line messages. */
export function missingIncludes(result: LoadResult): ConfigProblem[] {
  return result.problems.filter((p) => p.message.includes('does not exist'));
}

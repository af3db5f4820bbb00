import { UsageError } from '../errors.js';
import { appendLines, dominantEol, joinLines, splitLines, type Line } from './lines.js';

export const MANAGED_MARKER = '# managed by sftp-setup';

// `set sftp:connect-program …`, `set sftp:connect-program=…`, closures (`/host`) and leading whitespace.
const CONNECT_LINE = /^\s*set\s+sftp:connect-program(?=[\s=/]|$)/;

function isMarker(line: Line): boolean {
  return line.content.trim() === MANAGED_MARKER;
}

/**
 * Put our connect-program line into an lftp rc file (~/.lftprc, ~/.lftp/rc).
 * The first existing connect-program line is replaced in place; later ones are
 * dropped because lftp's last `set` wins and would silently override ours.
 * Every other line is kept byte for byte (CRLF, missing final newline).
 */
export function mergeLftpRc(existing: string, setLine: string): { text: string; changed: boolean } {
  if (/[\r\n]/.test(setLine) || !CONNECT_LINE.test(setLine)) {
    throw new UsageError(
      `lftp rc line must be a single "set sftp:connect-program …" line, got: ${JSON.stringify(setLine)}`,
      'build it with connectProgramSetLine()',
    );
  }
  const lines = splitLines(existing);
  const eol = dominantEol(lines);
  let out: Line[] = [];
  let placed = false;
  for (const line of lines) {
    // Our markers are rewritten together with our line, so there is only ever one.
    if (isMarker(line)) continue;
    if (CONNECT_LINE.test(line.content)) {
      if (placed) continue;
      placed = true;
      out.push({ content: MANAGED_MARKER, eol: line.eol === '' ? eol : line.eol });
      out.push({ content: setLine, eol: line.eol });
      continue;
    }
    out.push(line);
  }
  if (!placed) out = appendLines(out, [MANAGED_MARKER, setLine]);
  const text = joinLines(out);
  return { text, changed: text !== existing };
}

/** Split lftp command text into commands: newlines and `;` outside quotes separate them. */
export function splitLftpCommands(text: string): string[] {
  const cmds: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    // Quotes never span lines here: an unbalanced quote in one rc line must not hide the next ones.
    if (quote && ch !== '\n') {
      cur += ch;
      if (ch === '\\' && quote === '"' && i + 1 < text.length && text[i + 1] !== '\n') cur += text[++i];
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === '\\' && i + 1 < text.length && text[i + 1] !== '\n') {
      cur += ch + text[++i];
    } else if (ch === ';' || ch === '\n' || ch === '\r') {
      quote = null;
      cmds.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  cmds.push(cur);
  return cmds.map((c) => c.trim()).filter((c) => c !== '' && !c.startsWith('#'));
}

/** Shell-like words: quotes removed, backslash escapes honoured (lftp and ssh argument style). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length && '"\\'.includes(text[i + 1]!)) cur += text[++i];
      else cur += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '\\' && i + 1 < text.length) cur += text[++i];
    else cur += ch;
  }
  if (inWord) words.push(cur);
  return words;
}

/**
 * The effective sftp:connect-program value set by rc text or by Allsky's LFTP
 * commands (several commands per line allowed), quotes removed. The last one wins, as in lftp.
 */
export function readConnectProgram(rc: string): string | undefined {
  let found: string | undefined;
  for (const cmd of splitLftpCommands(rc)) {
    const m = /^set\s+sftp:connect-program(?:\/\S*)?(?:\s*=\s*|\s+|$)([\s\S]*)$/.exec(cmd);
    if (m) found = splitWords(m[1]!).join(' ');
  }
  return found;
}

// ssh options that take an argument (from ssh(1) SYNOPSIS); needed to walk bundled flags like -axi KEY.
const SSH_ARG_FLAGS = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));

/** The first `-i` argument of an ssh command line, or undefined. */
export function extractKeyPath(connectProgram: string): string | undefined {
  const words = splitWords(connectProgram);
  let i = words.length > 0 && !words[0]!.startsWith('-') ? 1 : 0; // skip the program name
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--' || !w.startsWith('-') || w.length < 2) return undefined;
    for (let j = 1; j < w.length; j++) {
      const flag = w[j]!;
      if (!SSH_ARG_FLAGS.has(flag)) continue;
      const rest = w.slice(j + 1);
      const arg = rest !== '' ? rest : words[++i];
      if (flag === 'i') return arg;
      break;
    }
  }
  return undefined;
}

/** The value of an ssh `-o Name=value` (or `-oName=value`, `-o "Name value"`) option; the first one wins, as in ssh. */
export function sshOption(connectProgram: string, name: string): string | undefined {
  const words = splitWords(connectProgram);
  const want = name.toLowerCase();
  for (let i = 0; i < words.length; i++) {
    let opt: string | undefined;
    if (words[i] === '-o') opt = words[++i];
    else if (words[i]!.startsWith('-o')) opt = words[i]!.slice(2);
    if (opt === undefined) continue;
    const m = /^\s*([A-Za-z]+)\s*(?:=|\s)\s*(.*)$/.exec(opt);
    if (m && m[1]!.toLowerCase() === want) return m[2]!.trim();
  }
  return undefined;
}

/** What a connect-program set in lftp commands (rc text or Allsky's LFTP commands) says, paths as written. */
export interface ConnectView {
  connectProgram?: string;
  keyPath?: string;
  /** the first UserKnownHostsFile */
  knownHosts?: string;
  /** ControlPath, unless none */
  controlPath?: string;
}

export function viewConnect(commands: string | undefined): ConnectView {
  if (commands === undefined) return {};
  const cp = readConnectProgram(commands);
  if (cp === undefined) return {};
  const control = sshOption(cp, 'ControlPath');
  return {
    connectProgram: cp,
    keyPath: extractKeyPath(cp),
    knownHosts: sshOption(cp, 'UserKnownHostsFile')?.split(/\s+/)[0],
    controlPath: control && control.toLowerCase() !== 'none' ? control : undefined,
  };
}

/**
 * What the camera's lftp connect-program says, and pointing it at the rotated key. Pure.
 *
 * The new key takes the old key's path, so a camera configured by allsky-config needs no edit at all. A
 * config that names the same key file by another spelling (a `~/` path, a symlink) is rewritten to the
 * key's path, so that every place names the file that was rotated.
 */
import { updateJsonObject, parseJsonObject } from '../allsky/settings-json.js';
import { readShellVars, updateShellVars } from '../allsky/ftp-settings.js';
import { extractKeyPath, readConnectProgram, splitWords } from '../lftp/rc.js';

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

export interface ConnectView {
  connectProgram?: string;
  keyPath?: string;
  knownHosts?: string;
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

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replace the `-i FROM` argument by `-i TO` in lftp commands; unchanged text when FROM is not there. */
export function replaceKeyArg(commands: string, from: string, to: string): string {
  const re = new RegExp(`(-i\\s*)${escapeRe(from)}(?=[\\s"';]|$)`, 'g');
  return commands.replace(re, (_m, lead: string) => `${lead}${to}`);
}

export interface ConfigEdit {
  text: string;
  changed: boolean;
}

/** lftp rc text: rewrite the key argument of its connect-program. */
export function editRc(text: string, from: string, to: string): ConfigEdit {
  const out = replaceKeyArg(text, from, to);
  return { text: out, changed: out !== text };
}

/** env.json: rewrite REMOTESERVER_LFTP_COMMANDS, every other byte kept. */
export function editEnvJson(text: string, from: string, to: string): ConfigEdit {
  const env = parseJsonObject(text, 'env.json');
  const cmds = env.REMOTESERVER_LFTP_COMMANDS;
  if (typeof cmds !== 'string') return { text, changed: false };
  const next = replaceKeyArg(cmds, from, to);
  if (next === cmds) return { text, changed: false };
  return updateJsonObject(text, { REMOTESERVER_LFTP_COMMANDS: next }, 'env.json');
}

/** Legacy config/ftp-settings.sh: rewrite LFTP_COMMANDS. */
export function editFtpSettings(text: string, from: string, to: string): ConfigEdit {
  const cmds = readShellVars(text, 'config/ftp-settings.sh').LFTP_COMMANDS;
  if (cmds === undefined) return { text, changed: false };
  const next = replaceKeyArg(cmds, from, to);
  if (next === cmds) return { text, changed: false };
  return updateShellVars(text, { LFTP_COMMANDS: next }, 'config/ftp-settings.sh');
}

/** The LFTP commands Allsky would hand to lftp, from either generation's file. */
export function lftpCommandsOf(kind: 'env' | 'legacy', text: string): string | undefined {
  if (kind === 'env') {
    const v = parseJsonObject(text, 'env.json').REMOTESERVER_LFTP_COMMANDS;
    return typeof v === 'string' ? v : undefined;
  }
  return readShellVars(text, 'config/ftp-settings.sh').LFTP_COMMANDS;
}

/** A shell-safe word for a remote command line (the key line travels on stdin, never here). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

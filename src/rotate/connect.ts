/**
 * Pointing the camera's lftp connect-programs at the rotated key. Pure.
 *
 * The new key takes the old key's path, so a camera configured by allsky-config needs no edit at all. A
 * config that names the same key file by another spelling (a `~/` path, a symlink) is rewritten to the
 * key's path, so that every place names the file that was rotated.
 */
import { updateJsonObject, parseJsonObject } from '../allsky/settings-json.js';
import { readShellVars, updateShellVars } from '../allsky/ftp-settings.js';

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

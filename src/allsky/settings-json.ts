import { UsageError } from '../errors.js';
import { extractKeyPath, readConnectProgram } from '../lftp/rc.js';

type JsonObject = Record<string, unknown>;

interface Member {
  key: string;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

interface Scan {
  open: number; // index of '{'
  close: number; // index of '}'
  members: Member[];
}

function badFile(fileLabel: string, why: string): UsageError {
  return new UsageError(
    `${fileLabel} is not a JSON object (${why}); nothing was changed`,
    `restore ${fileLabel} from its backup copy, or re-save the settings in Allsky's WebUI`,
  );
}

/** Parse a settings file; anything but a JSON object is a UsageError naming the file. */
export function parseJsonObject(text: string, fileLabel: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw badFile(fileLabel, err instanceof Error ? err.message : 'parse error');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badFile(fileLabel, Array.isArray(value) ? 'it is an array' : `it is ${value === null ? 'null' : typeof value}`);
  }
  return value as JsonObject;
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** Locate the raw text of each top-level member. Only called on text JSON.parse accepted. */
function scanObject(text: string): Scan {
  let i = 0;
  const skipWs = () => {
    while (i < text.length && (WS.has(text[i]!) || text[i] === '\uFEFF')) i++;
  };
  const skipString = () => {
    i++; // opening quote
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
  };
  const skipValue = () => {
    const ch = text[i];
    if (ch === '"') return skipString();
    if (ch === '{' || ch === '[') {
      let depth = 0;
      do {
        const c = text[i];
        if (c === '"') {
          skipString();
          continue;
        }
        if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
        i++;
      } while (depth > 0);
      return;
    }
    while (i < text.length && !WS.has(text[i]!) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i++;
  };
  skipWs();
  const open = i++;
  const members: Member[] = [];
  skipWs();
  while (text[i] !== '}') {
    if (text[i] === ',') {
      i++;
      skipWs();
    }
    const keyStart = i;
    skipString();
    const keyEnd = i;
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    skipWs();
    i++; // ':'
    skipWs();
    const valueStart = i;
    skipValue();
    members.push({ key, keyStart, keyEnd, valueStart, valueEnd: i });
    skipWs();
  }
  return { open, close: i, members };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as JsonObject)[k], (b as JsonObject)[k]));
}

interface Style {
  eol: string;
  memberPrefix: string; // whitespace before a member key (newline + indent, or '' / ' ' when compact)
  indentUnit: string; // one level, for nested values
  sep: string; // between key and value, e.g. ': ' or ' : '
  escapeSlash: boolean; // PHP's json_encode writes \/
}

function detectStyle(text: string, scan: Scan): Style {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const ms = scan.members;
  const first = ms[0];
  let memberPrefix = `${eol}\t`;
  let sep = ': ';
  if (first) {
    sep = text.slice(first.keyEnd, first.valueStart);
    const last = ms[ms.length - 1]!;
    const before = ms.length > 1 ? text.slice(text.lastIndexOf(',', last.keyStart) + 1, last.keyStart) : text.slice(scan.open + 1, first.keyStart);
    memberPrefix = before;
  }
  const nl = memberPrefix.lastIndexOf('\n');
  const indentUnit = nl === -1 ? '' : memberPrefix.slice(nl + 1) || '\t';
  return { eol, memberPrefix, indentUnit, sep, escapeSlash: text.includes('\\/') };
}

function serialise(value: unknown, style: Style, level: number): string {
  const str = (s: string) => {
    const out = JSON.stringify(s);
    return style.escapeSlash ? out.replace(/\//g, '\\/') : out;
  };
  if (typeof value === 'string') return str(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const pretty = style.indentUnit !== '';
  const pad = (n: number) => (pretty ? style.eol + style.indentUnit.repeat(n) : '');
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((v) => pad(level + 1) + serialise(v, style, level + 1));
    return `[${items.join(',')}${pad(level)}]`;
  }
  const entries = Object.entries(value as JsonObject).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  const items = entries.map(([k, v]) => pad(level + 1) + str(k) + style.sep + serialise(v, style, level + 1));
  return `{${items.join(',')}${pad(level)}}`;
}

/**
 * Set top-level keys of a JSON object file (Allsky's settings.json or env.json).
 * Only the values of changed keys are rewritten and new keys are appended after
 * the last one, in the file's own indentation, separator and line endings, so
 * every other byte (number formats, \/ and \u escapes, key order) stays as it was.
 * With nothing to change the original text comes back unchanged.
 */
export function updateJsonObject(
  text: string,
  changes: Record<string, unknown>,
  fileLabel: string,
): { text: string; changed: boolean } {
  const current = parseJsonObject(text, fileLabel);
  const todo = Object.entries(changes).filter(
    ([k, v]) => v !== undefined && !(Object.prototype.hasOwnProperty.call(current, k) && deepEqual(current[k], v)),
  );
  if (todo.length === 0) return { text, changed: false };

  const scan = scanObject(text);
  const style = detectStyle(text, scan);
  const edits: { start: number; end: number; insert: string }[] = [];
  const appended: string[] = [];
  for (const [key, value] of todo) {
    const hits = scan.members.filter((m) => m.key === key);
    // Duplicate keys: JSON.parse keeps the last, so rewrite every copy to stay consistent.
    for (const m of hits) edits.push({ start: m.valueStart, end: m.valueEnd, insert: serialise(value, style, 1) });
    if (hits.length === 0) appended.push(serialise(key, style, 1) + style.sep + serialise(value, style, 1));
  }
  if (appended.length > 0) {
    const last = scan.members[scan.members.length - 1];
    if (last) {
      edits.push({ start: last.valueEnd, end: last.valueEnd, insert: appended.map((a) => ',' + style.memberPrefix + a).join('') });
    } else {
      // Empty object: lay it out like Allsky's own files (tab indent).
      const inner = appended.map((a) => style.eol + '\t' + a).join(',');
      edits.push({ start: scan.open + 1, end: scan.close, insert: inner + style.eol });
    }
  }
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.insert + out.slice(e.end);
  return { text: out, changed: out !== text };
}

export interface RemoteServerOptions {
  host: string;
  port: number | string;
  user: string;
  /** Directory on the collector, relative to the upload account's login directory (e.g. `images`). */
  imageDir: string;
  /** Usually connectProgramSetLine(...). */
  lftpCommands: string;
}

export const DUMMY_PASSWORD = 'n/a';

/** Shared checks for both generations; values end up in files Allsky hands to lftp. */
export function checkRemoteOptions(opts: RemoteServerOptions): string {
  if (!/^[A-Za-z0-9.:[\]_-]+$/.test(opts.host)) {
    throw new UsageError(`collector host "${opts.host}" is not a host name or address`, 'give a name like collector.local or an IP address');
  }
  const port = String(opts.port);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new UsageError(`port "${port}" is not a TCP port`, 'give a number from 1 to 65535');
  }
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(opts.user)) {
    throw new UsageError(`upload user "${opts.user}" is not a valid user name`, 'give the account name created by sftp-setup init');
  }
  if (/["'`$\\\r\n*?[\]]/.test(opts.imageDir) || /\s/.test(opts.imageDir)) {
    throw new UsageError(
      `image directory "${opts.imageDir}" contains spaces, quotes or shell special characters`,
      'use a plain directory name such as images',
    );
  }
  if (/[\r\n]/.test(opts.lftpCommands)) {
    throw new UsageError('lftp commands must be a single line', 'separate several commands with ";"');
  }
  return port;
}

/**
 * The settings.json and env.json keys for a plain SFTP server (Allsky's
 * "remote server", not "remote website"). Types match Allsky: booleans are
 * JSON booleans, the port is a string. `envText` (the current env.json) is
 * used to keep an existing non-empty password.
 */
export function currentGenerationChanges(
  opts: RemoteServerOptions,
  envText?: string,
): { settings: Record<string, unknown>; env: Record<string, unknown> } {
  const port = checkRemoteOptions(opts);
  let password: unknown;
  if (envText !== undefined) {
    try {
      password = (JSON.parse(envText.replace(/^\uFEFF/, '')) as JsonObject | null)?.REMOTESERVER_PASSWORD;
    } catch {
      password = undefined; // updateJsonObject reports the broken file
    }
  }
  return {
    settings: {
      useremoteserver: true,
      remoteserverprotocol: 'sftp',
      remoteserverimagedir: opts.imageDir,
      remoteserverimageuploadoriginalname: false,
      remoteservervideodestinationname: 'allsky.mp4',
      remoteserverkeogramdestinationname: 'keogram.jpg',
      remoteserverstartrailsdestinationname: 'startrails.jpg',
    },
    env: {
      REMOTESERVER_HOST: opts.host,
      REMOTESERVER_PORT: port,
      REMOTESERVER_USER: opts.user,
      // Allsky's checker warns on sftp without a password; a dummy is never used with a key.
      REMOTESERVER_PASSWORD: typeof password === 'string' && password !== '' ? password : DUMMY_PASSWORD,
      REMOTESERVER_LFTP_COMMANDS: opts.lftpCommands,
    },
  };
}

export interface CurrentRemoteView {
  enabled: boolean;
  protocol?: string;
  host?: string;
  port?: string;
  user?: string;
  passwordSet: boolean;
  lftpCommands?: string;
  /** sftp:connect-program from lftpCommands, and its -i key. */
  connectProgram?: string;
  keyPath?: string;
  imageDir?: string;
  uploads: {
    /** imageuploadfrequency: every Nth image is uploaded, 0 = off. */
    imageFrequency?: number;
    image: boolean;
    timelapse: boolean;
    timelapseThumbnail: boolean;
    keogram: boolean;
    startrails: boolean;
  };
}

// Older settings files hold booleans as 0/1 or strings; read them leniently.
function truthy(v: unknown): boolean {
  if (typeof v === 'string') return ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
  if (typeof v === 'number') return v !== 0;
  return v === true;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** What the current generation's files say about the remote server, for doctor. */
export function readCurrentRemote(settingsText: string, envText: string): CurrentRemoteView {
  const s = parseJsonObject(settingsText, 'config/settings.json');
  const e = parseJsonObject(envText, 'env.json');
  const lftpCommands = str(e.REMOTESERVER_LFTP_COMMANDS);
  const connectProgram = lftpCommands !== undefined ? readConnectProgram(lftpCommands) : undefined;
  const freqRaw = s.imageuploadfrequency;
  const freq = typeof freqRaw === 'number' ? freqRaw : typeof freqRaw === 'string' && freqRaw.trim() !== '' ? Number(freqRaw) : undefined;
  const imageFrequency = freq !== undefined && Number.isFinite(freq) ? freq : undefined;
  return {
    enabled: truthy(s.useremoteserver),
    protocol: str(s.remoteserverprotocol),
    host: str(e.REMOTESERVER_HOST),
    port: str(e.REMOTESERVER_PORT),
    user: str(e.REMOTESERVER_USER),
    passwordSet: (str(e.REMOTESERVER_PASSWORD) ?? '') !== '',
    lftpCommands,
    connectProgram,
    keyPath: connectProgram !== undefined ? extractKeyPath(connectProgram) : undefined,
    imageDir: str(s.remoteserverimagedir),
    uploads: {
      imageFrequency,
      image: (imageFrequency ?? 0) > 0,
      timelapse: truthy(s.timelapseupload),
      timelapseThumbnail: truthy(s.timelapseuploadthumbnail),
      keogram: truthy(s.keogramupload),
      startrails: truthy(s.startrailsupload),
    },
  };
}

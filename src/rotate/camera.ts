/**
 * Reading the camera as it is: the Allsky install and its owner, the upload key, the collector it uploads to,
 * and the lftp connect-programs in use. Reads only; the rotation's writes are in rotate/switch.ts.
 */
import { promises as fs } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { allskyPaths, type AllskyGeneration } from '../allsky/detect.js';
import { parseJsonObject } from '../allsky/settings-json.js';
import { readShellVars } from '../allsky/ftp-settings.js';
import { UsageError } from '../errors.js';
import { getAccount, type Account } from '../system/accounts.js';
import { readText, statPath } from '../system/files.js';
import { validateAbsPath, validateAdminTarget, type AdminTarget } from '../validate.js';
import { viewConnect, type ConnectView } from './connect.js';

export interface CameraFile {
  path: string;
  kind: 'rc' | 'env' | 'legacy';
  text: string;
}

export interface Camera {
  owner: Account;
  allskyDir?: string;
  generation: AllskyGeneration;
  keyPath: string;
  host: string;
  port: number;
  user: string;
  imageDir: string;
  knownHosts: string;
  /** The files holding a connect-program: ~/.lftp/rc and Allsky's env.json or ftp-settings.sh. */
  files: CameraFile[];
  /** The connect-program Allsky hands to lftp (its LFTP commands, else the rc). */
  connect: ConnectView;
  /** LFTP commands as Allsky prepends them to every upload ('' when none). */
  lftpCommands: string;
  via?: AdminTarget;
}

export interface CameraOptions {
  allskyDir?: string;
  key?: string;
  via?: string;
}

async function isDir(p: string): Promise<boolean> {
  return (await statPath(p))?.type === 'dir';
}

async function ownerOf(path: string): Promise<Account> {
  const st = await statPath(path);
  const acct = st ? await getAccount(String(st.uid)) : null;
  if (!acct) throw new UsageError(`the owner of ${path} is not a known user`, 'give --allsky-dir of an install owned by the Allsky user');
  return acct;
}

/** Allsky installs in the users' homes (as root), or the running user's own. */
async function findAllsky(): Promise<string[]> {
  if (process.getuid?.() !== 0) {
    const home = process.env.HOME ?? (await getAccount(userInfo().username))?.home;
    return home && (await isDir(join(home, 'allsky'))) ? [join(home, 'allsky')] : [];
  }
  const homes = (await fs.readdir('/home').catch(() => [] as string[])).map((h) => join('/home', h));
  const found: string[] = [];
  for (const h of [...homes, '/root']) if (await isDir(join(h, 'allsky'))) found.push(join(h, 'allsky'));
  return found;
}

export async function readCamera(opts: CameraOptions): Promise<Camera> {
  const via = opts.via !== undefined ? validateAdminTarget(opts.via) : undefined;
  let allskyDir: string | undefined;
  if (opts.allskyDir !== undefined) {
    allskyDir = validateAbsPath(opts.allskyDir, '--allsky-dir').replace(/(.)\/+$/, '$1');
    if (!(await isDir(allskyDir))) {
      throw new UsageError(`--allsky-dir ${allskyDir}: no such directory`, 'give the Allsky install, usually /home/pi/allsky');
    }
  } else {
    const found = await findAllsky();
    if (found.length > 1) {
      throw new UsageError(`several Allsky installs found (${found.join(', ')})`, 'choose one with --allsky-dir');
    }
    allskyDir = found[0];
  }

  let owner: Account;
  if (allskyDir) owner = await ownerOf(allskyDir);
  else if (process.getuid?.() !== 0) owner = (await getAccount(userInfo().username))!;
  else if (opts.key) owner = await ownerOf(opts.key.startsWith('/') ? opts.key : '/nonexistent');
  else throw new UsageError('no Allsky install found in /home/*/allsky', 'give --allsky-dir, or --key with the upload key of the camera');

  let keyPath = opts.key ?? join(owner.home, '.ssh', 'allsky_upload');
  if (keyPath.startsWith('~/')) keyPath = join(owner.home, keyPath.slice(2));
  keyPath = validateAbsPath(keyPath, '--key');
  if (keyPath.endsWith('.pub')) throw new UsageError(`--key ${keyPath} is a public key`, 'give the private key file (without .pub)');

  const files: CameraFile[] = [];
  const rcPath = join(owner.home, '.lftp', 'rc');
  const rc = await readText(rcPath);
  if (rc !== null) files.push({ path: rcPath, kind: 'rc', text: rc });

  let generation: AllskyGeneration = 'none';
  let host: string | undefined;
  let port: string | undefined;
  let user: string | undefined;
  let imageDir: string | undefined;
  let lftpCommands = '';
  if (allskyDir) {
    const p = allskyPaths(allskyDir);
    const env = await readText(p.envJson);
    const legacy = env === null ? await readText(p.ftpSettings) : null;
    if (env !== null) {
      generation = 'current';
      files.push({ path: p.envJson, kind: 'env', text: env });
      const e = parseJsonObject(env, p.envJson);
      const settings = await readText(p.settingsJson);
      const s = settings !== null ? parseJsonObject(settings, p.settingsJson) : {};
      host = typeof e.REMOTESERVER_HOST === 'string' ? e.REMOTESERVER_HOST : undefined;
      port = e.REMOTESERVER_PORT !== undefined ? String(e.REMOTESERVER_PORT) : undefined;
      user = typeof e.REMOTESERVER_USER === 'string' ? e.REMOTESERVER_USER : undefined;
      imageDir = typeof s.remoteserverimagedir === 'string' ? s.remoteserverimagedir : undefined;
      lftpCommands = typeof e.REMOTESERVER_LFTP_COMMANDS === 'string' ? e.REMOTESERVER_LFTP_COMMANDS : '';
    } else if (legacy !== null) {
      generation = 'legacy';
      files.push({ path: p.ftpSettings, kind: 'legacy', text: legacy });
      const v = readShellVars(legacy, p.ftpSettings);
      host = v.REMOTE_HOST;
      port = v.REMOTE_PORT;
      user = v.REMOTE_USER;
      imageDir = v.IMAGE_DIR;
      lftpCommands = v.LFTP_COMMANDS ?? '';
    }
  }
  host = host || via?.host;
  if (!host) {
    throw new UsageError(
      'the camera has no collector configured (no Allsky remote server settings found)',
      'run sftp-setup allsky-config first, or give --via ADMIN@COLLECTOR',
    );
  }
  const connect = viewConnect(lftpCommands || undefined).connectProgram ? viewConnect(lftpCommands) : viewConnect(rc ?? undefined);
  const portNum = Number(port || 22);
  return {
    owner,
    allskyDir,
    generation,
    keyPath,
    host,
    port: Number.isInteger(portNum) && portNum > 0 && portNum < 65536 ? portNum : 22,
    user: user || 'allsky-upload',
    imageDir: (imageDir ?? 'images').replace(/^\/+|\/+$/g, ''),
    knownHosts: connect.knownHosts ?? join(owner.home, '.ssh', 'known_hosts'),
    files,
    connect,
    lftpCommands,
    via,
  };
}

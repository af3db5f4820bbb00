/**
 * Reading the camera as it is, for allsky-config, keys rotate and doctor: where the Allsky install is and
 * whose it is, the upload settings in Allsky's files, the owner's lftp rc, and the connect-program that will
 * really run (Allsky's LFTP commands come after the rc in lftp's reading order, so they win). Reads only.
 *
 * Run as a normal user, that user is the owner; run as root, the owner of the install found in the users'
 * homes (or given with --allsky-dir) is.
 */
import { posix } from 'node:path';
import { userInfo } from 'node:os';
import { UsageError } from '../errors.js';
import { allskyPaths, classifyAllsky, remoteDirs, type AllskyClassification, type AllskyGeneration, type AllskyPaths } from '../allsky/detect.js';
import { readShellVars } from '../allsky/ftp-settings.js';
import { parseJsonObject, readCurrentRemote } from '../allsky/settings-json.js';
import { readConnectProgram, viewConnect } from '../lftp/rc.js';
import { getAccount, type Account } from '../system/accounts.js';
import { listDir, readText, statPath } from '../system/files.js';
import { choose } from '../prompt.js';
import { validateAbsPath } from '../validate.js';

export interface AllskyInstall {
  owner: Account;
  /** undefined with --no-allsky, and when the install holds no configuration sftp-setup reads */
  paths?: AllskyPaths;
  classification: AllskyClassification;
}

const NO_ALLSKY_FIX = 'give the install with --allsky-dir DIR, or use --no-allsky to write only the key, known_hosts and lftp configuration';

async function accountOf(uid: number): Promise<Account> {
  const acc = await getAccount(String(uid));
  if (!acc) throw new UsageError(`uid ${uid} has no account in the password database`, 'run as the user who installed Allsky');
  return acc;
}

async function isDir(p: string): Promise<boolean> {
  return (await statPath(p))?.type === 'dir';
}

/** A `~/` path in the owner's home; other paths as they are. */
export function inHome(owner: Account, path: string): string {
  return path.startsWith('~/') ? posix.join(owner.home, path.slice(2)) : path;
}

/** /home/* /allsky and /root/allsky that look like Allsky (a config dir, env.json or a version file). */
async function findInstalls(): Promise<string[]> {
  const homes = await listDir('/home').catch(() => [] as string[]);
  const candidates = [...homes.sort().map((h) => `/home/${h}/allsky`), '/root/allsky'];
  const found: string[] = [];
  for (const c of candidates) {
    if (!(await isDir(c))) continue;
    const p = allskyPaths(c);
    if ((await isDir(posix.join(c, 'config'))) || (await statPath(p.envJson)) || (await statPath(p.version))) found.push(c);
  }
  return found;
}

/**
 * The Allsky install and its owner. With `allsky` an install that sftp-setup cannot configure is an error;
 * without it only the owner is looked for.
 */
export async function locateAllsky(o: { allskyDir?: string; allsky: boolean }): Promise<AllskyInstall> {
  const root = process.getuid?.() === 0;
  let dir: string | undefined;
  let owner: Account;
  if (o.allskyDir !== undefined) {
    dir = validateAbsPath(o.allskyDir, '--allsky-dir');
    const st = await statPath(dir);
    if (st?.type !== 'dir') {
      throw new UsageError(`--allsky-dir ${dir} ${st ? 'is not a directory' : 'does not exist'}; nothing was changed`, NO_ALLSKY_FIX);
    }
    owner = await accountOf(root ? st.uid : process.getuid!());
    if (!root && st.uid !== owner.uid) {
      const other = await getAccount(String(st.uid));
      throw new UsageError(
        `--allsky-dir ${dir} belongs to ${other?.name ?? `uid ${st.uid}`}, not to you (${owner.name})`,
        `run it as ${other?.name ?? 'the owner'}, or with sudo to act for the owner`,
      );
    }
  } else if (!root) {
    owner = (await getAccount(userInfo().username)) ?? (await accountOf(process.getuid!()));
    const guess = posix.join(owner.home, 'allsky');
    if (await isDir(guess)) dir = guess;
    else if (o.allsky) throw new UsageError(`no Allsky install at ${guess}; nothing was changed`, NO_ALLSKY_FIX);
  } else {
    const found = await findInstalls();
    if (found.length > 1) {
      if (!process.stdin.isTTY) {
        throw new UsageError(`several Allsky installs found (${found.join(', ')}); nothing was changed`, 'choose one with --allsky-dir DIR');
      }
      dir = await choose('Which Allsky install should upload to the collector?', found);
    } else dir = found[0];
    if (dir === undefined && o.allsky) {
      throw new UsageError('no Allsky install found in /home/*/allsky or /root/allsky; nothing was changed', NO_ALLSKY_FIX);
    }
    owner = dir ? await accountOf((await statPath(dir))!.uid) : await accountOf(0);
  }
  if (!o.allsky || dir === undefined) return { owner, classification: { generation: 'none' } };

  const paths = allskyPaths(dir);
  const [settingsJson, envJson, ftpSettings, scriptsFtpSettings] = await Promise.all(
    [paths.settingsJson, paths.envJson, paths.ftpSettings, paths.scriptsFtpSettings].map(async (p) => (await statPath(p))?.type === 'file'),
  );
  const version = (await readText(paths.version)) ?? undefined;
  const classification = classifyAllsky({ settingsJson: settingsJson!, envJson: envJson!, ftpSettings: ftpSettings!, scriptsFtpSettings: scriptsFtpSettings! }, version);
  if (classification.generation === 'none') {
    throw new UsageError(`${dir} holds no Allsky configuration (no env.json, config/settings.json or config/ftp-settings.sh); nothing was changed`, NO_ALLSKY_FIX);
  }
  if (classification.generation === 'ancient') {
    throw new UsageError(`${dir} is an Allsky older than v0.8.1 (scripts/ftp-settings.sh), which sftp-setup does not configure`, 'upgrade Allsky, or use --no-allsky and set the upload by hand');
  }
  if (classification.missing?.length) {
    throw new UsageError(
      `${dir} is ${classification.generation === 'current' ? 'a current' : 'a legacy'} Allsky install but ${classification.missing.join(' and ')} ${classification.missing.length > 1 ? 'are' : 'is'} missing; nothing was changed`,
      'open the Allsky WebUI once and save the settings so Allsky writes them, then run again',
    );
  }
  return { owner, paths, classification };
}

/** Is there anything on this machine that looks like a camera's upload set-up? */
export async function findCameraSetup(): Promise<boolean> {
  const homes = (await listDir('/home').catch(() => [] as string[])).map((h) => `/home/${h}`);
  for (const h of [...homes, process.env.HOME ?? '/root']) {
    if (await isDir(posix.join(h, 'allsky/config'))) return true;
    const rc = await readText(posix.join(h, '.lftp/rc')).catch(() => null);
    if (rc && readConnectProgram(rc)) return true;
  }
  return false;
}

/** A file holding a connect-program: the owner's lftp rc, or Allsky's env.json or legacy ftp-settings.sh. */
export interface CameraFile {
  path: string;
  kind: 'rc' | 'env' | 'legacy';
  text: string;
  /** the lftp commands in it: the rc text itself, or Allsky's LFTP commands */
  commands?: string;
}

export interface CameraSetup {
  owner: Account;
  allskyDir?: string;
  generation: AllskyGeneration;
  /** why no Allsky settings were read */
  allskyProblem?: string;
  settingsFile?: string;
  remote: {
    protocol?: string; host?: string; port?: number; user?: string; password?: string; imageDir?: string;
    enabled?: boolean; lftpCommands?: string;
  };
  rc?: { path: string; text: string; connectProgram?: string };
  files: CameraFile[];
  /** the connect-program lftp will use, and where it was set */
  connectProgram?: string;
  connectFrom?: string;
  /** its -i key, `~/` expanded */
  keyPath?: string;
  /** its UserKnownHostsFile, else the owner's ~/.ssh/known_hosts */
  knownHosts: string;
  /** its ControlPath when it shares connections */
  controlPath?: string;
  /** every remote directory Allsky uploads into */
  dirs: string[];
}

/** The upload settings of an install (none for generation 'none'), the owner's rc, and the connect-program in force. */
export async function readUploadSetup(install: AllskyInstall): Promise<Omit<CameraSetup, 'allskyProblem'>> {
  const owner = install.owner;
  const home = owner.home.replace(/\/+$/, '') || '/';
  const generation = install.classification.generation;
  const remote: CameraSetup['remote'] = {};
  const files: CameraFile[] = [];
  let settingsFile: string | undefined;
  const p = install.paths;
  if (p && generation === 'current') {
    const [s, e] = await Promise.all([readText(p.settingsJson), readText(p.envJson)]);
    const v = readCurrentRemote(s ?? '{}', e ?? '{}');
    const env = parseJsonObject(e ?? '{}', 'env.json');
    Object.assign(remote, {
      protocol: v.protocol, host: v.host, port: v.port ? Number(v.port) : undefined, user: v.user,
      password: typeof env.REMOTESERVER_PASSWORD === 'string' ? env.REMOTESERVER_PASSWORD : undefined,
      imageDir: v.imageDir, enabled: v.enabled, lftpCommands: v.lftpCommands,
    });
    settingsFile = `${p.settingsJson} and ${p.envJson}`;
    if (e !== null) files.push({ path: p.envJson, kind: 'env', text: e, commands: v.lftpCommands });
  } else if (p && generation === 'legacy') {
    const text = (await readText(p.ftpSettings)) ?? '';
    const vars = readShellVars(text, p.ftpSettings);
    Object.assign(remote, {
      protocol: vars.PROTOCOL, host: vars.REMOTE_HOST, port: vars.REMOTE_PORT ? Number(vars.REMOTE_PORT) : undefined,
      user: vars.REMOTE_USER, password: vars.REMOTE_PASSWORD, imageDir: vars.IMAGE_DIR, enabled: true, lftpCommands: vars.LFTP_COMMANDS,
    });
    settingsFile = p.ftpSettings;
    files.push({ path: p.ftpSettings, kind: 'legacy', text, commands: vars.LFTP_COMMANDS });
  }
  // lftp reads ~/.lftprc, then ~/.lftp/rc: the later connect-program wins.
  let rc: CameraSetup['rc'];
  for (const path of [posix.join(home, '.lftp/rc'), posix.join(home, '.lftprc')]) {
    const text = await readText(path).catch(() => null);
    if (text !== null) {
      rc = { path, text, connectProgram: readConnectProgram(text) };
      if (rc.connectProgram) break;
    }
  }
  if (rc) files.unshift({ path: rc.path, kind: 'rc', text: rc.text, commands: rc.text });
  const fromAllsky = remote.lftpCommands ? viewConnect(remote.lftpCommands) : {};
  const connect = fromAllsky.connectProgram ? fromAllsky : viewConnect(rc?.text);
  const connectFrom = fromAllsky.connectProgram ? `Allsky's LFTP commands (${settingsFile})` : connect.connectProgram ? rc!.path : undefined;
  const dirs = generation === 'current' || generation === 'legacy' ? remoteDirs(remote.imageDir ?? '', generation) : [];
  return {
    owner, allskyDir: p?.home, generation, settingsFile, remote, rc, files,
    connectProgram: connect.connectProgram, connectFrom,
    keyPath: connect.keyPath !== undefined ? inHome(owner, connect.keyPath) : undefined,
    knownHosts: inHome(owner, connect.knownHosts ?? '~/.ssh/known_hosts'),
    controlPath: connect.controlPath,
    dirs,
  };
}

/**
 * The camera as doctor and keys rotate see it: the install found as allsky-config finds it; when that finds
 * nothing it could configure (without --allsky-dir), the owner's own settings only, and the reason.
 */
export async function readCameraSetup(o: { allskyDir?: string }): Promise<CameraSetup> {
  let install: AllskyInstall;
  let allskyProblem: string | undefined;
  try {
    install = await locateAllsky({ allskyDir: o.allskyDir, allsky: true });
  } catch (e) {
    if (o.allskyDir !== undefined || !(e instanceof UsageError)) throw e;
    allskyProblem = e.message.replace(/; nothing was changed$/, '');
    install = await locateAllsky({ allsky: false });
  }
  return { ...(await readUploadSetup(install)), allskyProblem };
}

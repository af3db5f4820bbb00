/**
 * What the camera checks look at: the Allsky install and its owner (found as allsky-config finds it), the
 * upload settings in Allsky's files, the owner's lftp rc, and the connect-program that will really run
 * (Allsky's LFTP commands come after the rc in lftp's reading order, so they win).
 */
import { promises as fs } from 'node:fs';
import { posix } from 'node:path';
import { remoteDirs, type AllskyGeneration } from '../allsky/detect.js';
import { readShellVars } from '../allsky/ftp-settings.js';
import { readCurrentRemote } from '../allsky/settings-json.js';
import { locateAllsky } from '../camera/locate.js';
import { UsageError } from '../errors.js';
import { extractKeyPath, readConnectProgram } from '../lftp/rc.js';
import type { Account } from '../system/accounts.js';
import { readText, statPath } from '../system/files.js';

export interface CameraContext {
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
  rc: { path: string; text: string; connectProgram?: string } | undefined;
  /** the connect-program lftp will use, and where it was set */
  connectProgram?: string;
  connectFrom?: string;
  keyPath?: string;
  dirs: string[];
}

/** Is there anything on this machine that looks like a camera's upload set-up? */
export async function findCameraSetup(): Promise<boolean> {
  const homes = (await fs.readdir('/home').catch(() => [] as string[])).map((h) => `/home/${h}`);
  for (const h of [...homes, process.env.HOME ?? '/root']) {
    if ((await statPath(posix.join(h, 'allsky/config')))?.type === 'dir') return true;
    const rc = await readText(posix.join(h, '.lftp/rc')).catch(() => null);
    if (rc && readConnectProgram(rc)) return true;
  }
  return false;
}

export async function readCamera(o: { allskyDir?: string }): Promise<CameraContext> {
  let install;
  let allskyProblem: string | undefined;
  try {
    install = await locateAllsky({ allskyDir: o.allskyDir, allsky: true });
  } catch (e) {
    if (o.allskyDir !== undefined || !(e instanceof UsageError)) throw e;
    allskyProblem = e.message.replace(/; nothing was changed$/, '');
    install = await locateAllsky({ allsky: false });
  }
  const owner = install.owner;
  const home = owner.home.replace(/\/+$/, '') || '/';
  const generation = install.classification.generation;
  const remote: CameraContext['remote'] = {};
  let settingsFile: string | undefined;
  const p = install.paths;
  if (p && generation === 'current') {
    const [s, e] = await Promise.all([readText(p.settingsJson), readText(p.envJson)]);
    const v = readCurrentRemote(s ?? '{}', e ?? '{}');
    const env = JSON.parse(e ?? '{}') as Record<string, unknown>;
    Object.assign(remote, {
      protocol: v.protocol, host: v.host, port: v.port ? Number(v.port) : undefined, user: v.user,
      password: typeof env.REMOTESERVER_PASSWORD === 'string' ? env.REMOTESERVER_PASSWORD : undefined,
      imageDir: v.imageDir, enabled: v.enabled, lftpCommands: v.lftpCommands,
    });
    settingsFile = `${p.settingsJson} and ${p.envJson}`;
  } else if (p && generation === 'legacy') {
    const vars = readShellVars((await readText(p.ftpSettings)) ?? '', p.ftpSettings);
    Object.assign(remote, {
      protocol: vars.PROTOCOL, host: vars.REMOTE_HOST, port: vars.REMOTE_PORT ? Number(vars.REMOTE_PORT) : undefined,
      user: vars.REMOTE_USER, password: vars.REMOTE_PASSWORD, imageDir: vars.IMAGE_DIR, enabled: true, lftpCommands: vars.LFTP_COMMANDS,
    });
    settingsFile = p.ftpSettings;
  }
  let rc: CameraContext['rc'];
  for (const path of [posix.join(home, '.lftp/rc'), posix.join(home, '.lftprc')]) {
    const text = await readText(path).catch(() => null);
    if (text !== null) {
      rc = { path, text, connectProgram: readConnectProgram(text) };
      if (rc.connectProgram) break;
    }
  }
  const fromAllsky = remote.lftpCommands ? readConnectProgram(remote.lftpCommands) : undefined;
  const connectProgram = fromAllsky ?? rc?.connectProgram;
  const connectFrom = fromAllsky ? `Allsky's LFTP commands (${settingsFile})` : rc?.connectProgram ? rc.path : undefined;
  const rawKey = connectProgram ? extractKeyPath(connectProgram) : undefined;
  const keyPath = rawKey?.startsWith('~/') ? posix.join(home, rawKey.slice(2)) : rawKey;
  const dirs = generation === 'current' || generation === 'legacy' ? remoteDirs(remote.imageDir ?? '', generation) : [];
  return { owner, allskyDir: p?.home, generation, allskyProblem, settingsFile, remote, rc, connectProgram, connectFrom, keyPath, dirs };
}

/**
 * Where the Allsky install is and whose it is. Run as a normal user, that user is the owner; run as root,
 * the owner of the install found in the users' homes (or given with --allsky-dir) is, and every file in
 * that user's home is written as theirs.
 */
import { promises as fs } from 'node:fs';
import { posix } from 'node:path';
import { userInfo } from 'node:os';
import { UsageError } from '../errors.js';
import { allskyPaths, classifyAllsky, type AllskyClassification, type AllskyPaths } from '../allsky/detect.js';
import { getAccount, type Account } from '../system/accounts.js';
import { readText, statPath } from '../system/files.js';
import { choose } from '../prompt.js';
import { validateAbsPath } from '../validate.js';

export interface AllskyInstall {
  owner: Account;
  /** undefined with --no-allsky */
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

/** /home/* /allsky and /root/allsky that look like Allsky (a config dir, env.json or a version file). */
async function findInstalls(): Promise<string[]> {
  const homes = await fs.readdir('/home').catch(() => [] as string[]);
  const candidates = [...homes.sort().map((h) => `/home/${h}/allsky`), '/root/allsky'];
  const found: string[] = [];
  for (const c of candidates) {
    if (!(await isDir(c))) continue;
    const p = allskyPaths(c);
    if ((await isDir(posix.join(c, 'config'))) || (await statPath(p.envJson)) || (await statPath(p.version))) found.push(c);
  }
  return found;
}

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

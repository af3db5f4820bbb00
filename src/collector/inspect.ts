/**
 * Reading a collector's state: sshd's configuration as files and directives, the version, the chroot
 * path's owners and modes. Read-only; init, keys, doctor and uninstall all start here.
 */
import { dirname } from 'node:path';
import { FailError, UsageError } from '../errors.js';
import { loadConfigDetailed, type Directive } from '../sshd/includes.js';
import { parseSshdVersion } from '../sshd/effective.js';
import { statPath, type FileInfo } from '../system/files.js';
import { globalSettings, globPathsSync, readConfigText, SSHD_CONFIG, sshdVersionText } from '../system/sshd.js';

export interface SshdState {
  mainPath: string;
  mainText: string;
  directives: Directive[];
  version: { major: number; minor: number; raw: string };
  /** `sshd -T` without -C when it was read: the global settings, no Match block applied */
  globalSettings: string;
}

export function configIO() {
  return { read: readConfigText, glob: globPathsSync };
}

/**
 * Load sshd's configuration and refuse to touch one that sshd itself already rejects. `sshd -T` checks
 * everything `sshd -t` does, with the same words and exit code (OpenSSH 9.2 and 10.0: unknown and misplaced
 * directives, Match conditions, host keys and their modes, the privilege separation directory), and prints
 * the settings the limits step needs too: one sshd run instead of two.
 */
export async function readSshdState(mainPath = SSHD_CONFIG): Promise<SshdState> {
  const [versionText, check] = await Promise.all([sshdVersionText(), globalSettings(mainPath)]);
  const v = parseSshdVersion(versionText);
  if (!v) throw new FailError(`cannot tell the OpenSSH version from "${versionText}"`);
  if (!check.ok) {
    throw new UsageError(
      `the current sshd configuration is already invalid (sshd -t: ${check.message.split('\n')[0]})`,
      `fix ${mainPath} (or the file named) until "sudo sshd -t" is silent, then run again; nothing was changed`,
    );
  }
  const io = configIO();
  const mainText = io.read(mainPath);
  if (mainText === null) throw new FailError(`cannot read ${mainPath}`, 'run as root');
  const loaded = loadConfigDetailed(mainPath, io);
  return {
    mainPath, mainText, directives: loaded.directives, version: { major: v.major, minor: v.minor, raw: versionText }, globalSettings: check.settings,
  };
}

export interface ChrootProblem {
  path: string;
  info: FileInfo | null;
  problem: string;
}

/**
 * sshd requires every component of ChrootDirectory, from / down, to be a root-owned directory that is not
 * group- or world-writable. Returns the first component that breaks the rule (the root itself included
 * when it exists), or null.
 */
export async function chrootProblem(root: string, opts: { includeRoot: boolean }): Promise<ChrootProblem | null> {
  const parts: string[] = [];
  for (let p = opts.includeRoot ? root : dirname(root); ; p = dirname(p)) {
    parts.unshift(p);
    if (p === '/') break;
  }
  for (const path of parts) {
    const info = await statPath(path);
    if (!info) return null; // the rest will be created by us, root-owned
    if (info.type === 'symlink') return { path, info, problem: 'is a symbolic link (sshd refuses symlinks in a chroot path)' };
    if (info.type !== 'dir') return { path, info, problem: 'is not a directory' };
    if (info.uid !== 0) return { path, info, problem: `is owned by uid ${info.uid}, not root` };
    if (info.mode & 0o022) return { path, info, problem: `has mode ${info.mode.toString(8).padStart(4, '0')}: group or others can write to it` };
  }
  return null;
}

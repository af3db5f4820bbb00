/**
 * Is an account one that sftp-setup manages here? Its Match block (a drop-in that sshd reads, or a marked
 * block in the main file) and its keys file outside the chroot say so. Only files are read: `keys add`
 * runs on every camera hand-off and should not pay for sshd processes.
 */
import { UsageError } from '../errors.js';
import { loadConfigDetailed } from '../sshd/includes.js';
import { dropinFileName, findMarkedBlock } from '../sshd/placement.js';
import { SSHD_CONFIG } from '../system/sshd.js';
import { configIO } from './inspect.js';
import { keysFileFor } from './layout.js';

export interface ManagedAccount {
  user: string;
  keysFile: string;
  /** where the Match block is: a drop-in path, or the main file */
  blockFile: string;
}

/** Where our Match block for this user is, or null. */
export function findManagedBlock(user: string, mainPath = SSHD_CONFIG): string | null {
  const io = configIO();
  const mainText = io.read(mainPath);
  if (mainText === null) return null;
  if (findMarkedBlock(mainText, user)) return mainPath;
  let files: string[];
  try {
    files = loadConfigDetailed(mainPath, io).directives.map((d) => d.file);
  } catch {
    return null;
  }
  return files.find((f) => f.endsWith('/' + dropinFileName(user))) ?? null;
}

/** The account's managed files, or a UsageError whose fix is the init command. */
export function requireManaged(user: string): ManagedAccount {
  const blockFile = findManagedBlock(user);
  if (!blockFile) {
    throw new UsageError(
      `${user} is not an upload account set up by sftp-setup on this host (sshd has no sftp-setup Match block for it)`,
      `create it first: sudo sftp-setup init --user ${user}`,
    );
  }
  return { user, keysFile: keysFileFor(user), blockFile };
}

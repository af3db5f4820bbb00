/**
 * Is an account one that sftp-setup manages here? Its Match block (a drop-in that sshd reads, or a marked
 * block in the main file) and its keys file outside the chroot say so. Only files are read: `keys add`
 * runs on every camera hand-off and should not pay for sshd processes.
 */
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { loadConfigDetailed, type Directive } from '../sshd/includes.js';
import { findMarkedBlock } from '../sshd/placement.js';
import { SSHD_CONFIG } from '../system/sshd.js';
import { configIO } from './inspect.js';
import { keysFileFor } from './layout.js';

export interface ManagedAccount {
  user: string;
  keysFile: string;
  /** where the Match block is: a drop-in path, or the main file */
  blockFile: string;
}

/** Where our Match block for this user is (the marked block in the main file first), or null. */
export function findManagedBlock(user: string, mainPath = SSHD_CONFIG): string | null {
  const mine = listManagedBlocks(mainPath).filter((b) => b.user === user);
  return (mine.find((b) => b.file === mainPath) ?? mine[0])?.file ?? null;
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

/** One of our Match blocks as sshd reads it: whose, where, and the ChrootDirectory it names. */
export interface ManagedBlock {
  user: string;
  file: string;
  /** ChrootDirectory inside our block for the user (trailing slashes off), if it names one */
  chroot?: string;
}

// dropinFileName(user) (sshd/placement.ts), read back.
const DROPIN = /^50-sftp-setup-(.+)\.conf$/;
const BEGIN = /^# BEGIN sftp-setup (\S+)\r?$/gm;

/**
 * Every Match block of ours that sshd reads: drop-ins named 50-sftp-setup-USER.conf that the configuration
 * includes, and marked blocks in the main file. The ChrootDirectory is taken from a `Match User USER` in that
 * file (for the main file: between our markers), never from the account. Pure over what was read.
 */
export function managedBlocksFrom(mainPath: string, mainText: string, directives: Directive[]): ManagedBlock[] {
  const out: ManagedBlock[] = [];
  const chrootIn = (user: string, inBlock: (d: Directive) => boolean): string | undefined => {
    const d = directives.find((x) =>
      x.keyword === 'chrootdirectory' && inBlock(x) &&
      x.match?.criteria.length === 2 && x.match.criteria[0]!.toLowerCase() === 'user' && x.match.criteria[1] === user);
    const v = d?.args[0];
    return v === undefined ? undefined : v.replace(/\/+$/, '') || '/';
  };
  for (const file of [...new Set(directives.map((d) => d.file))]) {
    const m = DROPIN.exec(basename(file));
    if (!m || file === mainPath) continue;
    const user = m[1]!;
    out.push({ user, file, chroot: chrootIn(user, (d) => d.file === file) });
  }
  for (const m of mainText.matchAll(BEGIN)) {
    const user = m[1]!;
    let range: { start: number; end: number } | null;
    try {
      range = findMarkedBlock(mainText, user);
    } catch {
      continue;
    }
    if (!range || out.some((b) => b.user === user && b.file === mainPath)) continue;
    out.push({ user, file: mainPath, chroot: chrootIn(user, (d) => d.file === mainPath && d.lineNo >= range!.start && d.lineNo <= range!.end) });
  }
  return out;
}

/**
 * managedBlocksFrom over the configuration on disk: nothing when the main file cannot be read, only the
 * marked blocks of the main file when its Includes cannot be followed.
 */
export function listManagedBlocks(mainPath = SSHD_CONFIG): ManagedBlock[] {
  const io = configIO();
  const mainText = io.read(mainPath);
  if (mainText === null) return [];
  let directives: Directive[] = [];
  try {
    directives = loadConfigDetailed(mainPath, io).directives;
  } catch {
    /* the marked blocks in the main file still say so */
  }
  return managedBlocksFrom(mainPath, mainText, directives);
}

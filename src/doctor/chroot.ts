/**
 * Chroot checks: every component of the chroot path owned by root and not group/world-writable (naming the
 * one that fails), each upload directory present and writable by the account (Allsky's subdirectories
 * included), /dev/log inside the chroot when upload logging is on, and free space.
 */
import { join } from 'node:path';
import { remoteDirs } from '../allsky/detect.js';
import { expandDirs } from '../collector/layout.js';
import { chrootProblem } from '../collector/inspect.js';
import { fileInfoOf, freeSpace, readText, statPath, type FileInfo } from '../system/files.js';
import { hostLogSocket, readDevLog } from '../system/devlog.js';
import { canonicalPath, FSTAB } from '../system/mount.js';
import { devLogCheck, fstabHasDevLog } from './devlog.js';
import { isPlainDir } from '../collector/dirs.js';
import { lstatBeneath } from '../system/safe-fs.js';
import { dirsInTree } from './tree.js';
import type { UploadTree } from '../collector/upload-tree.js';
import { fail, ownerMode, pass, q, skip, warn, type DoctorCheck } from './check.js';
import type { UploadAccount } from './collector-context.js';

/**
 * What the account must be able to write to: the plainly named directories the tree holds (tree.ts; any
 * other name is reported as data by tree.names, never probed), plus what current Allsky uploads into.
 */
export function requiredDirs(a: UploadAccount, tree: UploadTree | undefined): string[] {
  if (!a.chroot) return [];
  const have = tree ? dirsInTree(tree.entries).plain : [];
  const allsky = a.profile === 'allsky' ? remoteDirs('images', 'current') : [];
  return expandDirs([...new Set([...have, ...allsky])]).filter(isPlainDir);
}

function writableBy(info: FileInfo, uid: number, gid: number): boolean {
  if (info.uid === uid) return (info.mode & 0o200) !== 0;
  if (info.gid === gid) return (info.mode & 0o020) !== 0;
  return (info.mode & 0o002) !== 0;
}

export async function chrootChecks(a: UploadAccount, dirs: string[]): Promise<DoctorCheck[]> {
  const { user } = a;
  if (!a.chroot) return [skip('chroot.components', `chroot path of ${user}`, 'no ChrootDirectory applies to this account', { user })];
  const root = a.chroot;
  const out: DoctorCheck[] = [];
  const self = await statPath(root);
  if (!self) {
    out.push(fail('chroot.components', `chroot ${root} is root-owned all the way down`, [`${root}: does not exist`], {
      user, reason: 'sshd logs "safely_chroot: stat(…): No such file or directory" and closes the session', fix: `sudo install -d -o root -g root -m 0755 ${q(root)}`,
    }));
    return out;
  }
  const bad = await chrootProblem(root, { includeRoot: true });
  if (bad) {
    const isRoot = bad.path === root;
    const fix = bad.info?.type === 'dir'
      ? `sudo chown root:root ${q(bad.path)} && sudo chmod ${isRoot ? '0755' : 'go-w'} ${q(bad.path)}`
      : `make ${bad.path} a real root-owned directory`;
    out.push(fail('chroot.components', `chroot ${root} is root-owned all the way down`, [`${bad.path} ${bad.problem}${bad.info ? ` (${ownerMode(bad.info)})` : ''}`], {
      user,
      reason: `sshd refuses the chroot after a good key login ("bad ownership or modes for chroot directory${isRoot ? '' : ' component'}"); the client sees "Connection closed"`,
      fix,
    }));
  } else out.push(pass('chroot.components', `chroot ${root} is root-owned all the way down`, [`${root}: ${ownerMode(self)}`], { user }));

  // Upload directories.
  const acc = a.account;
  const problems: string[] = [];
  const fixes: string[] = [];
  if (acc) {
    for (const d of dirs) {
      const p = join(root, d);
      // Through descriptors: a parent swapped for a link is reported, never looked through.
      let info: FileInfo | null;
      try {
        const s = await lstatBeneath(root, d);
        info = s && fileInfoOf(s);
      } catch {
        problems.push(`${p}: a parent directory is a link or not a directory`);
        continue;
      }
      if (!info) {
        problems.push(`${p}: missing`);
        fixes.push(`sudo install -d -o ${user} -g ${acc.gid} -m 0755 ${q(p)}`);
      } else if (info.type !== 'dir') {
        problems.push(`${p}: not a directory`);
      } else if (!writableBy(info, acc.uid, acc.gid)) {
        problems.push(`${p}: ${ownerMode(info)}, not writable by ${user}`);
        fixes.push(`sudo chown ${user}:${acc.gid} ${q(p)} && sudo chmod 0755 ${q(p)}`);
      }
    }
    if (problems.length) {
      out.push(fail('chroot.upload-dirs', `upload directories exist and ${user} can write to them`, problems, {
        user, reason: 'uploads into these fail ("cd: Access failed: No such file" or "Permission denied")', fix: fixes.join(' && ') || undefined,
      }));
    } else out.push(pass('chroot.upload-dirs', `upload directories exist and ${user} can write to them`, [`${dirs.length} directories: ${dirs.join(', ')}`], { user }));
  }

  // internal-sftp logs through /dev/log inside the chroot; without it its lines are lost.
  const socket = await hostLogSocket();
  out.push(devLogCheck({
    user, root, profile: a.profile, forceCommand: a.eff?.get('forcecommand')?.join(' ') ?? '', socket,
    facts: await readDevLog(root, socket),
    inFstab: fstabHasDevLog((await readText(FSTAB)) ?? '', await canonicalPath(root)),
  }));

  try {
    const { bytes: free, percent: pct } = await freeSpace(root);
    const ev = [`${(free / 2 ** 20).toFixed(0)} MiB free (${pct.toFixed(0)}%) on the filesystem of ${root}`];
    if (free < 50 * 2 ** 20) out.push(fail('chroot.space', 'free space for uploads', ev, { user, fix: `sudo du -sh ${q(root)}/* # then delete old uploads` }));
    else if (pct < 5) out.push(warn('chroot.space', 'free space for uploads', ev, { user, fix: `sudo du -sh ${q(root)}/* # then delete old uploads` }));
    else out.push(pass('chroot.space', 'free space for uploads', ev, { user }));
  } catch {
    /* statfs unsupported: say nothing */
  }
  return out;
}

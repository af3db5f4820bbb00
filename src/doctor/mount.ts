/**
 * Is the upload tree on a mount that makes what the account uploads inert (nosuid, nodev)? The SFTP
 * allow-list cannot stop OPEN and MKDIR from carrying set-uid/set-gid bits; on such a mount they do nothing.
 */
import { mountProtection, PROTECT_FLAGS } from '../collector/mount.js';
import { canonicalPath, readMounts } from '../system/mount.js';
import { pass, q, skip, warn, type DoctorCheck } from './check.js';
import type { UploadAccount } from './collector-context.js';

export async function mountChecks(a: UploadAccount): Promise<DoctorCheck[]> {
  const { user } = a;
  const title = `upload tree mounted nosuid,nodev`;
  if (!a.chroot) return [skip('chroot.mount', title, 'no ChrootDirectory applies to this account', { user })];
  let entries;
  try {
    entries = await readMounts();
  } catch (err) {
    return [skip('chroot.mount', title, `cannot read /proc/self/mountinfo: ${(err as Error).message}`, { user })];
  }
  const root = await canonicalPath(a.chroot);
  const m = mountProtection(entries, root);
  const where = m.mount ? `${root} is on ${m.mount.mountPoint} (${m.mount.fsType}) mounted ${m.mount.options.join(',')}` : `${root}: no mount found`;
  const lacking = m.missing.filter((f) => f === 'nosuid' || f === 'nodev');
  if (lacking.length === 0) return [pass('chroot.mount', title, [where], { user })];
  return [warn('chroot.mount', title, [where], {
    user,
    reason: `without ${lacking.join(',')}, a set-uid file or a device node the account leaves in the tree (SFTP OPEN and MKDIR carry modes) works for whoever can reach it; --protect-mount bind-mounts the tree ${PROTECT_FLAGS.join(',')} in /etc/fstab and now`,
    fix: `sudo sftp-setup init --user ${user} --root ${q(a.chroot)}${a.profile === 'dropbox' ? ' --profile dropbox' : ''} --protect-mount`,
  })];
}

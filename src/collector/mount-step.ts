/**
 * The step behind `init --protect-mount`: /etc/fstab keeps the upload tree nosuid,nodev,noexec across
 * boots (a bind mount of the tree onto itself, or the flags added to an entry that mounts it already), and
 * the tree is mounted that way now. The fstab change goes through the journal (backup, rollback); a
 * mount this run made is unmounted on rollback, flags it changed are put back.
 */
import { FailError } from '../errors.js';
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import { readText, statPath, type Journal } from '../system/files.js';
import { bindOnto, canonicalPath, FSTAB, readMounts, remountProtected, remountWith, unmount } from '../system/mount.js';
import { mountProtection, planFstab, PROTECT_FLAGS, removeFromFstab } from './mount.js';

/** /etc/fstab rewritten through the journal, keeping its owner and mode. */
export async function writeFstab(journal: Journal, text: string): Promise<void> {
  const info = await statPath(FSTAB);
  await journal.writeAtomic(FSTAB, text, { mode: info?.mode ?? 0o644, uid: info?.uid ?? 0, gid: info?.gid ?? 0 });
}

export function protectMountStep(root: string, journal: Journal): Step {
  const look = async () => {
    const real = await canonicalPath(root);
    const before = (await readText(FSTAB)) ?? '';
    const fstab = planFstab(before, real);
    const now = mountProtection(await readMounts(), real);
    return { real, before, fstab, now };
  };
  return {
    id: 'protect-mount',
    title: `upload tree ${root} mounted ${PROTECT_FLAGS.join(',')}`,
    async check() {
      const { real, before, fstab, now } = await look();
      const mountNow = !now.ownMount || now.missing.length > 0;
      if (fstab.change === 'none' && !mountNow) return null;
      const parts = [
        fstab.change === 'added' ? `${FSTAB}: bind mount added` : fstab.change === 'options' ? `${FSTAB}: ${PROTECT_FLAGS.join(',')} added to the entry for ${real}` : '',
        mountNow ? (now.ownMount ? `remounted ${now.missing.join(',')}` : `bind-mounted onto itself ${PROTECT_FLAGS.join(',')}`) : '',
      ].filter(Boolean);
      return { summary: parts.join('; '), diff: unifiedDiff(before, fstab.text, FSTAB) || undefined };
    },
    async apply() {
      const { real, fstab, now } = await look();
      if (fstab.change !== 'none') await writeFstab(journal, fstab.text);
      if (!now.ownMount) {
        await bindOnto(real);
        journal.onRollback(() => unmount(real));
        await remountProtected(real);
      } else if (now.missing.length) {
        const original = now.mount!.options;
        await remountProtected(real);
        journal.onRollback(() => remountWith(real, original));
      }
      const after = mountProtection(await readMounts(), real);
      if (!after.ownMount || after.missing.length) {
        throw new FailError(`${real} is still mounted without ${after.missing.join(',')} after the remount`, 'look at the mount with: findmnt ' + real);
      }
    },
  };
}

/**
 * For uninstall: take out what --protect-mount added for this tree (the marked fstab lines) and, when it
 * did, unmount the bind mount, so the tree can be purged and nothing of ours stays in /etc/fstab. A mount
 * or fstab entry of the person's own is left alone. Rollback puts the line and the mount back.
 */
export function unprotectMountStep(root: string, journal: Journal): Step {
  const look = async () => {
    const real = await canonicalPath(root);
    const before = (await readText(FSTAB)) ?? '';
    const fstab = removeFromFstab(before, real);
    const now = mountProtection(await readMounts(), real);
    return { real, before, fstab, mounted: fstab.removed && now.ownMount };
  };
  return {
    id: 'protect-mount',
    title: `nosuid,nodev,noexec mount of ${root} (init --protect-mount)`,
    async check() {
      const { before, fstab, mounted } = await look();
      if (!fstab.removed) return null;
      return { summary: `remove its lines from ${FSTAB}${mounted ? ' and unmount it' : ''}`, diff: unifiedDiff(before, fstab.text, FSTAB) || undefined };
    },
    async apply() {
      const { real, fstab, mounted } = await look();
      if (!fstab.removed) return;
      await writeFstab(journal, fstab.text);
      if (mounted) {
        await unmount(real);
        journal.onRollback(async () => {
          await bindOnto(real);
          await remountProtected(real);
        });
      }
    },
  };
}

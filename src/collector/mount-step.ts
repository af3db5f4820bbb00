/**
 * The step behind `init --protect-mount`: /etc/fstab keeps the upload tree nosuid,nodev,noexec across
 * boots (a bind mount of the tree onto itself, or the flags added to an entry that mounts it already), and
 * the tree is mounted that way now. The fstab change goes through the journal (backup, rollback); a
 * mount this run made is unmounted on rollback, flags it changed are put back.
 */
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import { readText, statPath, type Journal } from '../system/files.js';
import { bindOnto, canonicalPath, FSTAB, readMounts, remountProtected, remountWith, unmount } from '../system/mount.js';
import { mountProtection, planFstab, PROTECT_FLAGS } from './mount.js';

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
      if (fstab.change !== 'none') {
        const info = await statPath(FSTAB);
        await journal.writeAtomic(FSTAB, fstab.text, { mode: info?.mode ?? 0o644, uid: info?.uid ?? 0, gid: info?.gid ?? 0 });
      }
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
        throw new Error(`${real} is still mounted without ${after.missing.join(',')} after the remount`);
      }
    },
  };
}

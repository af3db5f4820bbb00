/**
 * The steps behind `init --log` and `--no-log` (and uninstall): the host's log socket bound onto
 * `<root>/dev/log`, kept across boots by a marked /etc/fstab line (the same journal-backed fstab write as
 * --protect-mount), or all of that taken away again. A rollback unmounts what this run mounted and removes
 * what it made.
 */
import { FailError } from '../errors.js';
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import { makeDevLogMountPoint, readDevLog, removeDevLogMountPoint } from '../system/devlog.js';
import { readText, type Journal } from '../system/files.js';
import { bindMount, canonicalPath, FSTAB, readMounts, unmount } from '../system/mount.js';
import { devLogPath, devLogTodo, planDevLogFstab, removeDevLogFstab, type LogSocket } from './devlog.js';
import { mountProtection } from './mount.js';
import { writeFstab } from './mount-step.js';

export function devLogStep(root: string, socket: LogSocket, journal: Journal): Step {
  const look = async () => {
    const real = await canonicalPath(root);
    const before = (await readText(FSTAB)) ?? '';
    const fstab = planDevLogFstab(before, real, socket);
    const facts = await readDevLog(root, socket);
    return { real, before, fstab, facts, todo: devLogTodo(facts, fstab.change) };
  };
  return {
    id: 'log-socket',
    title: `upload logging: ${devLogPath(root)} bound to ${socket.path} (kept in ${FSTAB})`,
    async check() {
      const { before, fstab, todo } = await look();
      if (todo.length === 0) return null;
      return { summary: todo.join('; '), diff: fstab.change === 'none' ? undefined : unifiedDiff(before, fstab.text, FSTAB) || undefined };
    },
    async apply() {
      const { real, fstab, facts, todo } = await look();
      if (todo.length === 0) return;
      if (facts.dir === 'bad' || facts.file === 'other') {
        throw new FailError(`${devLogPath(root)} or its directory is not what sftp-setup makes there (a root-owned directory holding the log socket)`, `look at it, move it away, then run again: ls -la ${root}/dev`);
      }
      if (fstab.change !== 'none') await writeFstab(journal, fstab.text);
      const made = await makeDevLogMountPoint(root);
      journal.onRollback(() => removeDevLogMountPoint(root, made));
      const target = devLogPath(real);
      // A mount that outlived its socket (the daemon made a new one) goes first; a new bind takes its place.
      // One that a later bind of the tree onto itself (--protect-mount) covered cannot be reached to unmount:
      // it leads nowhere, and the new bind goes on top.
      if (facts.mounted && !facts.live) await unmount(target).catch(() => {});
      if (!facts.mounted || !facts.live) {
        await bindMount(socket.path, target);
        journal.onRollback(() => unmount(target));
      }
      const after = await readDevLog(root, socket);
      if (!after.live) throw new FailError(`${target} is not ${socket.path} after the bind mount`, `look at it with: findmnt ${target}`);
    },
  };
}

/**
 * Before `--protect-mount` binds the tree onto itself: our socket's mount inside the tree would end up
 * under that bind, unreachable (it could no longer be unmounted by its path, and its file never removed), so
 * it comes off for the moment; devLogStep, after the tree's bind, mounts the socket again on top.
 */
export function devLogDetachStep(root: string, socket: LogSocket, journal: Journal): Step {
  const look = async () => {
    const real = await canonicalPath(root);
    const mounts = await readMounts();
    const willBind = !mountProtection(mounts, real).ownMount;
    return { target: devLogPath(real), detach: willBind && mounts.some((m) => m.mountPoint === devLogPath(real)) };
  };
  return {
    id: 'log-socket-detach',
    title: `upload logging: ${devLogPath(root)} unmounted while the tree is bound onto itself`,
    async check() {
      return (await look()).detach ? { summary: 'unmount it for a moment' } : null;
    },
    async apply() {
      const { target, detach } = await look();
      if (!detach) return;
      await unmount(target);
      journal.onRollback(() => bindMount(socket.path, target));
    },
  };
}

/**
 * Logging off (`init --no-log`, uninstall): our fstab line, our mount and the mount point go. A socket in
 * the chroot that is not ours (a syslog daemon's own) is left alone.
 */
export function devLogOffStep(root: string, journal: Journal): Step {
  const look = async () => {
    const real = await canonicalPath(root);
    const before = (await readText(FSTAB)) ?? '';
    const fstab = removeDevLogFstab(before, real);
    const facts = await readDevLog(root, null);
    // Our mount: the one our fstab line names (a mount of the person's own on that path has no line of ours).
    const mounted = facts.mounted && fstab.removed;
    const leftover = !facts.mounted && facts.file === 'file';
    return { real, before, fstab, mounted, leftover };
  };
  return {
    id: 'log-socket',
    title: `upload logging off: no log socket of sftp-setup's in ${root}/dev`,
    async check() {
      const { before, fstab, mounted, leftover } = await look();
      const todo = [
        fstab.removed ? `remove its lines from ${FSTAB}` : '',
        mounted ? 'unmount it' : '',
        leftover || mounted ? `remove ${devLogPath(root)}` : '',
      ].filter(Boolean);
      if (todo.length === 0) return null;
      return { summary: todo.join(', '), diff: fstab.removed ? unifiedDiff(before, fstab.text, FSTAB) || undefined : undefined };
    },
    async apply() {
      const { real, fstab, mounted } = await look();
      if (fstab.removed) await writeFstab(journal, fstab.text);
      const target = devLogPath(real);
      if (mounted) {
        await unmount(target);
        const source = fstab.source;
        if (source) journal.onRollback(() => bindMount(source, target));
      }
      await removeDevLogMountPoint(root);
      journal.onRollback(async () => {
        await makeDevLogMountPoint(root);
      });
    },
  };
}

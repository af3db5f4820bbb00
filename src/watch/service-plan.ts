/**
 * The steps of `watch --install` and `--uninstall`: the unit file (validated by systemd-analyze before it is
 * written, backed up and put back on rollback) and, where systemd runs, the service enabled and started (or
 * restarted when its unit changed), or stopped and disabled. A rollback puts the unit file back, reloads
 * systemd and returns the service to how it was.
 */
import { FailError } from '../errors.js';
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import { readText, statPath, type Journal } from '../system/files.js';
import { systemdRuns } from '../system/sshd.js';
import { systemctl, unitState, verifyUnit } from '../system/systemd.js';
import { unitName, unitPath } from './unit.js';

const reloadSystemd = async () => {
  if (systemdRuns()) await systemctl(['daemon-reload']).catch(() => {});
};

export function installSteps(user: string, text: string, secret: boolean, journal: Journal): Step[] {
  const path = unitPath(user);
  const name = unitName(user);
  const mode = secret ? 0o600 : 0o644;
  const changed = { value: false };
  const steps: Step[] = [{
    id: 'watch-unit',
    title: `service unit ${path}`,
    async check() {
      const before = await readText(path);
      const info = await statPath(path);
      if (before === text && info?.mode === mode && info.uid === 0) return null;
      return { summary: before === null ? 'create' : before === text ? `mode ${mode.toString(8)}` : 'update', diff: unifiedDiff(before ?? '', text, path) };
    },
    async apply() {
      const problem = await verifyUnit(name, text);
      if (problem) throw new FailError(`systemd-analyze verify rejects the unit: ${problem}`, 'nothing was installed; please report this with the output of --dry-run');
      journal.afterRollback('systemctl daemon-reload', reloadSystemd);
      await journal.writeAtomic(path, text, { mode, uid: 0, gid: 0 });
      changed.value = true;
    },
  }];
  if (!systemdRuns()) return steps;
  steps.push({
    id: 'watch-service',
    title: `${name} enabled and running`,
    async check() {
      const s = await unitState(name);
      if (s.enabled && s.active && !changed.value) return null;
      return { summary: [!s.enabled ? 'enable' : '', !s.active ? 'start' : changed.value ? 'restart (its unit changed)' : ''].filter(Boolean).join(', ') };
    },
    async apply() {
      const before = await unitState(name);
      await systemctl(['daemon-reload']);
      if (!before.enabled) {
        journal.onRollback(() => systemctl(['disable', name]).then(() => undefined));
        await systemctl(['enable', name]);
      }
      journal.onRollback(async () => {
        // After the unit file is back (the rollback runs newest first): as it was.
        await reloadSystemd();
        await systemctl([before.active ? 'restart' : 'stop', name]).catch(() => {});
      });
      await systemctl([before.active ? 'restart' : 'start', name]);
    },
  });
  return steps;
}

export function uninstallSteps(user: string, journal: Journal): Step[] {
  const path = unitPath(user);
  const name = unitName(user);
  const steps: Step[] = [];
  if (systemdRuns()) {
    steps.push({
      id: 'watch-service',
      title: `${name} stopped and disabled`,
      async check() {
        const s = await unitState(name);
        return s.enabled || s.active ? { summary: [s.active ? 'stop' : '', s.enabled ? 'disable' : ''].filter(Boolean).join(', ') } : null;
      },
      async apply() {
        const before = await unitState(name);
        journal.onRollback(async () => {
          await reloadSystemd();
          if (before.enabled) await systemctl(['enable', name]).catch(() => {});
          if (before.active) await systemctl(['start', name]).catch(() => {});
        });
        await systemctl(['disable', '--now', name]);
      },
    });
  }
  steps.push({
    id: 'watch-unit',
    title: `service unit ${path}`,
    async check() {
      const before = await readText(path);
      return before === null ? null : { summary: 'remove (backed up)', diff: unifiedDiff(before, '', path) };
    },
    async apply() {
      journal.afterRollback('systemctl daemon-reload', reloadSystemd);
      await journal.remove(path);
      await reloadSystemd();
    },
  });
  return steps;
}

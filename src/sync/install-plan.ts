/**
 * `sync --install` and `--uninstall` as plan Steps for applyPlan: the service and timer files, the enable
 * link (what `systemctl enable` makes for WantedBy=timers.target), and, where systemd runs, a daemon-reload
 * and the timer started or stopped. Every file change goes through the journal, so a failure puts the old
 * files back (and reloads systemd once more).
 */
import { posix } from 'node:path';
import { fileStep } from '../camera/plan.js';
import type { Step } from '../plan/step.js';
import { ensureDir, removeEmptyDir, statPath, type FileInfo, type Journal } from '../system/files.js';
import { makeLink, removeLink, systemctl, unitActive } from '../system/systemd.js';
import { SERVICE_PATH, TIMER_PATH, UNIT_NAME, WANTS_LINK, WANTS_TARGET } from './units.js';

export interface UnitFiles {
  service: { before: string | null; info: FileInfo | null; want: string };
  timer: { before: string | null; info: FileInfo | null; want: string };
  link: string | null;
  systemd: boolean;
}

const TIMER = `${UNIT_NAME}.timer`;

function reloadAfterRollback(journal: Journal, systemd: boolean): void {
  if (systemd) journal.afterRollback('systemctl daemon-reload', async () => void (await systemctl(['daemon-reload'])));
}

export function installSteps(f: UnitFiles, journal: Journal): Step[] {
  const root = { uid: 0, gid: 0, mode: 0o644 };
  let changed = false;
  const track = (s: Step): Step => ({ ...s, apply: async () => { changed = true; reloadAfterRollback(journal, f.systemd); await s.apply(); } });
  const steps: Step[] = [
    track(fileStep({ id: 'sync-service', title: `service ${SERVICE_PATH}`, path: SERVICE_PATH, ...f.service, ...root }, journal)),
    track(fileStep({ id: 'sync-timer', title: `timer ${TIMER_PATH}`, path: TIMER_PATH, ...f.timer, ...root }, journal)),
    track({
      id: 'sync-enable',
      title: `timer enabled (${WANTS_LINK})`,
      check: async () => (f.link === WANTS_TARGET ? null : { summary: `${WANTS_LINK} -> ${WANTS_TARGET}` }),
      apply: async () => {
        const dir = posix.dirname(WANTS_LINK);
        if (!(await statPath(dir))) {
          journal.onRollback(() => removeEmptyDir(dir));
          await ensureDir(dir, 0o755, 0, 0);
        }
        if (f.link !== null) await removeLink(WANTS_LINK);
        journal.onRollback(async () => {
          await removeLink(WANTS_LINK);
          if (f.link !== null) await makeLink(f.link, WANTS_LINK);
        });
        await makeLink(WANTS_TARGET, WANTS_LINK);
      },
    }),
  ];
  if (f.systemd) {
    steps.push({
      id: 'sync-start',
      title: `${TIMER} running`,
      check: async () => (changed || !(await unitActive(TIMER)) ? { summary: 'systemctl daemon-reload; systemctl restart ' + TIMER } : null),
      apply: async () => {
        // Put back as it was: a timer that ran before runs again on the old units (after the reload), a new one stops.
        if (await unitActive(TIMER)) journal.afterRollback(`systemctl restart ${TIMER}`, async () => void (await systemctl(['restart', TIMER])));
        else journal.onRollback(async () => void (await systemctl(['stop', TIMER]).catch(() => undefined)));
        await systemctl(['daemon-reload']);
        await systemctl(['restart', TIMER]);
      },
    });
  }
  return steps;
}

export function uninstallSteps(f: UnitFiles, journal: Journal): Step[] {
  const steps: Step[] = [];
  if (f.systemd) {
    steps.push({
      id: 'sync-stop',
      title: `${TIMER} stopped`,
      check: async () => ((await unitActive(TIMER)) ? { summary: `systemctl stop ${TIMER}` } : null),
      apply: async () => {
        journal.onRollback(async () => void (await systemctl(['start', TIMER]).catch(() => undefined)));
        await systemctl(['stop', TIMER]);
      },
    });
  }
  steps.push({
    id: 'sync-enable',
    title: `timer not enabled (${WANTS_LINK})`,
    check: async () => (f.link === null ? null : { summary: `${WANTS_LINK} removed` }),
    apply: async () => {
      reloadAfterRollback(journal, f.systemd);
      journal.onRollback(async () => makeLink(f.link!, WANTS_LINK));
      await removeLink(WANTS_LINK);
    },
  });
  for (const [id, path, file] of [['sync-timer', TIMER_PATH, f.timer], ['sync-service', SERVICE_PATH, f.service]] as const) {
    steps.push({
      id,
      title: `${path} removed`,
      check: async () => (file.before === null ? null : { summary: `${path} removed` }),
      apply: async () => {
        reloadAfterRollback(journal, f.systemd);
        await journal.remove(path);
      },
    });
  }
  if (f.systemd) {
    steps.push({
      id: 'sync-reload',
      title: 'systemd reloaded',
      check: async () => (f.link !== null || f.timer.before !== null || f.service.before !== null ? { summary: 'systemctl daemon-reload' } : null),
      apply: async () => void (await systemctl(['daemon-reload'])),
    });
  }
  return steps;
}

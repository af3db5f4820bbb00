/**
 * `watch --install` / `--uninstall`: the watcher as a systemd service, through the one apply path (lock,
 * preview, confirm, backups, rollback). Where systemd does not run (a container, CI), the unit file is
 * written or removed and the command says that nothing was started or stopped.
 */
import { paint } from '../text/color.js';
import { BACKUP_ROOT, LOCK_PATH } from '../collector/layout.js';
import { EXIT } from '../exit-codes.js';
import { LAUNCHER } from '../launcher.js';
import { applyPlan } from '../plan/apply.js';
import { printJson } from '../report.js';
import { backupDirFor, Journal } from '../system/files.js';
import { systemdRuns } from '../system/sshd.js';
import { watchArgs, type WatchSpec } from '../watch/options.js';
import { installSteps, uninstallSteps } from '../watch/service-plan.js';
import { holdsSecret, renderWatchUnit, unitName, unitPath } from '../watch/unit.js';
import { writeOut } from '../system/stdout.js';

export async function watchServiceCommand(spec: WatchSpec, _root: string, o: { uninstall: boolean; dryRun: boolean; yes: boolean; json: boolean }): Promise<number> {
  const out = (s: string) => !o.json && writeOut(`${s}\n`);
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  const args = watchArgs(spec);
  const text = renderWatchUnit({ user: spec.user, node: process.execPath, launcher: LAUNCHER, args });
  const applied = await applyPlan({
    subject: `the upload event service ${unitName(spec.user)}`,
    doing: o.uninstall ? 'Removing' : 'Installing', already: o.uninstall ? 'removed' : 'installed', done: 'Done.',
    lockPath: LOCK_PATH, journal, dryRun: o.dryRun, yes: o.yes, json: o.json, out,
    steps: async () => (o.uninstall ? uninstallSteps(spec.user, journal) : installSteps(spec.user, text, holdsSecret(args), journal)),
  });
  if (applied.declined) return EXIT.failed;
  const systemd = systemdRuns();
  if (!systemd && !o.dryRun) {
    out(paint.yellow(o.uninstall
      ? 'systemd is not running here: the unit file is gone; stop a watcher you started by hand yourself.'
      : `systemd is not running here: ${unitPath(spec.user)} is written but nothing was started; run the watcher another way: sftp-setup ${args.join(' ')}`));
  } else if (!o.uninstall && !o.dryRun) {
    out(`Its log: journalctl -u ${unitName(spec.user)}`);
  }
  if (o.json) printJson({ ok: true, dryRun: o.dryRun, steps: applied.reports, unit: unitPath(spec.user), systemd });
  return EXIT.ok;
}

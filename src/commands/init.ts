/**
 * `sftp-setup init`: the collector side. Gather and validate inputs, read the host, build the plan, show it,
 * apply it under a lock with backups, validate sshd before and after the reload, and prove the result with
 * a real SFTP session.
 */
import chalk from 'chalk';
import { FailError, requireRoot, UsageError } from '../errors.js';
import { DEFAULT_DIRS, DEFAULT_ROOT, DEFAULT_USER, LOCK_PATH, BACKUP_ROOT, expandDirs, keysFileFor } from '../collector/layout.js';
import { parseDirList } from '../collector/dirs.js';
import { buildCollectorPlan, type CollectorSpec } from '../collector/plan.js';
import { readSshdState } from '../collector/inspect.js';
import { runPlan, PlanFailed } from '../plan/runner.js';
import type { StepReport } from '../plan/step.js';
import { formatCheck, formatStep, printJson } from '../report.js';
import { acquireLock, backupDirFor, Journal } from '../system/files.js';
import { readKeyArg } from '../system/key-input.js';
import { cleanStaleProbe, probeAccount, type ProbeResult } from '../system/probe.js';
import { enableAndStart, isRunning, reload, startHint, systemdRuns } from '../system/sshd.js';
import { parseCidrList, validateAbsPath, validatePort, validateUserName } from '../validate.js';
import { probeTargetFor } from '../collector/probe-target.js';
import { systemDirProblem } from '../collector/root-rules.js';
import { envPathProblem, refuseBadCollectorEnv } from '../collector/env-file.js';
import { protectMountStep } from '../collector/mount-step.js';
import { confirm } from '../prompt.js';

export interface InitOptions {
  user: string;
  root: string;
  dirs?: string;
  key: string[];
  from?: string;
  profile: 'allsky' | 'dropbox';
  port?: string;
  adopt: boolean;
  verify: boolean;
  collectorEnv?: string;
  /** also mount the upload tree nosuid,nodev,noexec (fstab + now) */
  protectMount?: boolean;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
}

export function parseInitInputs(o: InitOptions): CollectorSpec {
  const user = validateUserName(o.user ?? DEFAULT_USER, '--user');
  const root = validateAbsPath(o.root ?? DEFAULT_ROOT, '--root');
  const system = systemDirProblem(root);
  if (system) {
    throw new UsageError(
      `--root ${root}: ${system}, and the upload account would be chrooted into it with upload directories made inside`,
      'give a directory of its own for the uploads, such as /var/lib/allsky-uploads or /srv/sftp/allsky',
    );
  }
  const from = o.from !== undefined ? parseCidrList(o.from, '--from') : undefined;
  const port = o.port !== undefined ? validatePort(o.port, '--port') : undefined;
  const dirs = expandDirs(o.dirs !== undefined ? parseDirList(o.dirs, '--dirs') : DEFAULT_DIRS);
  const collectorEnv = o.collectorEnv !== undefined ? validateAbsPath(o.collectorEnv, '--collector-env') : undefined;
  const envProblem = collectorEnv !== undefined ? envPathProblem(collectorEnv) : null;
  if (envProblem) {
    throw new UsageError(`--collector-env ${collectorEnv} ${envProblem}; nothing was changed`, 'give the path of the collector application\'s own .env file, e.g. /opt/collector-app/.env');
  }
  const keys = o.key.flatMap((k) => readKeyArg(k, '--key'));
  return { user, root, dirs, keys, from, port, profile: o.profile, adopt: o.adopt, collectorEnv };
}

export async function initCommand(o: InitOptions): Promise<number> {
  const spec = parseInitInputs(o);
  requireRoot('init changes accounts and sshd');
  const out = (s: string) => {
    if (!o.json) process.stdout.write(s + '\n');
  };
  if (spec.collectorEnv) await refuseBadCollectorEnv(spec.collectorEnv);
  const sshd = await readSshdState();
  const release = o.dryRun ? async () => {} : await acquireLock(LOCK_PATH);
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  let reports: StepReport[] = [];
  let probe: ProbeResult[] | undefined;
  let sshdTouched = false;
  try {
    // The plan refuses a bad --root before anything is touched, the stale-probe clean-up included.
    const plan = await buildCollectorPlan(spec, sshd, journal, () => (sshdTouched = true));
    // Holding the lock, anything a crashed probe left behind is stale.
    if (!o.dryRun) await cleanStaleProbe(spec.user, spec.root, spec.dirs);
    // Once the tree exists: what the SFTP allow-list cannot bound (modes carried by OPEN and MKDIR).
    if (o.protectMount) plan.steps = [...plan.steps, protectMountStep(spec.root, journal)];
    out(chalk.bold(`${o.dryRun ? 'Plan (dry run, nothing will change)' : 'Setting up'} upload account ${spec.user} in ${spec.root}`));

    if (!o.dryRun && !o.yes && process.stdin.isTTY) {
      const preview = await runPlan(plan.steps, { dryRun: true });
      const pending = preview.filter((r) => r.status === 'would-change');
      if (pending.length > 0) {
        for (const r of pending) out(formatStep(r, true));
        if (!(await confirm('Apply these changes?'))) {
          out('Nothing changed.');
          return 1;
        }
      }
    }
    reports = await runPlan(plan.steps, { dryRun: o.dryRun, onReport: (r) => out(formatStep(r, o.dryRun)) });

    const changed = reports.some((r) => r.status === 'changed');
    if (o.dryRun) {
      out(reports.some((r) => r.status === 'would-change') ? 'Dry run: nothing was changed.' : 'Already set up: nothing would change.');
    } else {
      out(changed ? chalk.green('Done.') + (journal.backedUp.length ? ` Backups in ${journal.backupDirPath}` : '') : 'Already set up: nothing changed.');
    }

    if (!o.dryRun && !o.json && systemdRuns() && !(await isRunning()) && (await confirm('sshd is not running. Enable and start it now (systemctl enable --now ssh)?'))) {
      await enableAndStart();
    }
    if (!o.dryRun && !(await isRunning())) {
      // The files are right, but nobody can log in: that is not success, with or without the self-test.
      const why = `sshd is not running: the account is set up, but no upload can log in until it runs${o.verify ? ' (self-test skipped)' : ''}`;
      if (o.json) printJson({ ok: false, dryRun: false, steps: reports, selfTest: null, error: why, fix: startHint() });
      else process.stderr.write(`${chalk.yellow(`sftp-setup: ${why}`)} — start it with: ${startHint()}\n`);
      return 1;
    }
    if (!o.dryRun && o.verify) {
      const target = await probeTargetFor(spec, sshd.mainPath);
      out(chalk.bold(`Self-test: a real SFTP session as ${spec.user} on port ${target.port}`));
      probe = await probeAccount(target);
      for (const p of probe) out(formatCheck(p));
    }
    const ok = !probe || probe.every((p) => p.ok);
    if (o.json) printJson({ ok, dryRun: o.dryRun, steps: reports, selfTest: probe ?? null, keysFile: keysFileFor(spec.user) });
    if (!ok) {
      out(chalk.red('The self-test failed: the account is set up but does not behave as it should. Run: sudo sftp-setup doctor'));
      return 1;
    }
    if (!o.dryRun && spec.keys.length === 0 && changed) {
      out(`Next: on the camera run ${chalk.cyan(`sftp-setup allsky-config --collector <this host> --user ${spec.user}`)}`);
    }
    if (!o.dryRun) {
      for (const fp of plan.hostKeyFingerprints) out(`Host key of this collector: ${fp}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof PlanFailed) reports = err.reports;
    const problems = o.dryRun ? [] : await journal.rollback();
    if (sshdTouched && !o.dryRun) {
      // The previous configuration is back on disk; make the daemon use it again.
      await reload().catch((e) => problems.push(`reload after rollback: ${(e as Error).message}`));
    }
    const cause = err instanceof PlanFailed ? err.failure : err;
    if (o.json) printJson({ ok: false, steps: reports, error: (cause as Error).message, rollbackProblems: problems });
    if (problems.length) {
      throw new FailError(`${(cause as Error).message}; rolling back also failed: ${problems.join('; ')}`, `restore by hand from ${journal.backupDirPath}`);
    }
    if (!o.dryRun && journal.changedPaths.length) out(chalk.yellow('Every change of this run was rolled back.'));
    throw cause;
  } finally {
    await release();
  }
}

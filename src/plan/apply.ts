/**
 * The one way a command changes a host. Every changing command (init, uninstall, allsky-config, keys add and
 * remove, doctor --fix) builds a list of Steps and hands it here; the stages below are the same for all, so
 * the same situation reads the same whatever the command:
 *
 *   lock → plan (built under the lock) → preview and confirm (a terminal only, unless --yes) → apply with a
 *   journal → outcome line → after (the self-test);  on any failure: roll back (which reloads sshd when a
 *   step changed its configuration: the step registers that with the journal) → report → rethrow.
 */
import { paint } from '../text/color.js';
import { FailError } from '../errors.js';
import { formatStep, printJson } from '../report.js';
import { acquireLock, type Journal } from '../system/files.js';
import { confirm } from '../prompt.js';
import { PlanFailed, runPlan } from './runner.js';
import type { Step, StepReport } from './step.js';
import { writeOut } from '../system/stdout.js';

export interface ApplyRequest {
  /** what the run is about, after its verb: "upload account cam1 in /srv/cam1" */
  subject: string;
  /** the verb of a real run: "Setting up", "Removing", "Configuring" */
  doing: string;
  /** the end of "Already …: nothing changed", e.g. "set up", "configured" */
  already: string;
  /** the outcome line of a run that changed something, e.g. "Done.", "Camera configured." */
  done: string;
  /** the run lock, taken unless this is a dry run; null when the caller holds it (keys rotate's edits) */
  lockPath: string | null;
  journal: Journal;
  /** the steps, or a function that builds them once the lock is held (what they read cannot change under them) */
  steps: Step[] | (() => Promise<Step[]>);
  /** runs under the lock once the plan applied (the self-test); a throw here rolls the run back too */
  after?: (reports: StepReport[]) => Promise<void>;
  dryRun: boolean;
  yes: boolean;
  json: boolean;
  /** human output; '' prints nothing. Defaults to stdout unless --json. */
  out?: (line: string) => void;
  /** each step's report as it comes (doctor --fix collects them); the default prints them with out() */
  onReport?: (r: StepReport) => void;
  /** what a failure's JSON report carries besides the steps and the error */
  jsonOnFailure?: () => Record<string, unknown>;
}

export type Applied =
  | { declined: false; reports: StepReport[]; changed: boolean; pending: boolean }
  | { declined: true };

export async function applyPlan(req: ApplyRequest): Promise<Applied> {
  const out = req.out ?? ((s: string) => void (req.json || writeOut(s + '\n')));
  const release = req.dryRun || req.lockPath === null ? async () => {} : await acquireLock(req.lockPath);
  let reports: StepReport[] = [];
  try {
    const steps = typeof req.steps === 'function' ? await req.steps() : req.steps;
    out(paint.bold(`${req.dryRun ? 'Plan (dry run, nothing will change)' : req.doing} ${req.subject}`));
    if (!(await confirmed(steps, req, out))) {
      out('Nothing changed.');
      return { declined: true };
    }
    reports = await runPlan(steps, { dryRun: req.dryRun, onReport: req.onReport ?? ((r) => out(formatStep(r, req.dryRun))) });
    const changed = reports.some((r) => r.status === 'changed');
    const pending = reports.some((r) => r.status === 'would-change');
    out(outcomeLine(req, changed, pending));
    await req.after?.(reports);
    return { declined: false, reports, changed, pending };
  } catch (err) {
    if (err instanceof PlanFailed) reports = err.reports;
    throw await rolledBack(err, reports, req, out);
  } finally {
    await release();
  }
}

/** On a terminal, without --yes: show what would change and ask. Nothing to change asks nothing. */
async function confirmed(steps: Step[], req: ApplyRequest, out: (s: string) => void): Promise<boolean> {
  if (req.dryRun || req.yes || !process.stdin.isTTY) return true;
  const pending = (await runPlan(steps, { dryRun: true })).filter((r) => r.status === 'would-change');
  if (pending.length === 0) return true;
  for (const r of pending) out(formatStep(r, true));
  return confirm('Apply these changes?');
}

function outcomeLine(req: ApplyRequest, changed: boolean, pending: boolean): string {
  if (req.dryRun) return pending ? 'Dry run: nothing was changed.' : `Already ${req.already}: nothing would change.`;
  if (!changed) return `Already ${req.already}: nothing changed.`;
  return paint.green(req.done) + (req.journal.backedUp.length ? ` Backups in ${req.journal.backupDirPath}` : '');
}

/**
 * Put back everything the run changed and say so; the error to rethrow is the cause, or a FailError naming
 * what could not be put back and where the backups are.
 */
async function rolledBack(err: unknown, reports: StepReport[], req: ApplyRequest, out: (s: string) => void): Promise<unknown> {
  const cause = err instanceof PlanFailed ? err.failure : err;
  const message = cause instanceof Error ? cause.message : String(cause);
  const problems = req.dryRun ? [] : await req.journal.rollback();
  if (req.json) printJson({ ok: false, dryRun: req.dryRun, ...req.jsonOnFailure?.(), steps: reports, error: message, rollbackProblems: problems });
  if (problems.length) {
    return new FailError(`${message}; rolling back also failed: ${problems.join('; ')}`, `restore by hand from ${req.journal.backupDirPath}`);
  }
  if (!req.dryRun && req.journal.changedAnything) out(paint.yellow('Every change of this run was rolled back.'));
  return cause;
}

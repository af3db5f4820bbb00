import { leadsProcessGroup } from '../system/proc.js';
import type { Step, StepReport } from './step.js';

export interface RunPlanOptions {
  dryRun: boolean;
  /** called after each step, for live output */
  onReport?: (r: StepReport) => void;
}

export class PlanFailed extends Error {
  constructor(
    readonly reports: StepReport[],
    readonly failure: unknown,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.name = 'PlanFailed';
  }
}

/**
 * Check every step in order and apply the ones that drifted. Once a step has been applied, each later step
 * is checked again after the one before it, because later steps look at what earlier ones made (a user, a
 * directory). Until then, the checks that all started at once stand: they looked at the same system a check
 * in turn would see (checks only read), and a re-run, which usually changes nothing, waits for the slowest
 * check instead of the sum of them all. In a dry run later checks see the unchanged system: they report
 * what they can.
 * Rolling back is the caller's business (it owns the backups); a failure stops the plan at that step.
 */
export async function runPlan(steps: Step[], opts: RunPlanOptions): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  const emit = (r: StepReport) => {
    reports.push(r);
    opts.onReport?.(r);
  };
  const ahead = steps.map((step) => {
    const drift = Promise.resolve().then(() => step.check());
    drift.catch(() => {}); // surfaced when its step's turn comes, unless an apply makes it moot
    return drift;
  });
  let applied = 0;
  for (const [i, step] of steps.entries()) {
    try {
      // A step's check keeps what it found for its apply: the early one must be over before it runs again.
      const drift = applied === 0 ? await ahead[i]! : await ahead[i]!.then(() => step.check(), () => step.check());
      if (!drift) {
        emit({ id: step.id, title: step.title, status: 'unchanged' });
        continue;
      }
      if (opts.dryRun) {
        emit({ id: step.id, title: step.title, status: 'would-change', summary: drift.summary, diff: drift.diff });
        continue;
      }
      await step.apply();
      emit({ id: step.id, title: step.title, status: 'changed', summary: drift.summary, diff: drift.diff });
      killSeam(++applied);
    } catch (err) {
      emit({ id: step.id, title: step.title, status: 'failed', error: err instanceof Error ? err.message : String(err) });
      throw new PlanFailed(reports, err);
    }
  }
  return reports;
}

/**
 * Test seam, not a feature: with SFTP_SETUP_TEST_KILL_AFTER_STEP=N the process group is SIGKILLed right
 * after the Nth applied step, so the safety suite can prove that a run killed at any step boundary leaves
 * a valid sshd configuration and converges on the next run.
 */
function killSeam(applied: number): void {
  const n = process.env.SFTP_SETUP_TEST_KILL_AFTER_STEP;
  if (n === undefined || Number(n) !== applied) return;
  // The group only when we lead it (started under setsid); never a group we merely belong to.
  process.kill(leadsProcessGroup() ? -process.pid : process.pid, 'SIGKILL');
}

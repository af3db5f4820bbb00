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
 * Check every step in order and apply the ones that drifted. Steps are checked one by one, after the
 * previous one was applied, because later steps look at what earlier ones made (a user, a directory).
 * In a dry run later checks see the unchanged system: they report what they can.
 * Rolling back is the caller's business (it owns the backups); a failure stops the plan at that step.
 */
export async function runPlan(steps: Step[], opts: RunPlanOptions): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  const emit = (r: StepReport) => {
    reports.push(r);
    opts.onReport?.(r);
  };
  for (const step of steps) {
    try {
      const drift = await step.check();
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
    } catch (err) {
      emit({ id: step.id, title: step.title, status: 'failed', error: err instanceof Error ? err.message : String(err) });
      throw new PlanFailed(reports, err);
    }
  }
  return reports;
}

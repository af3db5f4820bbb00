/**
 * Plan, then apply. A Step knows how to look at the system (check) and how to bring it in line (apply).
 * The same list gives dry-run (check only), idempotence (apply only what drifted) and the JSON report.
 */
export interface Drift {
  /** one line: what would change */
  summary: string;
  /** unified diff for file changes */
  diff?: string;
}

export interface Step {
  id: string;
  title: string;
  /** What differs from the wanted state; null when the system already matches. Must not change anything. */
  check(): Promise<Drift | null>;
  /** Bring the system in line. Runs only when check() found drift and this is not a dry run. */
  apply(): Promise<void>;
}

export type StepStatus = 'changed' | 'unchanged' | 'would-change' | 'failed' | 'skipped';

export interface StepReport {
  id: string;
  title: string;
  status: StepStatus;
  summary?: string;
  diff?: string;
  error?: string;
}

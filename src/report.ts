/**
 * Human and JSON output shared by the commands.
 */
import chalk from 'chalk';
import { FailError, UsageError, oneLine } from './errors.js';
import type { StepReport } from './plan/step.js';
import { printable as p, printableLines } from './text/printable.js';

/** Print an error as one line and return its exit code. Unexpected errors keep their stack for bug reports. */
export function reportError(err: unknown): number {
  if (err instanceof UsageError || err instanceof FailError) {
    process.stderr.write(`${chalk.red('sftp-setup: error:')} ${p(oneLine(err))}\n`);
    return err.exitCode;
  }
  process.stderr.write(`${chalk.red('sftp-setup: unexpected error:')} ${printableLines((err as Error)?.stack ?? String(err))}\n`);
  return 1;
}

const MARK: Record<StepReport['status'], string> = {
  changed: chalk.green('changed  '),
  unchanged: chalk.dim('ok       '),
  'would-change': chalk.yellow('would    '),
  failed: chalk.red('FAILED   '),
  skipped: chalk.dim('skipped  '),
};

export function formatStep(r: StepReport, showDiff: boolean): string {
  let line = `  ${MARK[r.status]} ${p(r.title)}`;
  if (r.summary && r.status !== 'unchanged') line += chalk.dim(` — ${p(r.summary)}`);
  if (r.error) line += `\n             ${chalk.red(p(r.error))}`;
  if (showDiff && r.diff) line += '\n' + colorDiff(r.diff).replace(/^/gm, '      ');
  return line;
}

/** A unified diff, one colour per kind of line; each line escaped but for its tabs (file contents are data). */
export function colorDiff(diff: string): string {
  return diff
    .replace(/\n$/, '')
    .split('\n')
    .map(printableLines)
    .map((l) =>
      l.startsWith('+') && !l.startsWith('+++') ? chalk.green(l)
      : l.startsWith('-') && !l.startsWith('---') ? chalk.red(l)
      : l.startsWith('@@') ? chalk.cyan(l)
      : l,
    )
    .join('\n');
}

export interface Check {
  id: string;
  title: string;
  ok: boolean;
  detail: string;
}

export function formatCheck(c: Check): string {
  return `  ${c.ok ? chalk.green('pass') : chalk.red('FAIL')}  ${p(c.title)}${chalk.dim(` — ${p(c.detail)}`)}`;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

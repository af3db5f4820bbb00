/**
 * Human and JSON output shared by the commands.
 */
import { paint } from './text/color.js';
import { FailError, UsageError, oneLine } from './errors.js';
import type { StepReport } from './plan/step.js';
import { printable as p, printableLines } from './text/printable.js';
import { wrapLine } from './text/wrap.js';
import { outputWidth, writeOut } from './system/stdout.js';

/** Print an error as one line and return its exit code. Unexpected errors keep their stack for bug reports. */
export function reportError(err: unknown): number {
  if (err instanceof UsageError || err instanceof FailError) {
    process.stderr.write(`${paint.red('sftp-setup: error:')} ${p(oneLine(err))}\n`);
    return err.exitCode;
  }
  process.stderr.write(`${paint.red('sftp-setup: unexpected error:')} ${printableLines((err as Error)?.stack ?? String(err))}\n`);
  return 1;
}

const MARK: Record<StepReport['status'], string> = {
  changed: paint.green('changed  '),
  unchanged: paint.dim('ok       '),
  'would-change': paint.yellow('would    '),
  failed: paint.red('FAILED   '),
  skipped: paint.dim('skipped  '),
};

export function formatStep(r: StepReport, showDiff: boolean, width = outputWidth()): string {
  let line = `  ${MARK[r.status]} ${p(r.title)}`;
  if (r.summary && r.status !== 'unchanged') line += ` — ${p(r.summary)}`;
  line = wrapLine(line, width, 13);
  if (r.error) line += '\n' + wrapLine(`             ${paint.red(p(r.error))}`, width, 13);
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
      l.startsWith('+') && !l.startsWith('+++') ? paint.green(l)
      : l.startsWith('-') && !l.startsWith('---') ? paint.red(l)
      : l.startsWith('@@') ? paint.cyan(l)
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

export function formatCheck(c: Check, width = outputWidth()): string {
  return wrapLine(`  ${c.ok ? paint.green('pass') : paint.red('FAIL')}  ${p(c.title)} — ${p(c.detail)}`, width, 8);
}

export function printJson(value: unknown): void {
  writeOut(JSON.stringify(value, null, 2) + '\n');
}

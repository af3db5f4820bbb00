/**
 * `sftp-setup keys rotate` (camera): a new upload key with overlap, proof and rollback. The steps live in
 * src/rotate/; this file prints them.
 */
import chalk from 'chalk';
import { printJson } from '../report.js';
import { printable as p } from '../text/printable.js';
import { rotate, type RotateEvent, type RotateOptions } from '../rotate/run.js';

const MARK: Record<RotateEvent['status'], string> = {
  done: chalk.green('done     '),
  already: chalk.dim('resume   '),
  would: chalk.yellow('would    '),
  waiting: chalk.yellow('WAITING  '),
  failed: chalk.red('FAILED   '),
  warning: chalk.yellow('warning  '),
  'rolled-back': chalk.red('rollback '),
};

export async function keysRotateCommand(opts: RotateOptions): Promise<number> {
  const human = !opts.json;
  const report = await rotate(opts, (e) => {
    if (human) process.stdout.write(`  ${MARK[e.status]} ${p(e.step)}: ${p(e.detail)}\n`);
  });
  if (opts.json) printJson(report);
  else if (report.collectorCommand) {
    process.stdout.write(`\nRun this on the collector:\n\n  ${p(report.collectorCommand)}\n\nthen run the same sftp-setup keys rotate again (exit 4: waiting).\n`);
  }
  return report.exitCode;
}

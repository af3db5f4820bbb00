/**
 * `sftp-setup keys rotate` (camera): a new upload key with overlap, proof and rollback. The steps live in
 * src/rotate/; this file prints them.
 */
import { paint } from '../text/color.js';
import { printJson } from '../report.js';
import { printable as p } from '../text/printable.js';
import { rotate, type RotateEvent, type RotateOptions } from '../rotate/run.js';
import { writeOut } from '../system/stdout.js';

const MARK: Record<RotateEvent['status'], string> = {
  done: paint.green('done     '),
  already: paint.dim('resume   '),
  would: paint.yellow('would    '),
  waiting: paint.yellow('WAITING  '),
  failed: paint.red('FAILED   '),
  warning: paint.yellow('warning  '),
  'rolled-back': paint.red('rollback '),
};

export async function keysRotateCommand(opts: RotateOptions): Promise<number> {
  const human = !opts.json;
  const report = await rotate(opts, (e) => {
    if (human) writeOut(`  ${MARK[e.status]} ${p(e.step)}: ${p(e.detail)}\n`);
  });
  if (opts.json) printJson(report);
  else if (report.collectorCommand) {
    writeOut(`\nRun this on the collector:\n\n  ${p(report.collectorCommand)}\n\nthen run the same sftp-setup keys rotate again (exit 4: waiting).\n`);
  }
  return report.exitCode;
}

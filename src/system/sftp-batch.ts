/**
 * One sftp batch session of the sync: the batch written to a private scratch file, OpenSSH's sftp run in
 * the archive root (local paths in the batch are relative to it) as the user we are (the Allsky owner),
 * stdout followed as it comes. LC_ALL=C: `ls -l` dates in one format whatever the owner's locale.
 */
import { run, type RunResult } from './exec.js';
import { withScratch, writeScratchFile } from './sync-local.js';

export async function runSftpBatch(o: {
  cwd: string;
  /** sftp's arguments without the batch file: `argsFor(file)` puts it in */
  argsFor: (batchFile: string) => string[];
  batch: string;
  onStdout?: (chunk: string) => void;
}): Promise<RunResult> {
  return withScratch(async (dir) => {
    const file = await writeScratchFile(dir, 'batch', o.batch);
    return run('sftp', o.argsFor(file), { cwd: o.cwd, env: { LC_ALL: 'C', LANG: 'C' }, onStdout: o.onStdout });
  });
}

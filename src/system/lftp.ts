/** Running an lftp command file the way Allsky's upload.sh does: `lftp -f FILE`, as the Allsky owner. */
import { run } from './exec.js';
import { runAsUser, type RunAs } from './ssh-client.js';

export interface LftpRun {
  exitCode: number;
  output: string;
  ms: number;
}

/** The password goes through the environment (--env-password); with a key it is a dummy Allsky requires. */
export async function runLftpFile(who: RunAs | undefined, file: string, password: string): Promise<LftpRun> {
  const started = performance.now();
  const opts = { env: { LFTP_PASSWORD: password }, timeoutMs: 60_000 };
  const r = who ? await runAsUser(who, 'lftp', ['-f', file], opts) : await run('lftp', ['-f', file], opts);
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}`, ms: performance.now() - started };
}

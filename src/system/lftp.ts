/** Running lftp command files the way Allsky's upload.sh does: `lftp -f FILE`, as the Allsky owner. */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileAt, openDirBeneath, removeTree } from './safe-fs.js';
import { runAsUser, type RunAs } from './ssh-client.js';

export interface LftpRun {
  exitCode: number;
  output: string;
  ms: number;
}

/** The password goes through the environment (--env-password); with a key it is a dummy Allsky requires. */
export async function runLftpFile(who: RunAs | undefined, file: string, password: string): Promise<LftpRun> {
  const started = performance.now();
  const r = await runAsUser(who, 'lftp', ['-f', file], { env: { LFTP_PASSWORD: password }, timeoutMs: 60_000 });
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}`, ms: performance.now() - started };
}

/**
 * A scratch directory for a test upload's file and lftp scripts, owned by `who` (the Allsky owner, when we
 * are root acting for them) so that lftp run as the owner reads it; removed afterwards.
 * `put(name, text)` writes a file there and returns its path.
 */
export async function withScratchDir<T>(
  who: RunAs | undefined,
  prefix: string,
  fn: (put: (name: string, text: string) => Promise<string>, dir: string) => Promise<T>,
): Promise<T> {
  const forOther = who !== undefined && process.getuid?.() === 0 && who.uid !== 0;
  // root's TMPDIR may be private: /tmp is where the owner can reach the directory.
  const dir = await fs.mkdtemp(join(forOther ? '/tmp' : tmpdir(), prefix));
  // Held open from the start: once the owner owns the directory it can plant links in it, and root's
  // writes must go to the directory it made, through names it creates (O_EXCL, no link followed).
  const held = await openDirBeneath(dir);
  try {
    if (forOther) await held.chown(who.uid, who.gid);
    const put = async (name: string, text: string) => {
      await createFileAt(held, name, text, forOther ? { mode: 0o644, uid: who.uid, gid: who.gid } : { mode: 0o644 });
      return join(dir, name);
    };
    return await fn(put, dir);
  } finally {
    await held.close().catch(() => {});
    await removeTree(dir).catch(() => {});
  }
}

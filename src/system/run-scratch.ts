/**
 * A run's private scratch directories in /run (root's, not world-writable): a candidate configuration being
 * validated, a probe's temporary key. Each run removes its own; a run killed meanwhile leaves one behind,
 * which the next run that holds the lock sweeps.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

const RUN = '/run';

export type ScratchKind = 'candidate' | 'probe';

const prefix = (kind: ScratchKind) => `sftp-setup-${kind}-`;

/** A new scratch directory of this kind (mkdtemp: mode 0700, a name no one else holds). */
export function makeRunScratch(kind: ScratchKind): Promise<string> {
  return fs.mkdtemp(join(RUN, prefix(kind)));
}

/**
 * Remove the scratch directories of these kinds that killed runs left. Callers hold the lock, so no run of
 * ours is using one. Only what we made goes: a directory (lstat: a link at such a name is neither followed
 * nor removed) owned by us; rm never follows a link inside it.
 */
export async function removeStaleRunScratch(kinds: readonly ScratchKind[]): Promise<void> {
  const uid = process.geteuid?.();
  for (const name of await fs.readdir(RUN).catch(() => [] as string[])) {
    if (!kinds.some((k) => name.startsWith(prefix(k)))) continue;
    const path = join(RUN, name);
    const st = await fs.lstat(path).catch(() => null);
    if (!st?.isDirectory() || st.uid !== uid) continue;
    await fs.rm(path, { recursive: true, force: true }).catch(() => {});
  }
}

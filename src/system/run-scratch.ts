/**
 * A run's private scratch directories in /run (root's, not world-writable): a candidate configuration being
 * validated, a probe's temporary key. Each run removes its own; a run killed meanwhile leaves one behind,
 * which the next run that holds the lock sweeps.
 *
 * The name carries the pid of the run that made it: runs that take no lock (doctor's probes, status) are not
 * swept away by an init meanwhile, only what a dead run left.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from './proc.js';

const RUN = '/run';

export type ScratchKind = 'candidate' | 'probe';

const prefix = (kind: ScratchKind) => `sftp-setup-${kind}-`;

/** A new scratch directory of this kind (mkdtemp: mode 0700, a name no one else holds), named with our pid. */
export function makeRunScratch(kind: ScratchKind): Promise<string> {
  return fs.mkdtemp(join(RUN, `${prefix(kind)}${process.pid}-`));
}

/**
 * The pid in a scratch directory's name (`sftp-setup-KIND-PID-XXXXXX`), or undefined for a name without one
 * (made before names carried it: a dead run's).
 */
export function scratchOwnerPid(name: string, kind: ScratchKind): number | undefined {
  const m = new RegExp(`^${prefix(kind)}([1-9][0-9]{0,9})-[^/]+$`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Remove the scratch directories of these kinds that dead runs left: not ours (this run's), not a live
 * run's. Only what we made goes: a directory (lstat: a link at such a name is neither followed nor removed)
 * owned by us; rm never follows a link inside it.
 */
export async function removeStaleRunScratch(kinds: readonly ScratchKind[]): Promise<void> {
  const uid = process.geteuid?.();
  for (const name of await fs.readdir(RUN).catch(() => [] as string[])) {
    const kind = kinds.find((k) => name.startsWith(prefix(k)));
    if (!kind) continue;
    const pid = scratchOwnerPid(name, kind);
    if (pid !== undefined && (pid === process.pid || processAlive(pid))) continue;
    const path = join(RUN, name);
    const st = await fs.lstat(path).catch(() => null);
    if (!st?.isDirectory() || st.uid !== uid) continue;
    await fs.rm(path, { recursive: true, force: true }).catch(() => {});
  }
}

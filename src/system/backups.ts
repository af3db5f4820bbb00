/**
 * Pruning the backup directories (rules in src/backup-rules.ts): after a run whose changes stand, each file
 * keeps its newest copies. Everything goes through a descriptor of the backup root, opened following only
 * links root (or the running user) owns, and only when that root is ours and writable by no one else: the
 * root of a camera's backups may sit in a home another user controls, and no link there is followed.
 */
import { basename, dirname } from 'node:path';
import { DEFAULT_KEEP_BACKUPS, parseKeepBackups, prunePlan, runDirPid, type RunBackups } from '../backup-rules.js';
import { at, openDirTrusted, removeTree, unlinkAt, walkTree, withDir } from './safe-fs.js';
import { processAlive } from './proc.js';

/** Copies kept per file: SFTP_SETUP_KEEP_BACKUPS (checked by the CLI before a run starts), else the default. */
export function keepBackups(): number {
  const v = process.env.SFTP_SETUP_KEEP_BACKUPS;
  return (v !== undefined && parseKeepBackups(v)) || DEFAULT_KEEP_BACKUPS;
}


/**
 * Keep the newest `keep` copies of each file under `root`; `current` (this run's directory) and the
 * directories of runs still alive are never touched. Returns how many copies and directories went.
 */
export async function pruneBackups(root: string, keep: number, current: string): Promise<{ copies: number; dirs: number }> {
  const me = process.geteuid?.() ?? 0;
  const top = await openDirTrusted(root).catch(() => null);
  if (!top) return { copies: 0, dirs: 0 };
  try {
    const st = await top.stat();
    if (st.uid !== me || st.mode & 0o022) return { copies: 0, dirs: 0 };
    const base = at(top);
    const { entries } = await walkTree(base);
    const runs = new Map<string, RunBackups>();
    for (const e of entries) {
      const [run, ...rest] = e.rel.split('/');
      if (!runs.has(run!)) runs.set(run!, { name: run!, files: [] });
      if (rest.length && e.type !== 'dir') runs.get(run!)!.files.push(rest.join('/'));
    }
    // Only directories count as runs; a stray file in the root is not ours.
    const dirsOnly = [...runs.values()].filter((r) => entries.some((e) => e.rel === r.name && e.type === 'dir'));
    const spare = (name: string) => name === basename(current) || (runDirPid(name) !== null && processAlive(runDirPid(name)!));
    const plan = prunePlan(dirsOnly, keep, spare);
    for (const c of plan.copies) {
      const rel = `${c.run}/${c.file}`;
      await withDir(base, dirname(rel), (d) => unlinkAt(d, basename(rel)));
    }
    for (const d of plan.dirs) await removeTree(at(top, d));
    return { copies: plan.copies.length, dirs: plan.dirs.length };
  } finally {
    await top.close();
  }
}

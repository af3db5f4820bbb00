/**
 * The camera's file changes as plan Steps: each compares the wanted content, owner and mode with what is
 * on disk, so a dry run shows diffs and a re-run on a configured camera changes nothing.
 */
import type { Step, Drift } from '../plan/step.js';
import { unifiedDiff } from '../plan/diff.js';
import { ensureDir, removeEmptyDir, statPath, type FileInfo, type Journal } from '../system/files.js';

export interface FileWant {
  id: string;
  title: string;
  path: string;
  /** content as read before the plan (null: absent) */
  before: string | null;
  info: FileInfo | null;
  want: string;
  mode: number;
  uid: number;
  gid: number;
  /** a secret: no diff, only a summary */
  secret?: boolean;
  /** rewrite in the file's own inode (Allsky's hard-linked settings.json) */
  inPlace?: boolean;
  /** describe the change (default: created / updated) */
  summary?: string;
}

export function fileStep(f: FileWant, journal: Journal): Step {
  const drift = (): Drift | null => {
    const contentChanged = f.before !== f.want;
    const metaChanged = f.info !== null && !f.inPlace && (f.info.mode !== f.mode || f.info.uid !== f.uid || f.info.gid !== f.gid);
    if (!contentChanged && !metaChanged) return null;
    const what = f.before === null ? 'created' : contentChanged ? 'updated' : `owner/mode set to ${f.uid}:${f.gid} ${f.mode.toString(8)}`;
    return {
      summary: f.summary ?? `${f.path} ${what}`,
      diff: contentChanged && !f.secret ? unifiedDiff(f.before ?? '', f.want, f.path) : undefined,
    };
  };
  return {
    id: f.id,
    title: f.title,
    check: async () => drift(),
    apply: async () => {
      if (f.inPlace && f.before !== null) await journal.writeInPlace(f.path, f.want);
      else await journal.writeAtomic(f.path, f.want, { mode: f.mode, uid: f.uid, gid: f.gid });
    },
  };
}

/** A directory the owner needs (~/.ssh, ~/.lftp, the multiplexing socket dir); created only when absent. */
export function dirStep(o: { id: string; title: string; path: string; mode: number; uid: number; gid: number }, journal: Journal): Step {
  return {
    id: o.id,
    title: o.title,
    check: async () => ((await statPath(o.path)) ? null : { summary: `${o.path} created (mode ${o.mode.toString(8)})` }),
    apply: async () => {
      // Only when absent (check): a new directory, owner and mode set through its descriptor (files.ts).
      journal.onRollback(() => removeEmptyDir(o.path));
      await ensureDir(o.path, o.mode, o.uid, o.gid);
    },
  };
}

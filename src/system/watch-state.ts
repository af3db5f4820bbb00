/**
 * The running watcher's health, for people and for doctor: /run/sftp-setup-watch-<user>/state.json (the
 * installed service's RuntimeDirectory, the one place it may write; 0644: no secret in it, sink URLs are
 * shown without passwords). Written atomically.
 */
import type { UploadEvent } from '../watch/event.js';
import type { SinkHealth } from '../watch/queue.js';
import { stateDirName } from '../watch/unit.js';
import { ensureDir, readText, writeFileAtomic } from './files.js';

export interface WatchState {
  pid: number;
  lastEvent: UploadEvent | null;
  sinks: SinkHealth[];
  updated?: string;
}

export const watchStatePath = (user: string) => `/run/${stateDirName(user)}/state.json`;

export async function writeWatchState(user: string, s: WatchState): Promise<void> {
  await ensureDir(`/run/${stateDirName(user)}`, 0o755, 0, 0);
  await writeFileAtomic(watchStatePath(user), `${JSON.stringify({ ...s, updated: new Date().toISOString() }, null, 2)}\n`, { mode: 0o644, uid: 0, gid: 0 });
}

/** The state a watcher left, and whether that watcher still runs (its pid alive); null when there is none. */
export async function readWatchState(user: string): Promise<(WatchState & { alive: boolean }) | null> {
  const text = await readText(watchStatePath(user)).catch(() => null);
  if (!text) return null;
  let s: WatchState;
  try {
    s = JSON.parse(text) as WatchState;
  } catch {
    return null;
  }
  let alive = false;
  try {
    process.kill(s.pid, 0);
    alive = true;
  } catch {
    /* gone */
  }
  return { ...s, alive };
}

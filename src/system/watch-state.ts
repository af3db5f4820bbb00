/**
 * The running watcher's health, for people and for doctor: /run/sftp-setup/watch-<user>.json (root's
 * directory, 0755; the file 0644: no secret in it, sink URLs are shown without passwords). Written atomically.
 */
import type { UploadEvent } from '../watch/event.js';
import type { SinkHealth } from '../watch/queue.js';
import { ensureDir, readText, writeFileAtomic } from './files.js';

export interface WatchState {
  pid: number;
  lastEvent: UploadEvent | null;
  sinks: SinkHealth[];
  updated?: string;
}

export const watchStatePath = (user: string) => `/run/sftp-setup/watch-${user}.json`;

export async function writeWatchState(user: string, s: WatchState): Promise<void> {
  await ensureDir('/run/sftp-setup', 0o755, 0, 0);
  await writeFileAtomic(watchStatePath(user), `${JSON.stringify({ ...s, updated: new Date().toISOString() }, null, 2)}\n`, { mode: 0o644, uid: 0, gid: 0 });
}

export async function readWatchState(user: string): Promise<WatchState | null> {
  const text = await readText(watchStatePath(user));
  if (!text) return null;
  try {
    return JSON.parse(text) as WatchState;
  } catch {
    return null;
  }
}

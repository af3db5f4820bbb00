/**
 * The upload event watcher of an account (issue 15): running or not, each sink's health (delivering,
 * failing with its last error, events queued and dropped) and the last event, from the state the watcher
 * keeps in /run (system/watch-state.ts). Names in it come from the upload tree: the formatter escapes them.
 */
import type { WatchState } from '../system/watch-state.js';
import { unitName } from '../watch/unit.js';
import { pass, skip, warn, type DoctorCheck } from './check.js';

export function watchCheck(user: string, state: (WatchState & { alive: boolean }) | null): DoctorCheck {
  const id = 'watch.sinks';
  const title = `upload events of ${user} reach their sinks`;
  if (!state) return skip(id, title, 'no watcher runs for this account (sftp-setup watch)', { user });
  const last = state.lastEvent ? `last event: ${state.lastEvent.path} (${state.lastEvent.size} bytes) at ${state.lastEvent.time}` : 'no event yet';
  const sinks = state.sinks.map((s) => `${s.sink}: ${s.ok ? 'ok' : `FAILING (${s.lastError ?? 'unknown'})`}, ${s.delivered} delivered, ${s.queued} queued, ${s.dropped} dropped, ${s.failed} given up`);
  const fix = `journalctl -u ${unitName(user)} (or the watcher's own output)`;
  if (!state.alive) return warn(id, title, [`the watcher (pid ${state.pid}) is not running any more`, last], { user, reason: 'uploads make no events while no watcher runs', fix: `sudo systemctl restart ${unitName(user)}, or start sftp-setup watch again` });
  const bad = state.sinks.filter((s) => !s.ok || s.dropped > 0 || s.failed > 0);
  if (bad.length) return warn(id, title, [...sinks, last], { user, reason: 'a sink fails: its events wait in a bounded queue, and the oldest go when it is full', fix });
  return pass(id, title, [last, ...sinks], { user });
}

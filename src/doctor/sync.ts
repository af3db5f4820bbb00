/**
 * The camera doctor's view of `sftp-setup sync`: the last successful delivery, the backlog (files and bytes
 * the collector does not have yet) and the last failure's reason, from the state file the sync keeps in the
 * Allsky owner's ~/.local/state/sftp-setup/, and whether the timer is installed.
 */
import { posix } from 'node:path';
import type { CameraSetup } from '../camera/read.js';
import { humanBytes, humanDuration } from '../sync/progress.js';
import { parseState, STATE_FILE } from '../sync/state.js';
import { TIMER_PATH } from '../sync/units.js';
import { readText, statPath } from '../system/files.js';
import { fail, pass, skip, warn, type DoctorCheck } from './check.js';

const DAY_MS = 24 * 3600 * 1000;

export async function syncChecks(ctx: CameraSetup, now = Date.now()): Promise<DoctorCheck[]> {
  const path = posix.join(ctx.owner.home, STATE_FILE);
  const [text, timer] = await Promise.all([readText(path).catch(() => null), statPath(TIMER_PATH)]);
  const title = 'archive sync (sftp-setup sync)';
  if (text === null && !timer) return [skip('camera.sync', title, 'not set up: sftp-setup sync delivers the archive, sudo sftp-setup sync --install runs it on a timer')];
  const s = parseState(text);
  const ago = (at: string) => `${at} (${humanDuration(now - Date.parse(at))} ago)`;
  const ev: string[] = [timer ? `timer: ${TIMER_PATH}` : 'timer: not installed (runs only by hand)'];
  ev.push(s.lastSuccess ? `last successful sync ${ago(s.lastSuccess.at)}: ${s.lastSuccess.files} files, ${humanBytes(s.lastSuccess.bytes)}` : 'no successful sync yet');
  if (s.backlog) ev.push(`backlog ${s.backlog.estimated ? 'about ' : ''}${s.backlog.files} files (${humanBytes(s.backlog.bytes)}) as of ${s.backlog.at}`);
  if (s.lastSkip) ev.push(`last skipped ${ago(s.lastSkip.at)}: ${s.lastSkip.reason}`);
  const failedLast = s.lastFailure && (!s.lastSuccess || Date.parse(s.lastFailure.at) > Date.parse(s.lastSuccess.at));
  if (failedLast) {
    return [fail('camera.sync', title, [...ev, `last failure ${ago(s.lastFailure!.at)}: ${s.lastFailure!.reason}`], {
      reason: 'the archive is not reaching the collector; the failure above says why', fix: `sftp-setup sync (as ${ctx.owner.name}) shows the whole message`,
    })];
  }
  const stale = !s.lastSuccess || now - Date.parse(s.lastSuccess.at) > DAY_MS;
  if (stale || (s.backlog?.files ?? 0) > 0) {
    return [warn('camera.sync', title, ev, {
      reason: stale ? 'no delivery in the last day: the interface condition may never be met, or the timer is not running' : 'files are waiting for the next run',
      fix: timer ? 'systemctl list-timers sftp-setup-sync.timer; journalctl -u sftp-setup-sync' : `sftp-setup sync (as ${ctx.owner.name})`,
    })];
  }
  return [pass('camera.sync', title, [ev[1]!, ...ev.filter((_, i) => i !== 1)])];
}

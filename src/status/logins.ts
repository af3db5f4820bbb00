/**
 * Failed logins per upload account, from sshd's log. Pure: the caller reads the log (system/sshd-log.ts).
 *
 * At LogLevel INFO sshd ends every connection that failed to authenticate with exactly one of these lines
 * (the "Failed publickey" line before it exists only at VERBOSE), so each counts one failed login:
 *   Connection closed by authenticating user U ADDR port P [preauth]      (the client gave up)
 *   Disconnected from authenticating user U ADDR port P [preauth]
 *   Connection reset by authenticating user U ADDR port P [preauth]
 *   Disconnecting authenticating user U ADDR port P: Too many authentication failures [preauth]
 *   User U from ADDR not allowed because …                                (AllowUsers, a locked account …)
 * Each pattern is anchored at the start of the message: a user name that holds such text cannot pose as one.
 */
import { fromSshd, type LogLine } from '../sshd/log-lines.js';

const FAILED = [
  /^Connection (?:closed|reset) by authenticating user (\S+) \S+ port \d+/,
  /^Disconnected from authenticating user (\S+) \S+ port \d+/,
  /^Disconnecting authenticating user (\S+) \S+ port \d+: Too many authentication failures/,
  /^User (\S+) from \S+ not allowed because /,
];

export interface LoginCounts {
  /** failed logins per user (only the users asked about) */
  failed: Map<string, number>;
  /**
   * 'window': the lines cover the whole window; 'partial': they start inside it (the counts are lower
   * bounds); 'untimed': the lines carry no times (a sshd -E log), so the counts are over all lines read.
   */
  coverage: 'window' | 'partial' | 'untimed';
  /** the oldest time among the lines, when they carry times */
  from?: number;
}

/**
 * Failed logins of `users` since `sinceMs`. `whole`: the lines are all the log holds (for that window), not
 * a bounded end of it.
 */
export function failedLogins(lines: LogLine[], users: Iterable<string>, sinceMs: number, whole: boolean): LoginCounts {
  const failed = new Map<string, number>();
  for (const u of users) failed.set(u, 0);
  let timed = false;
  let from: number | undefined;
  for (const l of lines) {
    if (l.time !== undefined) {
      timed = true;
      from = from === undefined ? l.time : Math.min(from, l.time);
      if (l.time < sinceMs) continue;
    }
    if (!fromSshd(l)) continue;
    for (const re of FAILED) {
      const m = re.exec(l.text);
      if (!m) continue;
      const n = failed.get(m[1]!);
      if (n !== undefined) failed.set(m[1]!, n + 1);
      break;
    }
  }
  const coverage = !timed && lines.length > 0 ? 'untimed' : whole || (from !== undefined && from <= sinceMs) ? 'window' : 'partial';
  return { failed, coverage, ...(from !== undefined ? { from } : {}) };
}

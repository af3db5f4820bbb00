/**
 * sshd's log lines as the three places it writes them give them back: the journal (`journalctl -o
 * short-unix`: "1718000000.123456 host sshd[12]: message"), rsyslog's auth.log (RFC 3339 or the
 * traditional "Jun  1 10:00:00 host sshd[12]: message") and a `sshd -E FILE` log (the bare message, no time,
 * CR LF). Pure.
 *
 * The messages hold what remote clients sent (user names, and whatever else sshd quotes), and auth.log
 * takes lines from any local process: every line is data. Lines are capped in length, and matchers anchor
 * on the message's start (after the prefix), so text inside a user name cannot pose as a line of sshd's.
 */

export interface LogLine {
  /** the line as read, CR and overlong tails cut */
  raw: string;
  /** the message, after any time/host/program prefix */
  text: string;
  /** program name from the prefix (sshd, sshd-session, sshd-auth, internal-sftp …); none in a -E file */
  ident?: string;
  /** when the prefix gives the time: milliseconds since the epoch */
  time?: number;
}

/** sshd's own messages are shorter than 1 KiB (MSGBUFSIZ); anything longer is not worth reading whole. */
export const MAX_LINE = 2048;

const PREFIX = '(\\S+) ([^\\s\\[\\]:]+)(?:\\[(\\d+)\\])?: (.*)$';
const UNIX = new RegExp(`^(\\d{9,11}(?:\\.\\d+)?) ${PREFIX}`);
const RFC3339 = new RegExp(`^(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?(?:Z|[+-]\\d\\d:?\\d\\d)) ${PREFIX}`);
const TRADITIONAL = new RegExp(`^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\\d{1,2}) (\\d\\d):(\\d\\d):(\\d\\d) ${PREFIX}`);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** One line of a log; `now` places the traditional format's year-less dates (local time). */
export function parseLogLine(line: string, now: Date = new Date()): LogLine {
  let raw = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (raw.length > MAX_LINE) raw = `${raw.slice(0, MAX_LINE)}…`;
  let m = UNIX.exec(raw);
  if (m) return { raw, time: Math.round(Number(m[1]) * 1000), ident: m[3], text: m[5]! };
  if ((m = RFC3339.exec(raw))) {
    const t = Date.parse(m[1]!);
    return { raw, ...(Number.isNaN(t) ? {} : { time: t }), ident: m[3], text: m[5]! };
  }
  if ((m = TRADITIONAL.exec(raw))) {
    const month = MONTHS.indexOf(m[1]!);
    const at = (year: number) => new Date(year, month, Number(m![2]), Number(m![3]), Number(m![4]), Number(m![5])).getTime();
    // No year in the line: this year's date, unless that lies ahead (a December line read in January).
    let t = at(now.getFullYear());
    if (t > now.getTime() + 86_400_000) t = at(now.getFullYear() - 1);
    return { raw, time: t, ident: m[7], text: m[9]! };
  }
  return { raw, text: raw };
}

/** Every line of a text; `partialStart` drops the first, which a tail read from the middle of a file cuts. */
export function parseLogText(text: string, opts: { now?: Date; partialStart?: boolean } = {}): LogLine[] {
  const lines = text.split('\n');
  if (opts.partialStart) lines.shift();
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.filter((l) => l !== '' && l !== '\r' && !l.startsWith('-- ')).map((l) => parseLogLine(l, opts.now));
}

/** Written by sshd itself (or its per-connection processes), not by internal-sftp or another program. */
export function fromSshd(l: LogLine): boolean {
  return l.ident === undefined || /^sshd(?:-session|-auth)?$/.test(l.ident);
}

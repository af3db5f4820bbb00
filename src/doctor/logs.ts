/**
 * sshd's log lines for an upload account, matched to known causes. For each client address only the latest
 * attempt counts: a camera that failed at 10:00 and uploaded at 10:01 is fine. Pure: the caller reads the
 * log (system/sshd-log.ts: sshd's -E file, the journal or auth.log) and passes its last lines.
 */
import { fail, pass, q, skip, type DoctorCheck } from './check.js';

export interface LogFinding {
  addr: string;
  ok: boolean;
  cause?: string;
  fix?: string;
  lines: string[];
}

const RE = {
  accepted: /Accepted publickey for (\S+) from (\S+) port/,
  started: /Changed root directory to|Starting session: /,
  failedKey: /Failed publickey for (\S+) from (\S+) port \d+ ssh2: (\S+) (SHA256:\S+)/,
  closedAuth: /Connection closed by authenticating user (\S+) (\S+) port/,
  // At the start of the line (journalctl -o cat, sshd -E) or after a syslog prefix such as `sshd[1]: `,
  // `sshd-session[1]: ` (OpenSSH 9.8+) or `sshd-auth[1]: ` (10.0).
  notPermitted: /(?:^|\]: )(?:(\S+):(\d+): )?Authentication tried for (\S+) with correct key but not from a permitted host \(host=[^,]*, ip=([^,]+), required=([^)]+)\)/,
  badModes: /Authentication refused: bad ownership or modes for (file|directory) (\S+)/,
  cannotOpen: /Could not open user '([^']+)' authorized keys '([^']+)': (.*)/,
  chroot: /bad ownership or modes for chroot directory(?: component)? "([^"]+)"|safely_chroot: stat\("([^"]+)"\)|chroot path "?([^"]+)"? is not a directory/,
  notAllowed: /User (\S+) from (\S+) not allowed because (.*)/,
  invalid: /Invalid user (\S+) from (\S+) port/,
  nonSftp: /refusing non-sftp session/,
  // PerSourcePenalties (OpenSSH 9.8+): sshd answers "Not allowed at this time" and closes.
  penalty: /drop connection #\d+ from \[([^\]]+)\]:\d+ on \[[^\]]*\]:\d+ penalty: (.+?)\s*$/,
};

/**
 * The cause and fix for an address sshd's PerSourcePenalties refuses. `setting` is sshd -T's
 * `persourcepenalties` value (its max: how long a block can last).
 */
export function penaltyFinding(addr: string, reason: string, setting?: string): { cause: string; fix: string } {
  const max = /(?:^|\s)max:(\d+)([smhdw]?)(?:\s|$)/.exec(setting ?? '');
  const upTo = max ? ` (up to ${max[1]}${max[2] || 's'})` : '';
  return {
    cause: `sshd's PerSourcePenalties refuses new connections from ${addr} for a while (penalty: ${reason}): ` +
      'the client sees "Not allowed at this time" or "Connection reset", whatever its key',
    fix: `fix what made the logins fail, then wait${upTo}; or exempt the camera: add "PerSourcePenaltyExemptList ${addr}" to ` +
      '/etc/ssh/sshd_config before any Match block, then sudo sshd -t && sudo systemctl reload ssh',
  };
}

/**
 * The collector's sshd answered with something other than its `SSH-2.0-…` greeting. "Not allowed at this time"
 * is PerSourcePenalties (OpenSSH 9.8+) refusing this client's address after failed logins from it.
 */
export function refusedGreeting(first: string): { reason: string; fix: string } | undefined {
  if (!/^Not allowed at this time/.test(first)) return undefined;
  return {
    reason: 'the collector\'s sshd refuses this camera\'s address for a while (PerSourcePenalties, after failed or aborted logins from it): ' +
      'uploads fail with "Connection reset" whatever the settings',
    fix: 'wait a few minutes and run this again; sudo sftp-setup doctor on the collector names what failed and how to exempt the camera ' +
      '(PerSourcePenaltyExemptList)',
  };
}

/** Walk the log in order, keep the latest attempt per client address for this user. */
export function analyseLog(lines: string[], user: string, penalties?: string): LogFinding[] {
  const latest = new Map<string, LogFinding>();
  let pending: { cause: string; fix?: string; line: string } | undefined;
  let lastAccepted: string | undefined;
  const set = (addr: string, f: Omit<LogFinding, 'addr'>) => latest.set(addr, { addr, ...f });
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if ((m = RE.badModes.exec(line))) {
      pending = { cause: `sshd ignores the keys: bad ownership or modes for ${m[1]} ${m[2]}`, fix: `sudo chown root:root ${q(m[2]!)} && sudo chmod go-w ${q(m[2]!)}`, line };
    } else if ((m = RE.cannotOpen.exec(line)) && m[1] === user) {
      pending = { cause: `sshd cannot read ${m[2]} as ${user}: ${m[3]}`, fix: `sudo chmod 0644 ${q(m[2]!)}`, line };
    } else if ((m = RE.notPermitted.exec(line)) && m[3] === user) {
      const [, file, lineNo, , ip, required] = m;
      set(ip!, {
        ok: false, lines: [line],
        cause: `the key is restricted to from="${required}", and this client connects from ${ip}`,
        fix: file ? `sudo sed -i '${lineNo}s|from="${required}"|from="${required},${ip}"|' ${q(file)}` : `add ${ip} to the key's from= option`,
      });
      pending = undefined;
      lastAccepted = undefined;
    } else if ((m = RE.failedKey.exec(line)) && m[1] === user) {
      const addr = m[2]!;
      const prev = latest.get(addr);
      // "Failed publickey" follows the line that said why; keep that cause.
      if (pending) set(addr, { ok: false, cause: pending.cause, fix: pending.fix, lines: [pending.line, line] });
      else if (!(prev && !prev.ok && prev.lines.some((l) => RE.notPermitted.test(l)) && prev.lines.length === 1)) {
        set(addr, { ok: false, cause: `the client's key ${m[3]} ${m[4]} is not in ${user}'s authorized keys`, fix: `sudo sftp-setup keys add --user ${user} '<the camera's public key line>'`, lines: [line] });
      } else prev.lines.push(line);
      pending = undefined;
    } else if ((m = RE.closedAuth.exec(line)) && m[1] === user) {
      const addr = m[2]!;
      if (pending) set(addr, { ok: false, cause: pending.cause, fix: pending.fix, lines: [pending.line, line] });
      else if (!latest.get(addr) || latest.get(addr)!.ok) {
        set(addr, { ok: false, cause: 'the client offered no key that sshd accepted (no authorized keys file, or the wrong key)', lines: [line] });
      }
      pending = undefined;
    } else if ((m = RE.notAllowed.exec(line)) && m[1] === user) {
      const why = m[3]!;
      set(m[2]!, {
        ok: false, lines: [line], cause: `sshd does not allow ${user}: ${why}`,
        fix: /locked/.test(why) ? `sudo usermod --password '*' ${user}` : `remove the AllowUsers/DenyUsers/AllowGroups/DenyGroups line that excludes ${user}`,
      });
    } else if ((m = RE.accepted.exec(line)) && m[1] === user) {
      lastAccepted = m[2];
      set(m[2]!, { ok: true, lines: [line] });
      pending = undefined;
    } else if ((m = RE.chroot.exec(line)) && lastAccepted) {
      const path = m[1] ?? m[2] ?? m[3]!;
      set(lastAccepted, {
        ok: false, lines: [line],
        cause: `the key was accepted, then sshd refused the chroot: ${line.trim()}`,
        fix: `sudo chown root:root ${q(path)} && sudo chmod 0755 ${q(path)}`,
      });
      lastAccepted = undefined;
    } else if ((m = RE.penalty.exec(line)) && latest.has(m[1]!)) {
      // Only addresses that tried this account: on a public collector, strangers are penalised all day.
      const addr = m[1]!;
      const prev = latest.get(addr)!;
      set(addr, { ok: false, ...penaltyFinding(addr, m[2]!, penalties), lines: [...(prev.ok ? [] : prev.lines.slice(-1)), line] });
    } else if (RE.started.test(line) && lastAccepted) {
      lastAccepted = undefined;
    }
  }
  return [...latest.values()];
}

/** Which lines can matter to analyseLog whatever user they name: computed once for a fleet (see linesFor). */
export function sharedLines(lines: string[]): boolean[] {
  return lines.map((l) => RE.badModes.test(l) || RE.chroot.test(l) || RE.penalty.test(l) || RE.started.test(l));
}

/**
 * The lines analyseLog can act on for `user`: those that name no user (`shared`), and those that contain
 * the name (every other branch compares a part of the line with it). analyseLog over these finds exactly
 * what it finds over all lines, and a hundred accounts do not each walk the whole log through every pattern.
 */
export function linesFor(user: string, lines: string[], shared: boolean[]): string[] {
  return lines.filter((l, i) => shared[i] || l.includes(user));
}

export function logChecks(user: string, source: string | undefined, lines: string[] | undefined, penalties?: string, shared?: boolean[]): DoctorCheck[] {
  if (!source || !lines) return [skip('logs.recent', `recent sshd log lines for ${user}`, 'no sshd log found (sshd -E file, journal or /var/log/auth.log)', { user })];
  const findings = analyseLog(shared ? linesFor(user, lines, shared) : lines, user, penalties);
  const bad = findings.filter((f) => !f.ok);
  if (bad.length === 0) {
    const ok = findings.filter((f) => f.ok).map((f) => f.addr);
    return [pass('logs.recent', `recent sshd log lines for ${user}`, [ok.length ? `last logins accepted from ${ok.join(', ')} (${source})` : `no login attempts in ${source}`], { user })];
  }
  return bad.map((f) =>
    fail('logs.recent', `latest login of ${user} from ${f.addr} failed`, [`${source}:`, ...f.lines.map((l) => `  ${l.trim()}`)], { user, reason: f.cause, fix: f.fix }),
  );
}

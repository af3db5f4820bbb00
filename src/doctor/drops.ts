/**
 * Connections sshd refused before authentication, from its log: MaxStartups drops (too many unauthenticated
 * connections at once, e.g. a fleet of cameras uploading at the same second) and PerSourcePenalties refusals
 * (OpenSSH ≥ 9.8: an address that failed to log in is refused for a while). Collector-level checks
 * `sshd.drops` and `sshd.penalties`. Pure: the caller reads the log.
 *
 * What sshd logs, from its source (sshd.c drop_connection, srclimit.c), at the default LogLevel INFO:
 * - 9.2–9.7: "beginning MaxStartups throttling" (level error: "error: " in syslog, bare in a -E file), the
 *   first drop of the episode as "drop connection #N from [A]:P on [L]:P past MaxStartups" (later drops only
 *   at VERBOSE), every 5 minutes "in MaxStartups throttling for HH:MM:SS, N connections dropped", and at the
 *   end "exited MaxStartups throttling after HH:MM:SS, N connections dropped": that N is the episode's count.
 * - 9.8–9.9: the same, the drop line ending "past Maxstartups"; PerSourcePenalties refusals each logged as
 *   "drop connection #N from [A]:P on [L]:P penalty: failed authentication" (or "… too many penalised
 *   addresses" when the penalty table is full); penalties imposed only at VERBOSE
 *   ("srclimit_penalise: ipv4: new A/32 active penalty of 30 seconds for penalty: …").
 * - 10.0+: no episodes; every drop at INFO ("… Maxstartups" or "… penalty: …") until a rate limit, then
 *   "Maxstartups logging rate-limited: additional N connections dropped" (or "PerSourcePenalties …").
 *   10.1+ logs imposed penalties at INFO ("… new A/32 active penalty of 30.000 seconds for penalty: …").
 */
import type { ParsedVersion } from '../sshd/effective.js';
import { fromSshd, type LogLine } from '../sshd/log-lines.js';
import { pass, skip, warn, type DoctorCheck } from './check.js';

const RE = {
  drop: /^drop connection #(\d+) from \[([^\]]*)\]:(\d+) on \[([^\]]*)\]:(\d+) (.+)$/,
  maxStartupsReason: /^(?:past )?Max[sS]tartups$/,
  begin: /^(?:error: )?beginning MaxStartups throttling$/,
  during: /^(?:error: )?in MaxStartups throttling for (\S+), (\d+) connections dropped$/,
  exited: /^exited MaxStartups throttling after (\S+), (\d+) connections dropped$/,
  rateLimited: /^(Maxstartups|PerSourcePenalties) logging rate-limited: additional (\d+) connections dropped$/,
  imposed: /^(?:srclimit_penalise: )?(?:ipv4|ipv6): new (\S+) (active|deferred) penalty of [\d.]+ seconds for penalty: (.+)$/,
  activated: /^(?:srclimit_penalise: )?(\S+): activating (?:ipv4|ipv6) penalty of [\d.]+ seconds for penalty: (.+)$/,
  login: /^(?:Accepted \S+ for (\S+) from (\S+) port \d+|Failed \S+ for (\S+) from (\S+) port \d+|Connection closed by authenticating user (\S+) (\S+) port \d+)/,
};

export interface DropReport {
  maxStartups: {
    /** connections dropped (counted from drop lines and sshd's own totals, whichever says more) */
    dropped: number;
    /** throttling episodes (9.x logs them) */
    episodes: number;
    /** the log ends inside an episode */
    ongoing: boolean;
    bySource: Map<string, number>;
    lines: LogLine[];
  };
  penalties: {
    /** connections refused because their address was penalised */
    refused: number;
    /** refused while the penalty table was full (every new address) */
    tableFull: number;
    byAddr: Map<string, { refused: number; reasons: Set<string> }>;
    /** penalties sshd imposed (10.1+ at INFO, else VERBOSE), by address/mask */
    imposed: Map<string, Set<string>>;
    lines: LogLine[];
  };
  /** addresses that logged in, or tried to, as one of `users` */
  cameraAddrs: Map<string, string>;
  /** the time span of the lines read, when they carry times */
  first?: number;
  last?: number;
}

const SAMPLE = 3;

export function analyseDrops(lines: LogLine[], users: Iterable<string> = []): DropReport {
  const wanted = new Set(users);
  const ms: DropReport['maxStartups'] = { dropped: 0, episodes: 0, ongoing: false, bySource: new Map(), lines: [] };
  const pen: DropReport['penalties'] = { refused: 0, tableFull: 0, byAddr: new Map(), imposed: new Map(), lines: [] };
  const cameraAddrs = new Map<string, string>();
  let episode: { drops: number; told: number } | undefined;
  const closeEpisode = (told = 0) => {
    if (episode) ms.dropped += Math.max(episode.drops, episode.told, told);
    else ms.dropped += told;
    episode = undefined;
  };
  const openEpisode = () => {
    episode = { drops: 0, told: 0 };
    ms.episodes++;
  };
  const sample = (list: LogLine[], l: LogLine) => {
    // The first ones and the latest one.
    if (list.length < SAMPLE) list.push(l);
    else list[SAMPLE - 1] = l;
  };
  let first: number | undefined;
  let last: number | undefined;
  for (const l of lines) {
    if (!fromSshd(l)) continue;
    if (l.time !== undefined) {
      first ??= l.time;
      last = l.time;
    }
    const t = l.text;
    let m: RegExpExecArray | null;
    if ((m = RE.drop.exec(t))) {
      const addr = m[2]!;
      const reason = m[6]!;
      if (RE.maxStartupsReason.test(reason)) {
        // "past MaxStartups" (≤ 9.9) belongs to an episode, which the read may have begun in the middle of.
        if (reason.startsWith('past ')) {
          if (!episode) openEpisode();
          episode!.drops++;
        } else ms.dropped++;
        ms.bySource.set(addr, (ms.bySource.get(addr) ?? 0) + 1);
        sample(ms.lines, l);
      } else if (reason.startsWith('penalty: ')) {
        const p = pen.byAddr.get(addr) ?? { refused: 0, reasons: new Set<string>() };
        p.refused++;
        p.reasons.add(reason.slice('penalty: '.length));
        pen.byAddr.set(addr, p);
        pen.refused++;
        sample(pen.lines, l);
      } else if (reason === 'too many penalised addresses') {
        pen.tableFull++;
        pen.refused++;
        sample(pen.lines, l);
      }
    } else if (RE.begin.test(t)) {
      closeEpisode();
      openEpisode();
    } else if ((m = RE.during.exec(t))) {
      if (!episode) openEpisode();
      episode!.told = Math.max(episode!.told, Number(m[2]));
    } else if ((m = RE.exited.exec(t))) {
      if (!episode) ms.episodes++;
      closeEpisode(Number(m[2]));
      sample(ms.lines, l);
    } else if ((m = RE.rateLimited.exec(t))) {
      const n = Number(m[2]);
      if (m[1] === 'Maxstartups') ms.dropped += n;
      else pen.refused += n;
    } else if ((m = RE.imposed.exec(t))) {
      // A deferred penalty refuses nothing yet.
      if (m[2] === 'active') pen.imposed.set(m[1]!, (pen.imposed.get(m[1]!) ?? new Set<string>()).add(m[3]!));
    } else if ((m = RE.activated.exec(t))) {
      pen.imposed.set(m[1]!, (pen.imposed.get(m[1]!) ?? new Set<string>()).add(m[2]!));
    } else if ((m = RE.login.exec(t))) {
      const user = m[1] ?? m[3] ?? m[5];
      const addr = m[2] ?? m[4] ?? m[6];
      if (user && addr && wanted.has(user)) cameraAddrs.set(addr, user);
    }
  }
  if (episode) {
    ms.ongoing = true;
    closeEpisode();
  }
  return { maxStartups: ms, penalties: pen, cameraAddrs, first, last };
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** "in SOURCE (2025-06-01 08:00:00 UTC to 10:05:12 UTC)" */
function window(source: string, r: DropReport): string {
  if (r.first === undefined || r.last === undefined) return `in ${source}`;
  return `in ${source} (${when(r.first)} to ${when(r.last)})`;
}

/** The `n` most frequent, ties in code-point order (not localeCompare: its first call loads ICU's collation, ~8 ms). */
function top(counts: Map<string, number>, n = 5): string {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const shown = sorted.slice(0, n).map(([k, v]) => `${k} (${v})`).join(', ');
  return sorted.length > n ? `${shown}, … and ${sorted.length - n} more` : shown;
}

export interface DropContext {
  version?: ParsedVersion | null;
  /** sshd -T values */
  maxStartups?: string;
  perSourcePenalties?: string;
  /** the upload accounts: their addresses are the cameras' */
  users: string[];
}

/** sshd.drops and sshd.penalties from the log, or skips saying why they could not be looked at. */
export function dropChecks(log: { source: string; lines: LogLine[] } | undefined, c: DropContext): DoctorCheck[] {
  const dropsTitle = 'no connections dropped past MaxStartups';
  const penTitle = 'no camera refused by PerSourcePenalties';
  const hasPenalties = !c.version || c.version.major > 9 || (c.version.major === 9 && c.version.minor >= 8);
  const penaltiesOff = c.perSourcePenalties !== undefined && /^no\b/.test(c.perSourcePenalties);
  if (!log) {
    const why = 'no sshd log found (sshd -E file, journal or /var/log/auth.log)';
    return [skip('sshd.drops', dropsTitle, why), skip('sshd.penalties', penTitle, why)];
  }
  const r = analyseDrops(log.lines, c.users);
  const out: DoctorCheck[] = [];
  const ms = r.maxStartups;
  const setting = `MaxStartups ${c.maxStartups ?? '10:30:100 (default)'}`;
  if (ms.dropped === 0) out.push(pass('sshd.drops', dropsTitle, [`none ${window(log.source, r)}; ${setting}`]));
  else {
    const ev = [
      `${ms.dropped} connection(s) dropped ${window(log.source, r)}${ms.episodes ? `, in ${ms.episodes} episode(s)${ms.ongoing ? ', the last one still going on' : ''}` : ''}; ${setting}`,
      // 9.x logs only an episode's first drop at INFO: the lines name some sources, not all.
      ...(ms.bySource.size ? [`addresses in sshd's drop lines: ${top(ms.bySource)}`] : []),
      ...ms.lines.map((l) => l.raw),
    ];
    out.push(warn('sshd.drops', dropsTitle, ev, {
      reason: 'sshd refuses new connections while too many are still authenticating: cameras uploading at the same moment see "Connection closed" or "Not allowed at this time", and so may your own ssh login',
      fix: 'add "MaxStartups START:30:FULL" with START above the number of cameras that connect at the same moment (e.g. 200:30:400 for 100 cameras) ' +
        'before any Match block in /etc/ssh/sshd_config, then: sudo sshd -t && sudo systemctl reload ssh',
    }));
  }

  if (!hasPenalties) {
    out.push(skip('sshd.penalties', penTitle, `OpenSSH ${c.version!.major}.${c.version!.minor} has no PerSourcePenalties (9.8 and later)`));
    return out;
  }
  if (penaltiesOff && r.penalties.refused === 0) {
    out.push(skip('sshd.penalties', penTitle, 'PerSourcePenalties is off'));
    return out;
  }
  const pen = r.penalties;
  // Cameras refused, or penalised (10.1+ logs that at INFO) and about to be: by address, with the reasons.
  const byCamera = new Map<string, { refused: number; reasons: Set<string> }>();
  for (const [addr, p] of pen.byAddr) if (r.cameraAddrs.has(addr)) byCamera.set(addr, p);
  for (const [masked, reasons] of pen.imposed) {
    const addr = masked.replace(/\/(32|128)$/, '');
    if (!r.cameraAddrs.has(addr)) continue;
    const p = byCamera.get(addr) ?? { refused: 0, reasons: new Set<string>() };
    for (const x of reasons) p.reasons.add(x);
    byCamera.set(addr, p);
  }
  const cameras = [...byCamera];
  const summary = pen.refused === 0
    ? `none ${window(log.source, r)}`
    : `${pen.refused} connection(s) refused ${window(log.source, r)}, from ${pen.byAddr.size} address(es)${pen.tableFull ? `; ${pen.tableFull} while the penalty table was full` : ''}`;
  if (cameras.length === 0 && pen.tableFull === 0) {
    // Strangers are penalised all day on a collector that faces the internet: that is PerSourcePenalties working.
    out.push(pass('sshd.penalties', penTitle, [pen.refused ? `${summary}; none of them logged in to an upload account` : summary]));
    return out;
  }
  const ev = [
    summary,
    ...cameras.slice(0, 10).map(([addr, p]) => `${addr} (last tried ${r.cameraAddrs.get(addr)}): ${p.refused} refused (${[...p.reasons].join(', ')})`),
    ...(cameras.length > 10 ? [`… and ${cameras.length - 10} more camera addresses`] : []),
    ...pen.lines.map((l) => l.raw),
  ];
  const exempt = cameras.map(([a]) => a).slice(0, 10).join(',') || 'CAMERA-ADDRESSES';
  out.push(warn('sshd.penalties', penTitle, ev, {
    reason: pen.tableFull
      ? 'sshd\'s penalty table was full: it refused every new address, cameras included (PerSourcePenaltyExemptList, or a larger max-sources in PerSourcePenalties)'
      : 'sshd refuses these cameras\' addresses for a while after failed logins from them; behind one NAT address, one camera with a stale key gets the whole site refused',
    fix: `fix what made their logins fail (sudo sftp-setup doctor names it per account), or exempt the cameras: add "PerSourcePenaltyExemptList ${exempt}" ` +
      'before any Match block in /etc/ssh/sshd_config, then: sudo sshd -t && sudo systemctl reload ssh',
  }));
  return out;
}

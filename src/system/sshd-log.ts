/**
 * Reading sshd's log where sshd writes it: the file named by `-E` on the listener's command line (then it
 * writes nowhere else), else the journal where systemd runs, else rsyslog's /var/log/auth.log. Only the
 * end is read, bounded in bytes or lines. Read-only.
 *
 * The command line is root's (the listener runs as root); the log's content is not: it quotes what remote
 * clients sent, and auth.log takes lines from any local process. Callers treat every line as data.
 */
import { constants as C, promises as fs } from 'node:fs';
import { basename, dirname } from 'node:path';
import { logFileOf, sshdArguments } from '../sshd/command-line.js';
import { parseLogText, type LogLine } from '../sshd/log-lines.js';
import { run } from './exec.js';
import { at, openDirTrusted } from './safe-fs.js';
import { runningPid, systemdRuns } from './sshd.js';

export const AUTH_LOG = '/var/log/auth.log';

export interface SshdLog {
  /** where the lines came from, for evidence: a path, or the journalctl command */
  source: string;
  lines: LogLine[];
  /** everything there was (since `sinceMs`, if given) was read, not only a bounded end of it */
  whole: boolean;
}

export interface LogReadOptions {
  /** bytes read from the end of a file (default 2 MiB) */
  maxBytes?: number;
  /** journal entries (default 20000) */
  maxLines?: number;
  /** the journal is asked only for entries from then on (ms since the epoch); files are not cut */
  sinceMs?: number;
  /** sshd's PidFile (default /run/sshd.pid) */
  pidFile?: string;
}

/** The -E file of the running listener, when it has one. */
export async function listenerLogFile(pidFile?: string): Promise<string | undefined> {
  const pid = await runningPid(pidFile);
  if (!pid) return undefined;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
  return logFileOf(sshdArguments(cmdline));
}

export async function readSshdLog(opts: LogReadOptions = {}): Promise<SshdLog | undefined> {
  const maxBytes = opts.maxBytes ?? 2 * 2 ** 20;
  const maxLines = opts.maxLines ?? 20_000;
  const own = await listenerLogFile(opts.pidFile);
  if (own) {
    const tail = await readTail(own, maxBytes);
    return tail && { source: `${own} (sshd -E)`, ...tail };
  }
  if (systemdRuns()) {
    const since = opts.sinceMs !== undefined ? ['--since', `@${Math.floor(opts.sinceMs / 1000)}`] : [];
    const r = await run('journalctl', ['-u', 'ssh', '-u', 'sshd', '--no-pager', '-q', '-o', 'short-unix', '-n', String(maxLines), ...since])
      .catch(() => undefined);
    if (r && r.exitCode === 0 && r.stdout.trim()) {
      const lines = parseLogText(r.stdout);
      return { source: 'journalctl -u ssh', lines, whole: lines.length < maxLines };
    }
  }
  const tail = await readTail(AUTH_LOG, maxBytes);
  return tail && { source: AUTH_LOG, ...tail };
}

/**
 * The last `maxBytes` of a regular file, no link another user owns followed on the way or at its name, no
 * FIFO opened (O_NONBLOCK). Undefined when it is missing or not a regular file.
 */
async function readTail(path: string, maxBytes: number): Promise<{ lines: LogLine[]; whole: boolean } | undefined> {
  const dir = await openDirTrusted(dirname(path)).catch(() => undefined);
  if (!dir) return undefined;
  try {
    const h = await fs.open(at(dir, basename(path)), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK).catch(() => undefined);
    if (!h) return undefined;
    try {
      const s = await h.stat();
      if (!s.isFile()) return undefined;
      const start = Math.max(0, s.size - maxBytes);
      const buf = Buffer.alloc(s.size - start);
      const { bytesRead } = await h.read(buf, 0, buf.length, start);
      const lines = parseLogText(buf.subarray(0, bytesRead).toString('utf8'), { partialStart: start > 0 });
      return { lines, whole: start === 0 };
    } finally {
      await h.close();
    }
  } finally {
    await dir.close().catch(() => {});
  }
}

/**
 * Finding internal-sftp's own lines in the host's log: the journal where journald takes them (syslog
 * identifier `internal-sftp`), else the file a syslog daemon writes the auth facility to (Debian's rsyslog:
 * /var/log/auth.log). The self-test looks for the close line of its own upload there.
 */
import { promises as fs } from 'node:fs';
import type { LogSocket } from '../collector/devlog.js';
import { run } from './exec.js';

const AUTH_LOG = '/var/log/auth.log';
const TAIL = 512 * 1024;

export interface FoundLine {
  source: string;
  line: string | null;
}

async function journalLines(sinceMs: number): Promise<string[]> {
  const r = await run('journalctl', ['--no-pager', '-q', '-o', 'cat', '-t', 'internal-sftp', '--since', `@${Math.floor(sinceMs / 1000) - 1}`], { timeoutMs: 10_000 });
  return r.exitCode === 0 ? r.stdout.split('\n') : [];
}

async function fileLines(path: string): Promise<string[]> {
  const h = await fs.open(path, 'r').catch(() => null);
  if (!h) return [];
  try {
    const { size } = await h.stat();
    const len = Math.min(size, TAIL);
    const buf = Buffer.alloc(len);
    await h.read(buf, 0, len, size - len);
    return buf.toString('utf8').split('\n');
  } finally {
    await h.close();
  }
}

/**
 * The first internal-sftp line logged since `sinceMs` that holds `needle` (a name only this run used),
 * waiting up to `waitMs` for the logger to write it. `line` is null when none came.
 */
export async function findUploadLogLine(socket: LogSocket, needle: string, sinceMs: number, waitMs = 3000): Promise<FoundLine> {
  const source = socket.kind === 'journald' ? 'the journal (journalctl -t internal-sftp)' : AUTH_LOG;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lines = socket.kind === 'journald' ? await journalLines(sinceMs) : await fileLines(AUTH_LOG);
    const line = lines.find((l) => l.includes(needle) && (socket.kind === 'journald' || l.includes('internal-sftp')));
    if (line !== undefined || Date.now() >= deadline) return { source, line: line ?? null };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * What the backups of a run hold and how long they are kept (pure; src/system/backups.ts and the Journal in
 * src/system/files.ts do the reading and writing).
 *
 * Every run that changes a file copies it under BACKUP_ROOT/<UTC time>-<pid>/ first. Kept: the newest
 * KEEP copies of each file (not the newest KEEP runs: the copy of sshd_config from before sftp-setup first
 * touched it outlives any number of `keys add` runs). Copies of /etc/shadow and /etc/gshadow would hold
 * every user's password hash: only the lines of the accounts the run changes go to disk, under a name no
 * one copies back over the whole file by mistake; the rollback itself works from the full content in memory.
 */

/** Copies of each file kept by default; `SFTP_SETUP_KEEP_BACKUPS` changes it. */
export const DEFAULT_KEEP_BACKUPS = 10;

/** `SFTP_SETUP_KEEP_BACKUPS`: 1 to 1000 copies per file; null when it is not such a number. */
export function parseKeepBackups(text: string): number | null {
  if (!/^\d{1,4}$/.test(text.trim())) return null;
  const n = Number(text.trim());
  return n >= 1 && n <= 1000 ? n : null;
}

/** Files whose whole copy would hold other users' secrets. */
export const SECRET_FILES: ReadonlySet<string> = new Set(['/etc/shadow', '/etc/gshadow']);

/** The name of a secret file's copy: not the file's own name, since it holds only some of its lines. */
export const ACCOUNT_LINES_SUFFIX = '.account-lines';

/** The lines of `text` (passwd-style: name first, then ':') that belong to these accounts or groups. */
export function accountLines(text: string, names: readonly string[]): string {
  const wanted = new Set(names);
  return text.split('\n').filter((l) => l.indexOf(':') > 0 && wanted.has(l.slice(0, l.indexOf(':')))).map((l) => l + '\n').join('');
}

/** A run's backup directory name (backupDirFor): <UTC time>-<pid>. Anything else in the root is not ours. */
const RUN_DIR = /^(\d{8}T\d{6}Z)-(\d{1,10})$/;

export function runDirPid(name: string): number | null {
  const m = RUN_DIR.exec(name);
  return m ? Number(m[2]) : null;
}

export interface RunBackups {
  /** the run directory's name */
  name: string;
  /** every copy in it, relative to it ('etc/ssh/sshd_config') */
  files: string[];
}

/**
 * What to delete so that each file keeps its newest `keep` copies: the older copies, and the run
 * directories left with none. Runs `spare` says are running (this run, or another one still writing) are
 * never touched; directories not named like a run are not ours and are left alone.
 */
export function prunePlan(runs: RunBackups[], keep: number, spare: (name: string) => boolean): { copies: Array<{ run: string; file: string }>; dirs: string[] } {
  const ours = runs.filter((r) => RUN_DIR.test(r.name));
  // Newest first: by the UTC time in the name, then, within one second, by the pid as a number (pids grow
  // until they wrap; as text, run 100 would sort before run 99 and be pruned as the older one).
  const key = (name: string): [string, number] => {
    const m = RUN_DIR.exec(name)!;
    return [m[1]!, Number(m[2])];
  };
  ours.sort((a, b) => {
    const [ta, pa] = key(a.name);
    const [tb, pb] = key(b.name);
    return ta !== tb ? (ta < tb ? 1 : -1) : pb - pa;
  });
  const seen = new Map<string, number>();
  const copies: Array<{ run: string; file: string }> = [];
  const dirs: string[] = [];
  for (const r of ours) {
    let left = 0;
    for (const f of r.files) {
      // A secret file's partial copy and a whole one (left by an older version) are copies of the same file:
      // the old whole copies, every user's hashes in them, age out like any other.
      const key = f.endsWith(ACCOUNT_LINES_SUFFIX) ? f.slice(0, -ACCOUNT_LINES_SUFFIX.length) : f;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      if (n > keep && !spare(r.name)) copies.push({ run: r.name, file: f });
      else left++;
    }
    if (left === 0 && !spare(r.name)) dirs.push(r.name);
  }
  return { copies: copies.filter((c) => !dirs.includes(c.run)), dirs };
}

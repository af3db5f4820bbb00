/**
 * One run at a time: an exclusive lock file holding our pid and start time, in a directory no other user
 * can write. Opened with O_NOFOLLOW|O_NONBLOCK and judged from fstat (src/lock.ts), so a symlink, FIFO,
 * directory, foreign file or garbage never blocks or hangs a run: a lock of ours whose holder is gone (or
 * is not an sftp-setup run) is taken over, anything not ours is refused with the path and the fix, and a
 * lock held by a live sftp-setup run is waited for (one line on stderr), up to `--wait` seconds.
 */
import { constants as C, promises as fs, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { FailError } from '../errors.js';
import {
  cameraLockPath as cameraLockPathFor, DEFAULT_LOCK_WAIT_SECONDS, heldTooLong, ROOT_LOCK_DIR, judgeLock, waitingLine, lockContent, startTimeOf, unsafeLockDir,
  type LockStat,
} from '../lock.js';
import { fileError } from './file-error.js';
import { processAlive } from './proc.js';

const euid = () => process.geteuid?.() ?? 0;

function toLockStat(s: Stats): LockStat {
  const type = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFIFO() ? 'fifo' : 'other';
  return { type, uid: s.uid, mode: s.mode, nlink: s.nlink };
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  return fs.lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw fileError('inspect', path, err);
  });
}

async function readProc(path: string): Promise<string | null> {
  return fs.readFile(path, 'latin1').catch(() => null);
}

async function procStart(pid: number): Promise<string | null> {
  const stat = await readProc(`/proc/${pid}/stat`);
  return stat === null ? null : startTimeOf(stat);
}


/** The camera's lock path for this process (root: the root-only directory; others: one of their own). */
export function cameraLockPath(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  let st: LockStat | null = null;
  try {
    if (runtime) st = toLockStat(statSync(runtime));
  } catch {
    st = null;
  }
  return cameraLockPathFor(euid(), { XDG_RUNTIME_DIR: runtime }, homedir(), st);
}

export interface LockOptions {
  /** mode of the lock directory when it has to be made (default 0700; 0755 for the root-only one) */
  dirMode?: number;
  /** who may own the lock directory (default: this user); its parent may also be root's */
  dirOwners?: number[];
  /** how long to wait for a lock another sftp-setup run holds (default: setLockWait, or 60 s) */
  waitMs?: number;
}

/** Make the lock directory if needed, then refuse unless it and its parent are safe. */
async function safeLockDir(dir: string, opts: LockOptions): Promise<void> {
  const me = euid();
  const owners = opts.dirOwners ?? [me];
  if (!(await lstatOrNull(dir))) {
    await fs.mkdir(dirname(dir), { recursive: true, mode: 0o700 }).catch(() => {});
    // the root-only directory stays traversable: sshd reads probe keys below it as the upload account
    await fs.mkdir(dir, { mode: opts.dirMode ?? (dir === ROOT_LOCK_DIR ? 0o755 : 0o700) }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw fileError('create lock directory', dir, err);
    });
  }
  const checks: Array<[string, string[]]> = [];
  const d = await lstatOrNull(dir);
  const why = unsafeLockDir(d && toLockStat(d), owners);
  if (why) checks.push([dir, [why]]);
  // The parent too: whoever can write it can rename the lock directory away and put their own in its place.
  const parent = dirname(dir);
  const p = await fs.stat(parent).catch(() => null);
  const whyParent = p && !(p.mode & 0o1000) ? unsafeLockDir(toLockStat(p), [...owners, 0]) : null;
  if (whyParent) checks.push([parent, [whyParent]]);
  if (checks.length) {
    const [path, [reason]] = checks[0]!;
    const owner = me === 0 ? 'root' : `uid ${me}`;
    throw new FailError(
      `will not keep the lock in ${path}: ${reason}`,
      `make ${path} a directory owned by ${owner} and writable by no one else (chown ${owner === 'root' ? 'root:root' : me} ${path}; chmod go-w ${path}), or remove it`,
    );
  }
}

/** How long acquireLock waits for a held lock when the caller does not say (set from `--wait`). */
let lockWaitMs = DEFAULT_LOCK_WAIT_SECONDS * 1000;

/** Set how long this process waits for a lock another run holds (`--wait SECONDS`; 0: fail at once). */
export function setLockWait(seconds: number): void {
  lockWaitMs = Math.max(0, seconds) * 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Work done at the end of every locked run, before the lock goes (files.ts prunes old backups there). */
const releaseHooks: Array<() => Promise<void>> = [];
export function beforeLockRelease(hook: () => Promise<void>): void {
  releaseHooks.push(hook);
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  await safeLockDir(dirname(path), opts);
  const me = euid();
  const waitMs = opts.waitMs ?? lockWaitMs;
  const deadline = performance.now() + waitMs;
  let announced = false;
  let takeovers = 0;
  // An empty lock of ours, looked at again for a while: counted per file, since waiting runs see many locks come and go.
  let empty = { ino: -1, looks: 0 };
  for (;;) {
    try {
      const h = await fs.open(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NONBLOCK, 0o600);
      let ino: number;
      try {
        await h.writeFile(lockContent(process.pid, await procStart(process.pid)));
        ino = (await h.stat()).ino;
      } finally {
        await h.close();
      }
      return async () => {
        try {
          for (const hook of releaseHooks) await hook();
        } finally {
          // Remove it only while it is still the file we made.
          const now = await fs.lstat(path).catch(() => null);
          if (now && now.ino === ino) await fs.rm(path, { force: true });
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError('create lock', path, err);
    }
    // Something is there: look at it without following a link and without blocking on a FIFO.
    let seen: Stats;
    let content: string | null = null;
    const h = await fs.open(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return 'gone' as const;
      if (err.code === 'ELOOP' || err.code === 'ENXIO' || err.code === 'EACCES' || err.code === 'EISDIR') return null;
      throw fileError('read lock', path, err);
    });
    if (h === 'gone') continue;
    if (h) {
      try {
        seen = await h.stat();
        if (seen.isFile()) {
          const buf = Buffer.alloc(64);
          const { bytesRead } = await h.read(buf, 0, 64, 0);
          content = buf.subarray(0, bytesRead).toString('latin1');
        }
      } finally {
        await h.close();
      }
    } else {
      const l = await lstatOrNull(path);
      if (!l) continue;
      seen = l;
    }
    // No link left: its holder removed it between our open and fstat (it released the lock): try again.
    if (seen.isFile() && seen.nlink === 0) continue;
    // An empty file of ours may be a lock its holder has created and not yet written its pid into (two
    // runs started together): look again a little later before calling it garbage and taking it over.
    if (seen.isFile() && seen.uid === me && content === '') {
      if (empty.ino !== seen.ino) empty = { ino: seen.ino, looks: 0 };
      if (empty.looks++ < 20) {
        await sleep(25);
        continue;
      }
    }
    const pid = /^(\d{1,10})\b/.exec(content ?? '')?.[1];
    const holder = pid && Number(pid) > 1
      ? { alive: processAlive(Number(pid)), cmdline: await readProc(`/proc/${pid}/cmdline`), start: await procStart(Number(pid)) }
      : undefined;
    const verdict = judgeLock({ stat: toLockStat(seen), euid: me, content, holder, self: process.argv[1], ownPid: process.pid });
    if (verdict.kind === 'held') {
      // Only a live sftp-setup run of ours is waited for; it removes the lock when it ends (or dies, and
      // the lock turns stale). Polled with a little jitter so that queued runs do not all wake together.
      const left = deadline - performance.now();
      if (left <= 0) {
        const e = heldTooLong(verdict.pid, Math.round(waitMs / 1000), path);
        throw new FailError(e.message, e.fix);
      }
      if (!announced) {
        announced = true;
        process.stderr.write(waitingLine(verdict.pid, seen.mtime, Math.round(waitMs / 1000)) + '\n');
      }
      await sleep(Math.min(left, 100 + Math.random() * 100));
      continue;
    }
    if (verdict.kind === 'foreign') {
      throw new FailError(`will not use the lock ${path}: ${verdict.why}`, `remove it (rm ${path}) if no sftp-setup run is active, then run again`);
    }
    // Stale or garbage, and ours: take it over, unless it was replaced meanwhile.
    if (++takeovers > 3) throw new FailError(`cannot take the lock ${path}`, `remove ${path} if no sftp-setup run is active`);
    const again = await lstatOrNull(path);
    if (again && again.ino === seen.ino && again.dev === seen.dev) await fs.rm(path, { force: true });
  }
}

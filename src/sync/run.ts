/**
 * One `sftp-setup sync` run, as the Allsky owner: interface check (before any connection), lock, scan of the
 * archive, then per attempt: list what the collector has, send what it lacks in sessions of a few hundred
 * files (part name, rename), delete confirmed spool files, and keep the state file current after every
 * session so that a run killed at any moment is continued by the next. A network failure is retried with
 * backoff; anything else stops the run with its reason.
 */
import { acquireLock } from '../system/files.js';
import { runSftpBatch } from '../system/sftp-batch.js';
import {
  deleteIfUnchanged, readInterface, readSyncState, scanArchive, statePaths, writeSyncState, type Scan, type Skipped,
} from '../system/sync-local.js';
import { confirmBatch, listingBatch, uploadBatch, type Batch } from './batch.js';
import { sftpArgs } from './connect.js';
import { bytesToSend, chunks, computeDelta, localDirs, remotePath, type Delta, type LocalFile, type Transfer } from './delta.js';
import { backoffDelays, classifySftpFailure, type SyncFailure } from './failure.js';
import { interfaceVerdict } from './interface.js';
import { confirmedSize, parseListing, sections } from './listing.js';
import type { Counts } from './progress.js';
import type { SyncState } from './state.js';
import { Transcript } from './transcript.js';

export interface SyncRunOptions {
  archiveRoot: string;
  /** the owner's home: the state file and the lock live below it */
  home: string;
  remoteDir: string;
  connect: { connectProgram: string; host: string; port: number; user: string };
  limitKbit?: number;
  retries: number;
  backoffBaseMs: number;
  minAgeMs: number;
  /** files below this path (relative to the archive root, '' for all) are deleted once confirmed; undefined: none */
  deletePrefix?: string;
  onlyWhenInterface?: string;
  dryRun: boolean;
  ui: SyncUi;
}

export interface SyncUi {
  /** what this attempt will send */
  start(total: Counts): void;
  /** delivered so far in this run */
  progress(done: Counts): void;
  /** a line for a person: a retry, an interface that went down */
  note(line: string): void;
}

export interface SyncReport {
  ok: boolean;
  dryRun: boolean;
  /** set when the run stopped before connecting (interface down) */
  skipped?: string;
  delivered: Counts;
  resumed: number;
  present: Counts;
  /** dry run: what would be sent */
  wouldSend?: Counts & { paths: string[] };
  deleted: string[];
  waiting: Counts;
  backlog: Counts;
  refused: Skipped[];
  attempts: number;
  elapsedMs: number;
  failure?: SyncFailure;
}

class SessionFailed extends Error {
  constructor(readonly failure: SyncFailure) {
    super(failure.reason);
  }
}

const count = (files: LocalFile[]): Counts => ({ files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => new Date().toISOString();

export async function runSync(o: SyncRunOptions): Promise<SyncReport> {
  const started = performance.now();
  const paths = statePaths(o.home);
  const release = o.dryRun ? async () => {} : await acquireLock(paths.lock);
  try {
    const state = await readSyncState(o.home);
    const report: SyncReport = {
      ok: false, dryRun: o.dryRun, delivered: { files: 0, bytes: 0 }, resumed: 0, present: { files: 0, bytes: 0 }, deleted: [],
      waiting: { files: 0, bytes: 0 }, backlog: { files: 0, bytes: 0 }, refused: [], attempts: 0, elapsedMs: 0,
    };
    const down = await interfaceDown(o);
    const scan = await scanArchive(o.archiveRoot, { minAgeMs: o.minAgeMs, now: Date.now() });
    report.refused = scan.skipped;
    report.waiting = count(scan.waiting);
    if (down) return await skipped(o, state, scan, report, down, started);

    const delays = backoffDelays(o.retries, o.backoffBaseMs);
    const progress: Pending = { listed: false, files: new Map(scan.files.map((f) => [f.rel, f])) };
    for (;;) {
      report.attempts++;
      try {
        await deliver(o, state, scan, report, progress);
        break;
      } catch (err) {
        if (!(err instanceof SessionFailed)) throw err;
        const wait = delays[report.attempts - 1];
        if (!err.failure.retry || wait === undefined) {
          report.failure = err.failure;
          break;
        }
        o.ui.note(`${err.failure.reason}; trying again in ${Math.round(wait / 1000)} s (attempt ${report.attempts + 1} of ${delays.length + 1})`);
        await sleep(wait);
        const gone = await interfaceDown(o);
        if (gone) return await skipped(o, state, scan, report, gone, started);
      }
    }
    report.elapsedMs = performance.now() - started;
    report.ok = report.failure === undefined;
    // Without a listing of the collector the backlog can only be estimated, as when the interface is down.
    const left = [...progress.files.values()];
    report.backlog = progress.listed ? { files: left.length + scan.waiting.length, bytes: count(left).bytes + report.waiting.bytes } : estimatedBacklog(state, scan);
    if (!o.dryRun) {
      const at = now();
      if (report.ok) state.lastSuccess = { at, files: report.delivered.files, bytes: report.delivered.bytes, ms: Math.round(report.elapsedMs) };
      else state.lastFailure = { at, reason: report.failure!.reason };
      state.backlog = { at, ...report.backlog, ...(progress.listed ? {} : { estimated: true }), local: count([...scan.files, ...scan.waiting]) };
      await writeSyncState(o.home, state);
    }
    return report;
  } finally {
    await release();
  }
}

async function interfaceDown(o: SyncRunOptions): Promise<string | undefined> {
  if (o.onlyWhenInterface === undefined) return undefined;
  return interfaceVerdict(o.onlyWhenInterface, await readInterface(o.onlyWhenInterface));
}

/**
 * The interface is down: no connection at all. The backlog is estimated without the collector: the last
 * known one plus what the camera wrote since.
 */
async function skipped(o: SyncRunOptions, state: SyncState, scan: Scan, report: SyncReport, why: string, started: number): Promise<SyncReport> {
  report.ok = true;
  report.skipped = why;
  report.elapsedMs = performance.now() - started;
  report.backlog = estimatedBacklog(state, scan);
  if (!o.dryRun) {
    const at = now();
    state.lastSkip = { at, reason: why };
    state.backlog = { at, ...report.backlog, estimated: true, local: count([...scan.files, ...scan.waiting]) };
    await writeSyncState(o.home, state);
  }
  return report;
}

/**
 * The backlog without a listing of the collector: the last one known, plus however much the camera's archive
 * grew since (all of it when nothing is known).
 */
function estimatedBacklog(state: SyncState, scan: Scan): Counts {
  const now = count([...scan.files, ...scan.waiting]);
  const b = state.backlog;
  if (!b?.local) return now;
  return { files: b.files + Math.max(0, now.files - b.local.files), bytes: b.bytes + Math.max(0, now.bytes - b.local.bytes) };
}

/** What is known not to be on the collector yet: after a listing, the files it lacked, minus those placed since. */
interface Pending {
  listed: boolean;
  files: Map<string, LocalFile>;
}

/** One attempt: list, compare, confirm and delete what the collector already has, send the rest. */
async function deliver(o: SyncRunOptions, state: SyncState, scan: Scan, report: SyncReport, pending: Pending): Promise<void> {
  const dirs = localDirs(scan.files);
  const listing = listingBatch(o.remoteDir, dirs);
  const listed = await session(o, listing);
  const remote = parseListing(listed.stdout, [o.remoteDir, ...dirs.map((d) => remotePath(o.remoteDir, d))]);
  const delta = computeDelta(scan.files, remote, o.remoteDir, state.parts);
  report.present = count(delta.present);
  pending.listed = true;
  pending.files = new Map(delta.send.map((t) => [t.file.rel, t.file]));
  if (o.dryRun) {
    report.wouldSend = { ...count(delta.send.map((t) => t.file)), bytes: bytesToSend(delta.send), paths: delta.send.map((t) => t.file.rel) };
    return;
  }
  // Records of uploads no longer pending (delivered meanwhile, or gone from the camera) are dropped.
  for (const rel of Object.keys(state.parts)) if (!pending.files.has(rel)) delete state.parts[rel];

  await deleteConfirmedPresent(o, delta, report);
  const total: Counts = { files: report.delivered.files + delta.send.length, bytes: report.delivered.bytes + bytesToSend(delta.send) };
  o.ui.start(total);
  let first = true;
  for (const chunk of chunks(delta.send)) {
    for (const t of chunk) state.parts[t.file.rel] = { size: t.file.size, mtimeMs: t.file.mtimeMs };
    await writeSyncState(o.home, state);
    await sendChunk(o, chunk, first ? delta.mkdirs : [], state, report, pending.files).finally(() => writeSyncState(o.home, state));
    first = false;
  }
}

/** Send one session's files; the state and the report follow sftp's echoes as they come. */
async function sendChunk(o: SyncRunOptions, chunk: Transfer[], mkdirs: string[], state: SyncState, report: SyncReport, outstanding: Map<string, LocalFile>): Promise<void> {
  const deletable = (t: Transfer) => isDeletable(o, t.file.rel);
  const batch = uploadBatch(o.remoteDir, chunk, { mkdirs, confirm: deletable });
  const placed: Transfer[] = [];
  const transcript = new Transcript(batch, (e) => {
    const t = chunk[e.index]!;
    if (e.kind === 'sent') {
      report.delivered.bytes += t.file.size - t.offset;
      if (t.how === 'reput') report.resumed++;
      o.ui.progress(report.delivered);
    } else {
      placed.push(t);
      report.delivered.files++;
      delete state.parts[t.file.rel];
      outstanding.delete(t.file.rel);
      o.ui.progress(report.delivered);
    }
  });
  const r = await runSftpBatch({ cwd: o.archiveRoot, argsFor: argsFor(o), batch: batch.text, onStdout: (c) => transcript.feed(c) });
  const fin = transcript.finish(r.exitCode);
  // Camera copies go only once sftp showed the exact size at the exact path, after the rename.
  const secs = fin.trusted ? sections(transcript.text, batch.sent) : null;
  if (secs) {
    for (const [k, sec] of secs.entries()) {
      const m = batch.meaning[k];
      if (m?.kind !== 'confirm') continue;
      const t = chunk[m.index]!;
      if (confirmedSize(sec, remotePath(o.remoteDir, t.file.rel)) === t.file.size && (await deleteIfUnchanged(o.archiveRoot, t.file))) report.deleted.push(t.file.rel);
    }
  }
  if (r.exitCode !== 0) throw new SessionFailed(classify(o, r, fin.failedCommand));
}

/** Spool files the collector already had: confirmed one by one, by exact path, then deleted. */
async function deleteConfirmedPresent(o: SyncRunOptions, delta: Delta, report: SyncReport): Promise<void> {
  const candidates = delta.present.filter((f) => isDeletable(o, f.rel));
  for (let i = 0; i < candidates.length; i += 500) {
    const part = candidates.slice(i, i + 500);
    const batch = confirmBatch(o.remoteDir, part.map((f) => f.rel));
    const r = await session(o, batch);
    const secs = sections(r.stdout, batch.sent);
    if (!secs) continue;
    for (const [k, sec] of secs.entries()) {
      const f = part[k]!;
      if (confirmedSize(sec, remotePath(o.remoteDir, f.rel)) === f.size && (await deleteIfUnchanged(o.archiveRoot, f))) report.deleted.push(f.rel);
    }
  }
}

function isDeletable(o: SyncRunOptions, rel: string): boolean {
  return o.deletePrefix !== undefined && (o.deletePrefix === '' || rel.startsWith(`${o.deletePrefix}/`));
}

const argsFor = (o: SyncRunOptions) => (batchFile: string) =>
  sftpArgs({ ...o.connect, batchFile, limitKbit: o.limitKbit });

/** A session whose failure stops the attempt (listing, confirmation). */
async function session(o: SyncRunOptions, batch: Batch): Promise<{ stdout: string }> {
  const transcript = new Transcript(batch);
  const r = await runSftpBatch({ cwd: o.archiveRoot, argsFor: argsFor(o), batch: batch.text, onStdout: (c) => transcript.feed(c) });
  const fin = transcript.finish(r.exitCode);
  if (r.exitCode !== 0) throw new SessionFailed(classify(o, r, fin.failedCommand));
  return { stdout: r.stdout };
}

function classify(o: SyncRunOptions, r: { exitCode: number; stderr: string }, failedCommand?: string): SyncFailure {
  return classifySftpFailure({ stderr: r.stderr, exitCode: r.exitCode, failedCommand, remoteDir: o.remoteDir, user: o.connect.user });
}


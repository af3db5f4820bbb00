/**
 * The watch loop: the tree watcher says which names changed, the tracker decides which changes are
 * completed uploads, and each one becomes an event. Names are looked at in batches (a burst of writes to one
 * file is one look); names still being written are looked at again every `pollMs` until they are closed; a
 * full rescan every `rescanMs` catches what the kernel's event queue may have dropped.
 */
import { join } from 'node:path';
import { openForWriting, fileKey } from '../system/open-writers.js';
import { hashAt, UploadTreeWatcher, type BigIntStats, type DirNode } from '../system/upload-tree-watch.js';
import { isTemporaryName, kindOf, pathFields, type UploadEvent } from './event.js';
import { CompletionTracker, type Seen } from './tracker.js';

export interface LoopOptions {
  account: string;
  uid: number;
  root: string;
  sha256: boolean;
  onEvent(e: UploadEvent): void;
  note(line: string): void;
  pollMs?: number;
  rescanMs?: number;
}

interface Spot {
  dir: DirNode;
  name: Buffer;
}

const spotKey = (dir: DirNode, name: Buffer) => `${dir.dev}:${dir.ino}/${name.toString('latin1')}`;
const dirPrefix = (dir: DirNode) => `${dir.dev}:${dir.ino}/`;
const sigOf = (s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;

export class UploadLoop {
  private readonly tree: UploadTreeWatcher;
  private readonly tracker = new CompletionTracker();
  private readonly dirty = new Map<string, Spot>();
  private readonly dirtyDirs = new Set<DirNode>();
  /** where each name the tracker waits on is (to look again) */
  private readonly spots = new Map<string, Spot>();
  /** complete uploads whose event could not be made yet (read while changing, or the tree moved): attempts so far */
  private readonly retry = new Map<string, Spot & { tries: number }>();
  private busy = false;
  private timer?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private rescanner?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: LoopOptions) {
    this.tree = new UploadTreeWatcher(o.root, { changed: (dir, name) => this.changed(dir, name), note: o.note });
  }

  async start(): Promise<{ dirs: number; files: number }> {
    let files = 0;
    await this.tree.start((dir, name, s) => {
      files++;
      this.tracker.baseline(spotKey(dir, name), sigOf(s));
    });
    this.rescanner = setInterval(() => void this.rescan(), this.o.rescanMs ?? 60_000);
    this.rescanner.unref();
    return { dirs: this.tree.dirs, files };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.poller);
    clearInterval(this.rescanner);
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    await this.tree.close();
  }

  private changed(dir: DirNode, name: Buffer | null): void {
    if (name === null) this.dirtyDirs.add(dir);
    else this.dirty.set(spotKey(dir, name), { dir, name: Buffer.from(name) });
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.process();
    }, ms);
  }

  private async process(): Promise<void> {
    if (this.busy) return this.schedule(10);
    this.busy = true;
    try {
      const dirs = [...this.dirtyDirs];
      // Names still waiting are looked at again first: an upload closed before a later one completes
      // makes its event before that one's.
      const batch = new Map<string, Spot>();
      for (const key of this.tracker.pending()) {
        const spot = this.spots.get(key);
        if (spot) batch.set(key, spot);
      }
      for (const [key, spot] of this.dirty) if (!batch.has(key)) batch.set(key, spot);
      this.dirtyDirs.clear();
      this.dirty.clear();
      for (const d of dirs) {
        if (!(await this.tree.alive(d))) for (const n of await this.tree.drop(d)) this.tracker.forget(dirPrefix(n));
      }
      await this.look([...batch.values()]);
    } catch (err) {
      this.o.note(`watching failed to look at a change: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
    if (this.dirty.size || this.dirtyDirs.size) this.schedule(0);
    this.pollLater();
  }

  /** Look at each name once: gone, a new directory, or a file (complete or not). */
  private async look(batch: Spot[]): Promise<void> {
    const files: Array<Spot & { key: string; s: BigIntStats; temp: boolean }> = [];
    for (const spot of batch) {
      const key = spotKey(spot.dir, spot.name);
      const s = await this.tree.lstat(spot.dir, spot.name);
      if (!s) {
        this.tracker.observe({ key, gone: true }, Date.now());
        this.spots.delete(key);
        // A watched directory removed (one renamed within the tree lives on, and is found under its new name).
        const child = this.tree.childNamed(spot.dir, spot.name);
        if (child && !(await this.tree.alive(child))) for (const n of await this.tree.drop(child)) this.tracker.forget(dirPrefix(n));
      } else if (s.isDirectory()) {
        await this.tree.addDir(spot.dir, spot.name, s, (dir, name) => this.dirty.set(spotKey(dir, name), { dir, name: Buffer.from(name) }));
      } else if (s.isFile()) {
        files.push({ ...spot, key, s, temp: isTemporaryName(spot.name.toString('utf8')) });
      } else {
        this.tracker.observe({ key, gone: true }, Date.now()); // a link, FIFO, socket: never an upload
      }
    }
    const asked = new Set(files.filter((f) => !f.temp).map((f) => fileKey(Number(f.s.dev), Number(f.s.ino))));
    const writing = await openForWriting(this.o.uid, asked);
    const now = Date.now();
    for (const f of files) {
      let busy = writing.has(fileKey(Number(f.s.dev), Number(f.s.ino)));
      if (!busy && !f.temp) {
        // The writer may have closed between our lstat and the look at /proc: then the lstat saw part of it.
        // Looked at again now, after the writer is gone, the file is final, or it is still changing.
        const again = await this.tree.lstat(f.dir, f.name);
        if (!again || sigOf(again) !== sigOf(f.s)) busy = true;
      }
      const seen: Seen = { key: f.key, temp: f.temp, sig: sigOf(f.s), size: Number(f.s.size), writing: busy };
      const verdict = this.tracker.observe(seen, now);
      if (verdict === 'pending') this.spots.set(f.key, f);
      else this.spots.delete(f.key);
      if (verdict === 'emit' && !(await this.emit(f, f.s))) {
        // It changed while we read it, or the tree moved (a rescan re-links moved directories): look again
        // a little later, a few times.
        this.tracker.observe({ key: f.key, gone: true }, now);
        const tries = (this.retry.get(f.key)?.tries ?? 0) + 1;
        if (tries <= 5) this.retry.set(f.key, { dir: f.dir, name: f.name, tries });
        else {
          this.retry.delete(f.key);
          this.o.note(`no event for a file whose place in the tree could not be told (${JSON.stringify(f.name.toString('utf8'))})`);
        }
        if (tries === 2) void this.rescan();
      } else this.retry.delete(f.key);
    }
  }

  private async emit(spot: Spot, s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; mtimeMs: bigint }): Promise<boolean> {
    const rel = await this.tree.relPath(spot.dir, spot.name);
    if (!rel) return false;
    let size = s.size;
    let mtimeNs = s.mtimeNs;
    let sha256: string | undefined;
    if (this.o.sha256) {
      const h = await hashAt(spot.dir, spot.name, s);
      if (!h) return false;
      ({ size, mtimeNs, sha256 } = h);
    }
    const fields = pathFields(rel);
    const e: UploadEvent = {
      account: this.o.account,
      ...fields,
      file: join(this.o.root, fields.path),
      size: Number(size),
      time: new Date().toISOString(),
      mtime: new Date(Number(mtimeNs / 1_000_000n)).toISOString(),
      kind: kindOf(fields.path),
      ...(sha256 ? { sha256 } : {}),
    };
    this.o.onEvent(e);
    return true;
  }

  /** Names still being written: look again after a while, until they are closed. */
  private pollLater(): void {
    if (this.stopped || this.poller || (this.spots.size === 0 && this.retry.size === 0)) return;
    this.poller = setTimeout(() => {
      this.poller = undefined;
      for (const key of this.tracker.pending()) {
        const spot = this.spots.get(key);
        if (spot) this.dirty.set(key, spot);
      }
      for (const [key, spot] of this.retry) this.dirty.set(key, spot);
      this.schedule(0);
    }, this.o.pollMs ?? 200);
  }

  /** Every watched directory listed again: what differs from what the tracker knows is looked at. */
  private async rescan(): Promise<void> {
    if (this.stopped) return;
    for (const dir of this.tree.all()) {
      for (const { name, s } of await this.tree.entries(dir)) {
        const key = spotKey(dir, name);
        if (s.isDirectory() || (s.isFile() && !this.tracker.known(key, sigOf(s)) && !isTemporaryName(name.toString('utf8')))) this.dirty.set(key, { dir, name });
      }
    }
    if (this.dirty.size) this.schedule(0);
  }
}

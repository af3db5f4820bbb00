/**
 * Watching the upload tree without trusting it. Every directory is opened with O_NOFOLLOW | O_DIRECTORY
 * through the directory above it (as safe-fs does) and watched through its own descriptor
 * (/proc/self/fd/N): a directory the account swaps for a link is never entered, and a watched one that it
 * renames stays watched. Names are bytes (Buffers): any byte but '/' and NUL can be in them, UTF-8 or not.
 * Directories on another filesystem and root's own `dev` (the log socket's) are not entered. The number of
 * directories and the depth are bounded; beyond them the watcher says so once and watches no more.
 */
import { createHash } from 'node:crypto';
import { constants as C, promises as fs, watch, type BigIntStats, type FSWatcher } from 'node:fs';

export type { BigIntStats };
type Handle = fs.FileHandle;

export interface DirNode {
  handle: Handle;
  parent: DirNode | null;
  /** the name in the parent (empty for the top) */
  name: Buffer;
  dev: bigint;
  ino: bigint;
  depth: number;
  watcher?: FSWatcher;
}

export interface TreeHooks {
  /** something happened to `name` in `dir`; null: to the directory itself */
  changed(dir: DirNode, name: Buffer | null): void;
  note(line: string): void;
}

export interface TreeLimits {
  maxDirs: number;
  maxDepth: number;
}

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** The path naming `name` inside the directory `dir` holds, as bytes. */
export const atName = (dir: Handle, name: Buffer) => Buffer.concat([Buffer.from(`/proc/self/fd/${dir.fd}/`), name]);
const nodeKey = (dev: bigint, ino: bigint) => `${dev}:${ino}`;

export class UploadTreeWatcher {
  private readonly nodes = new Map<string, DirNode>();
  private top?: DirNode;
  private full = false;

  constructor(private readonly rootPath: string, private readonly hooks: TreeHooks, private readonly limits: TreeLimits = { maxDirs: 4096, maxDepth: 8 }) {}

  /** Open and watch the tree; `file` is called for every regular file already there. */
  async start(file: (dir: DirNode, name: Buffer, s: BigIntStats) => void): Promise<void> {
    const h = await fs.open(this.rootPath, C.O_RDONLY | C.O_DIRECTORY);
    const s = await h.stat({ bigint: true });
    this.top = { handle: h, parent: null, name: Buffer.alloc(0), dev: s.dev, ino: s.ino, depth: 0 };
    this.nodes.set(nodeKey(s.dev, s.ino), this.top);
    this.watchNode(this.top);
    await this.scan(this.top, file);
  }

  get dirs(): number {
    return this.nodes.size;
  }

  /** lstat of a name inside a watched directory (never followed); null when it is not there. */
  async lstat(dir: DirNode, name: Buffer): Promise<BigIntStats | null> {
    return fs.lstat(atName(dir.handle, name), { bigint: true }).catch(() => null);
  }

  /** Is the directory still in the tree (not removed)? */
  async alive(dir: DirNode): Promise<boolean> {
    const s = await dir.handle.stat({ bigint: true }).catch(() => null);
    return Boolean(s && s.nlink > 0n);
  }

  /**
   * A directory that appeared (made, or renamed into place): watched, and what it holds reported through
   * `file`. One already watched (renamed within the tree) only moves.
   */
  async addDir(parent: DirNode, name: Buffer, s: BigIntStats, file: (dir: DirNode, name: Buffer, s: BigIntStats) => void): Promise<void> {
    const known = this.nodes.get(nodeKey(s.dev, s.ino));
    if (known) {
      known.parent = parent;
      known.name = Buffer.from(name);
      known.depth = parent.depth + 1;
      return;
    }
    if (!this.enter(parent, name, s)) return;
    if (this.nodes.size >= this.limits.maxDirs || parent.depth + 1 > this.limits.maxDepth) {
      if (!this.full) this.hooks.note(`not watching more directories (at most ${this.limits.maxDirs}, ${this.limits.maxDepth} levels deep): uploads below them make no events`);
      this.full = true;
      return;
    }
    const h = await fs.open(atName(parent.handle, name), DIR_FLAGS).catch(() => null); // a link now: ELOOP, not entered
    if (!h) return;
    const hs = await h.stat({ bigint: true });
    if (hs.dev !== s.dev || hs.ino !== s.ino) {
      await h.close();
      return; // swapped since the lstat: the event for the new one comes on its own
    }
    const node: DirNode = { handle: h, parent, name: Buffer.from(name), dev: hs.dev, ino: hs.ino, depth: parent.depth + 1 };
    this.nodes.set(nodeKey(hs.dev, hs.ino), node);
    this.watchNode(node);
    // Watched first, listed second: a file made between the two shows up in one of them (maybe both).
    await this.scan(node, file);
  }

  /** Stop watching a directory and everything below it; returns them. */
  async drop(dir: DirNode): Promise<DirNode[]> {
    const gone: DirNode[] = [];
    for (const n of [...this.nodes.values()]) {
      for (let p: DirNode | null = n; p; p = p.parent) {
        if (p !== dir) continue;
        this.nodes.delete(nodeKey(n.dev, n.ino));
        n.watcher?.close();
        await n.handle.close().catch(() => {});
        gone.push(n);
        break;
      }
    }
    return gone;
  }

  /**
   * The path of `name` in `dir` relative to the top, as bytes, checked link by link: each directory must
   * still sit under its name in its parent. null when the tree moved under us (the caller rescans).
   */
  async relPath(dir: DirNode, name: Buffer): Promise<Buffer | null> {
    const parts: Buffer[] = [name];
    for (let n: DirNode = dir; n.parent; n = n.parent) {
      const s = await this.lstat(n.parent, n.name);
      if (!s || s.dev !== n.dev || s.ino !== n.ino) return null;
      parts.unshift(n.name);
    }
    return Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p])));
  }

  /** The watched directory that sits (or sat) at `name` in `parent`, if any. */
  childNamed(parent: DirNode, name: Buffer): DirNode | undefined {
    for (const n of this.nodes.values()) if (n.parent === parent && n.name.equals(name)) return n;
    return undefined;
  }

  /** Every watched directory, for a rescan. */
  all(): DirNode[] {
    return [...this.nodes.values()];
  }

  /** The entries of a watched directory: name bytes and lstat (entries gone meanwhile are left out). */
  async entries(dir: DirNode): Promise<Array<{ name: Buffer; s: BigIntStats }>> {
    const names = await fs.readdir(`/proc/self/fd/${dir.handle.fd}`, { encoding: 'buffer' }).catch(() => [] as Buffer[]);
    const out: Array<{ name: Buffer; s: BigIntStats }> = [];
    for (const name of names) {
      const s = await this.lstat(dir, name);
      if (s) out.push({ name, s });
    }
    return out;
  }

  async close(): Promise<void> {
    for (const n of this.nodes.values()) {
      n.watcher?.close();
      await n.handle.close().catch(() => {});
    }
    this.nodes.clear();
  }

  /** Directories worth entering: on the top's filesystem, and not root's own `dev` at the top. */
  private enter(parent: DirNode, name: Buffer, s: BigIntStats): boolean {
    if (!s.isDirectory() || s.dev !== this.top!.dev) return false;
    const rootsDev = parent === this.top && name.toString('latin1') === 'dev' && s.uid === 0n && (s.mode & 0o022n) === 0n;
    return !rootsDev;
  }

  private watchNode(node: DirNode): void {
    try {
      node.watcher = watch(`/proc/self/fd/${node.handle.fd}`, { encoding: 'buffer', persistent: true }, (_type, filename) => {
        this.hooks.changed(node, filename && filename.length ? filename : null);
      });
      node.watcher.on('error', () => this.hooks.changed(node, null));
    } catch (err) {
      this.hooks.note(`cannot watch a directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): uploads into it make no events`);
    }
  }

  private async scan(dir: DirNode, file: (dir: DirNode, name: Buffer, s: BigIntStats) => void): Promise<void> {
    for (const { name, s } of await this.entries(dir)) {
      if (s.isDirectory()) await this.addDir(dir, name, s, file);
      else if (s.isFile()) file(dir, name, s);
    }
  }
}

/**
 * The sha256 of `name` in `dir`, read through a descriptor opened without following a link (O_NONBLOCK: a
 * FIFO swapped in does not hang us), and only while it is still the file seen (`want`) and unchanged from
 * start to end of the read; null otherwise (the caller looks again).
 */
export async function hashAt(dir: DirNode, name: Buffer, want: { dev: bigint; ino: bigint }): Promise<{ sha256: string; size: bigint; mtimeNs: bigint } | null> {
  const h = await fs.open(atName(dir.handle, name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK).catch(() => null);
  if (!h) return null;
  try {
    const before = await h.stat({ bigint: true });
    if (!before.isFile() || before.dev !== want.dev || before.ino !== want.ino) return null;
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1 << 16);
    for (let pos = 0; ; ) {
      const { bytesRead } = await h.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    const after = await h.stat({ bigint: true });
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs) return null;
    return { sha256: hash.digest('hex'), size: after.size, mtimeNs: after.mtimeNs };
  } finally {
    await h.close();
  }
}

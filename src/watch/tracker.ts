/**
 * When is an upload complete? The watcher sees a name change (created, written, linked, removed) but not
 * when its writer closes it: Node's fs.watch has no IN_CLOSE_WRITE. So each time it looks at a name it also
 * says whether a process of the upload account still holds that file open for writing (src/system/
 * open-writers.ts). A file is complete when nobody writes it any more: an event, once per content (device,
 * inode, size and modification time; not ctime, which the rename's unlink of the temporary name changes).
 *
 * - Allsky (put TEMP, rm -f DEST, mv): OpenSSH performs the rename as link(TEMP, DEST) + unlink(TEMP); DEST
 *   appears already closed and complete: one event, at once. TEMP is a temporary name: never one.
 * - `sftp put` and scp write DEST itself: it stays "writing" until closed, then one event.
 * - An empty file not held open may be one an open() just created, before the writer holds it: it counts
 *   only once it has stayed so for `settleMs`.
 * Pure: observations in, decisions out.
 */

export interface FileSeen {
  key: string;
  /** a temporary name (event.ts isTemporaryName) */
  temp: boolean;
  /** device:inode:size:mtime */
  sig: string;
  size: number;
  /** a process of the account holds it open for writing */
  writing: boolean;
}

export type Seen = FileSeen | { key: string; gone: true };

export type Verdict = 'emit' | 'pending' | 'ignore';

export class CompletionTracker {
  /** the content each name last had when complete (or when watching began) */
  private readonly done = new Map<string, string>();
  /** names to look at again: still written, or empty and settling (since when, with which content) */
  private readonly waiting = new Map<string, { sig: string; since: number }>();

  constructor(private readonly settleMs = 250) {}

  /** A file that was there when watching began: no event for this content. */
  baseline(key: string, sig: string): void {
    this.done.set(key, sig);
  }

  /** Has the name changed since it was last complete? (the periodic rescan asks) */
  known(key: string, sig: string): boolean {
    return this.done.get(key) === sig;
  }

  observe(s: Seen, now: number): Verdict {
    if ('gone' in s) {
      this.done.delete(s.key);
      this.waiting.delete(s.key);
      return 'ignore';
    }
    if (s.temp) {
      this.waiting.delete(s.key);
      return 'ignore';
    }
    if (s.writing) {
      this.waiting.set(s.key, { sig: s.sig, since: now });
      return 'pending';
    }
    if (this.done.get(s.key) === s.sig) {
      this.waiting.delete(s.key);
      return 'ignore';
    }
    if (s.size === 0) {
      const w = this.waiting.get(s.key);
      if (!w || w.sig !== s.sig) {
        this.waiting.set(s.key, { sig: s.sig, since: now });
        return 'pending';
      }
      if (now - w.since < this.settleMs) return 'pending';
    }
    this.waiting.delete(s.key);
    this.done.set(s.key, s.sig);
    return 'emit';
  }

  /** Names to look at again (a poll does, while there are any). */
  pending(): string[] {
    return [...this.waiting.keys()];
  }

  /** Forget a name entirely (its directory went away). */
  forget(prefix: string): void {
    for (const k of [...this.done.keys()]) if (k.startsWith(prefix)) this.done.delete(k);
    for (const k of [...this.waiting.keys()]) if (k.startsWith(prefix)) this.waiting.delete(k);
  }

  get size(): number {
    return this.done.size;
  }
}

/**
 * One queue per sink, so that a sink that fails or waits (a broker that is down, a URL that times out, a
 * hook that hangs) never holds up the others. Each queue is bounded: when it is full the oldest event goes
 * (the newest image matters most) and the queue says so. Delivery is in order, one event at a time, with
 * bounded retries (or, for a sink that is only waiting for its server, for as long as the queue holds).
 * No effects of its own: the sink delivers, `note` prints.
 */
import type { UploadEvent } from './event.js';

/** A delivery failure: `retry` false when trying again cannot help (HTTP 400, say). */
export class SinkError extends Error {
  constructor(message: string, readonly retry = true) {
    super(message);
  }
}

export interface Sink {
  /** "mqtt mqtt://broker:1883", "http https://…", "exec" */
  name: string;
  deliver(e: UploadEvent): Promise<void>;
  /** resolves once the sink can take an event (a broker connection), rejects after a while; absent: always ready */
  ready?(): Promise<void>;
  /** why the sink is not ready, for the health line */
  notReadyReason?(): string | undefined;
  close(): Promise<void>;
}

export interface QueueOptions {
  /** events held at most */
  max: number;
  /** attempts per event after the first (Infinity: until it goes, as long as the queue holds it) */
  retries: number;
  /** wait before attempt n (1-based) */
  backoffMs(attempt: number): number;
  note(line: string): void;
}

export interface SinkHealth {
  sink: string;
  ok: boolean;
  queued: number;
  delivered: number;
  dropped: number;
  failed: number;
  lastError?: string;
  lastDelivered?: string;
}

const where = (e: UploadEvent) => JSON.stringify(e.path);

export class SinkQueue {
  private readonly items: UploadEvent[] = [];
  private running = false;
  private current?: UploadEvent;
  private closed = false;
  private wake?: () => void;
  private readonly stats = { delivered: 0, dropped: 0, failed: 0 };
  private failing = false;
  private lastError?: string;
  private lastDelivered?: string;

  constructor(private readonly sink: Sink, private readonly o: QueueOptions) {}

  push(e: UploadEvent): void {
    if (this.closed) return;
    if (this.items.length >= this.o.max) {
      const old = this.items.shift()!;
      this.stats.dropped++;
      this.o.note(`${this.sink.name}: queue full (${this.o.max} events): dropped the oldest, ${where(old)}`);
    }
    this.items.push(e);
    void this.run();
  }

  health(): SinkHealth {
    const waiting = this.sink.notReadyReason?.();
    return {
      sink: this.sink.name, ok: !this.failing && !waiting, queued: this.items.length + (this.current ? 1 : 0), ...this.stats,
      ...(this.lastError || waiting ? { lastError: waiting ?? this.lastError } : {}),
      ...(this.lastDelivered ? { lastDelivered: this.lastDelivered } : {}),
    };
  }

  /** Stop taking events; wait up to `ms` for the queue to empty, then close the sink. */
  async close(ms: number): Promise<number> {
    this.closed = true;
    const deadline = Date.now() + ms;
    while ((this.items.length || this.current) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.wake?.();
    await this.sink.close().catch(() => {});
    return this.items.length + (this.current ? 1 : 0);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // The event in delivery is out of the queue: a full queue drops the oldest of those still waiting.
      for (let e = this.items.shift(); e; e = this.items.shift()) {
        this.current = e;
        if (!(await this.attempt(e))) this.stats.failed++;
        this.current = undefined;
      }
    } finally {
      this.running = false;
    }
  }

  /** Deliver one event, retrying; false when it was given up. */
  private async attempt(e: UploadEvent): Promise<boolean> {
    for (let n = 0; ; n++) {
      try {
        if (this.sink.ready) await this.sink.ready();
        await this.sink.deliver(e);
        this.stats.delivered++;
        this.lastDelivered = e.time;
        if (this.failing) this.o.note(`${this.sink.name}: delivering again (${this.items.length} more queued)`);
        this.failing = false;
        return true;
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        this.lastError = msg;
        if (!this.failing) this.o.note(`${this.sink.name}: ${msg}; keeping the events (${this.items.length + 1} queued, at most ${this.o.max} waiting)`);
        this.failing = true;
        const permanent = err instanceof SinkError && !err.retry;
        if (permanent || n >= this.o.retries || this.closed) {
          this.o.note(`${this.sink.name}: gave up on ${where(e)} after ${n + 1} attempt${n ? 's' : ''}: ${msg}`);
          return false;
        }
        await this.sleep(this.o.backoffMs(n + 1));
      }
    }
  }
}

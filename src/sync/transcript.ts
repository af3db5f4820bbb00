/**
 * Following an upload session as sftp runs it: with `-b` it echoes each command (`sftp> CMD`, line-buffered)
 * before running it and stops at the first failing one (unless the command starts with `-`). So the echo of
 * command k says every command before k succeeded; the exit status says whether the last one did. Echo
 * lines can only be trusted while they are exactly the commands we sent, in order. Pure.
 */
import type { Batch } from './batch.js';

export interface Progress {
  /** transfers whose data is on the collector (their put finished) */
  sent: number[];
  /** transfers renamed into place */
  placed: number[];
}

export class Transcript {
  private next = 0;
  private broken = false;
  private partial = '';
  readonly stdout: string[] = [];

  constructor(private readonly batch: Batch, private readonly on: (e: { kind: 'sent' | 'placed'; index: number }) => void = () => {}) {}

  /** Feed stdout as it comes (any chunking). */
  feed(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    this.stdout.push(line);
    if (this.broken || !line.startsWith('sftp> ')) return;
    if (this.batch.sent[this.next] !== line.slice(6)) {
      this.broken = true;
      return;
    }
    if (this.next > 0) this.completed(this.next - 1);
    this.next++;
  }

  private completed(k: number): void {
    const m = this.batch.meaning[k];
    if (!m || m.index < 0) return;
    if (m.kind === 'put') this.on({ kind: 'sent', index: m.index });
    if (m.kind === 'rename') this.on({ kind: 'placed', index: m.index });
  }

  /**
   * The session ended: with exit 0 the last command succeeded too. Returns the command that failed (the
   * last one echoed) when the session did not succeed, and whether the echoes could be followed.
   */
  finish(exitCode: number): { failedCommand?: string; trusted: boolean } {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    if (!this.broken && exitCode === 0 && this.next > 0) this.completed(this.next - 1);
    const failedCommand = exitCode !== 0 && this.next > 0 ? this.batch.sent[this.next - 1] : undefined;
    return { failedCommand, trusted: !this.broken };
  }

  get text(): string {
    return this.stdout.join('\n') + '\n';
  }
}

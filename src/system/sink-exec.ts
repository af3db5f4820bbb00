/**
 * The command sink: the person's own command line, run by `sh -c` exactly as they wrote it (it is root's
 * own text, like a cron line), once per event. The event reaches it only as data: SFTP_SETUP_* environment
 * variables and one line of JSON on stdin, never inside the command text. Its output goes to our stderr,
 * escaped (it may echo a name from the tree).
 */
import { eventEnv, type UploadEvent } from '../watch/event.js';
import { SinkError, type Sink } from '../watch/queue.js';
import { printable } from '../text/printable.js';
import { run } from './exec.js';

export function execSink(command: string, o: { timeoutMs: number; note(line: string): void }): Sink {
  return {
    name: 'exec',
    async deliver(e: UploadEvent) {
      const r = await run('sh', ['-c', command], { input: `${JSON.stringify(e)}\n`, env: eventEnv(e), timeoutMs: o.timeoutMs });
      const out = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
      for (const l of out.slice(-20)) o.note(`exec: ${printable(l)}`);
      if (r.timedOut) throw new SinkError(`the command ran longer than ${o.timeoutMs / 1000} s and was stopped`);
      if (r.exitCode !== 0) throw new SinkError(`the command exited with ${r.exitCode}`);
    },
    async close() {},
  };
}

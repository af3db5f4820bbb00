/**
 * `sftp-setup watch`: one event per completed upload of an account, printed (a line, or JSON with --json)
 * and handed to each sink (--exec, --http, --mqtt), each with its own bounded queue. Runs until SIGTERM or
 * SIGINT, then gives the queues a few seconds to empty. `--install` / `--uninstall` (watch-service.ts) make
 * it a systemd service instead.
 */
import { requireRoot, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { DEFAULT_USER } from '../collector/layout.js';
import { listManagedBlocks } from '../collector/managed.js';
import { getAccount } from '../system/accounts.js';
import { execSink } from '../system/sink-exec.js';
import { httpSink } from '../system/sink-http.js';
import { printable } from '../text/printable.js';
import { humanLine, type UploadEvent } from '../watch/event.js';
import { UploadLoop } from '../watch/loop.js';
import { parseWatchInputs, type WatchInputs, type WatchSpec } from '../watch/options.js';
import { SinkQueue, type Sink } from '../watch/queue.js';
import { writeWatchState } from '../system/watch-state.js';
import { writeOut } from '../system/stdout.js';

export interface WatchOptions extends Partial<WatchInputs> {
  json: boolean;
  install: boolean;
  uninstall: boolean;
  dryRun: boolean;
  yes: boolean;
}

const note = (line: string) => process.stderr.write(`sftp-setup watch: ${printable(line)}\n`);

export async function watchCommand(o: WatchOptions): Promise<number> {
  const spec = parseWatchInputs({ user: o.user ?? DEFAULT_USER, mqttTopic: o.mqttTopic ?? 'sftp-setup', sha256: o.sha256 ?? false, queue: o.queue ?? '1000', exec: o.exec, http: o.http, mqtt: o.mqtt });
  if (o.install && o.uninstall) throw new UsageError('--install and --uninstall exclude each other', 'give one of them');
  requireRoot('watch sees which upload sessions still write a file (they run as the upload account)');
  const { root, uid } = await accountTree(spec.user);
  if (o.install || o.uninstall) {
    const { watchServiceCommand } = await import('./watch-service.js');
    return watchServiceCommand(spec, root, { uninstall: o.uninstall, dryRun: o.dryRun, yes: o.yes, json: o.json });
  }
  return runWatch(spec, root, uid, o.json);
}

/** The account's chroot, from our own Match block (never the account's home field), and its uid. */
async function accountTree(user: string): Promise<{ root: string; uid: number }> {
  const block = listManagedBlocks().find((b) => b.user === user && b.chroot);
  const account = await getAccount(user);
  if (!block?.chroot || !account) {
    throw new UsageError(`${user} is not an upload account set up by sftp-setup on this host`, `create it first: sudo sftp-setup init --user ${user}`);
  }
  return { root: block.chroot, uid: account.uid };
}

async function buildSinks(spec: WatchSpec): Promise<Sink[]> {
  const sinks: Sink[] = [];
  if (spec.exec !== undefined) sinks.push(execSink(spec.exec, { timeoutMs: 60_000, note }));
  if (spec.http) sinks.push(httpSink(spec.http, { timeoutMs: 10_000, userAgent: 'sftp-setup-watch' }));
  if (spec.mqtt) {
    const { mqttSink } = await import('../system/sink-mqtt.js');
    sinks.push(await mqttSink(spec.mqtt, { prefix: spec.prefix, clientId: `sftp-setup-watch-${spec.user}-${process.pid}`, readyMs: 5000, publishMs: 10_000 }));
  }
  return sinks;
}

async function runWatch(spec: WatchSpec, root: string, uid: number, json: boolean): Promise<number> {
  const sinks = await buildSinks(spec);
  // HTTP and commands: 3 more tries, 1, 2, 4 s apart; MQTT: as long as the queue holds the event.
  let last: UploadEvent | undefined;
  const saveState = () => void writeWatchState(spec.user, { pid: process.pid, lastEvent: last ?? null, sinks: queues.map((q) => q.health()) }).catch(() => {});
  // A sink that starts or stops failing, or drops an event, says so here and in the state doctor reads.
  const sinkNote = (line: string) => {
    note(line);
    saveState();
  };
  const queues: SinkQueue[] = sinks.map((s) => new SinkQueue(s, {
    max: spec.queue, note: sinkNote,
    retries: s.name.startsWith('mqtt') ? Infinity : 3,
    backoffMs: (n) => Math.min(1000 * 2 ** (n - 1), 5000),
  }));
  const loop = new UploadLoop({
    account: spec.user, uid, root, sha256: spec.sha256, note,
    onEvent(e) {
      last = e;
      writeOut(json ? `${JSON.stringify(e)}\n` : `${humanLine(e)}\n`);
      for (const q of queues) q.push(e);
      saveState();
    },
  });
  const started = await loop.start();
  note(`watching ${root} for uploads of ${spec.user} (${started.dirs} directories, ${started.files} files already there); sinks: ${sinks.map((s) => s.name).join(', ') || 'none (events on stdout only)'}`);
  saveState();
  const health = setInterval(saveState, 10_000);
  health.unref();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(health);
  await loop.stop();
  const left = await Promise.all(queues.map((q) => q.close(5000)));
  const lost = left.reduce((a, b) => a + b, 0);
  if (lost) note(`stopped with ${lost} event(s) not delivered`);
  saveState();
  return EXIT.ok;
}

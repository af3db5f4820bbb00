/**
 * The receiving ends of `sftp-setup watch` inside a throwaway collector: a real mosquitto broker on loopback
 * (with a subscriber that logs every message), an HTTP receiver and a command sink, all writing files the
 * tests read; the watcher itself runs in the background there. Everything dies with the host.
 */
import { fileURLToPath } from 'node:url';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { CLI } from './helpers.js';
import type { UploadEvent } from '../../src/watch/event.js';

const HTTP_RECEIVER = fileURLToPath(new URL('./http-receiver.mjs', import.meta.url));
export const HTTP_PORT = 8099;
export const W = '/run/watch-test';

/** Start (or start again) mosquitto on 127.0.0.1:1883, no persistence: a restart forgets everything. */
export async function startBroker(h: ThrowawayHost): Promise<void> {
  await h.sh(
    `mkdir -p ${W} && printf 'listener 1883 127.0.0.1\\nallow_anonymous true\\npersistence false\\n' > ${W}/mosquitto.conf &&` +
      ` (mosquitto -c ${W}/mosquitto.conf >>${W}/mosquitto.log 2>&1 </dev/null & echo $! > ${W}/mosquitto.pid) &&` +
      ` for i in $(seq 250); do mosquitto_pub -h 127.0.0.1 -t probe -m x 2>/dev/null && exit 0; sleep 0.02; done; exit 1`,
  );
}

export async function stopBroker(h: ThrowawayHost): Promise<void> {
  await h.sh(`p=$(cat ${W}/mosquitto.pid) && kill "$p" && for i in $(seq 250); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.02; done; exit 1`);
}

/** A subscriber to everything under the prefix, one "topic payload" line per message, in FILE. */
export async function subscribe(h: ThrowawayHost, file: string, topic = 'sftp-setup/#'): Promise<void> {
  await h.sh(`(mosquitto_sub -h 127.0.0.1 -q 1 -v -t '${topic}' > ${file} 2>&1 </dev/null &) ; sleep 0.2`);
}

export async function startHttpReceiver(h: ThrowawayHost): Promise<void> {
  await h.sh(
    `mkdir -p ${W} && (node ${JSON.stringify(HTTP_RECEIVER)} ${HTTP_PORT} ${W}/http.log ${W}/http.pid ${W}/http-fail </dev/null >/dev/null 2>&1 &);` +
      ` for i in $(seq 250); do [ -s ${W}/http.pid ] && exit 0; sleep 0.02; done; exit 1`,
  );
}

/**
 * The watcher in the background with these extra arguments: events (--json) in W/watch.out, notes in
 * W/watch.err. Resolves once it says it is watching.
 */
export async function startWatch(h: ThrowawayHost, args: string[], name = 'watch'): Promise<void> {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  await h.sh(
    `mkdir -p ${W} && (node ${JSON.stringify(CLI)} watch --json ${quoted} > ${W}/${name}.out 2> ${W}/${name}.err </dev/null & echo $! > ${W}/${name}.pid);` +
      ` for i in $(seq 500); do grep -q 'watching ' ${W}/${name}.err 2>/dev/null && exit 0; sleep 0.02; done; cat ${W}/${name}.err; exit 1`,
  );
}

export async function stopWatch(h: ThrowawayHost, name = 'watch'): Promise<void> {
  await h.sh(`p=$(cat ${W}/${name}.pid) && kill "$p" && for i in $(seq 500); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.02; done; exit 1`);
}

/** An event as the watcher prints it with --json: the same shape the sinks get. */
export type Ev = UploadEvent;

/** The JSON lines of a file, parsed (a missing file: none). */
export async function jsonLines<T = Ev>(h: ThrowawayHost, file: string): Promise<T[]> {
  const text = await h.sh(`cat ${file} 2>/dev/null; true`);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

/** Wait (up to 30 s) until `read` returns something `done` accepts, and return it. */
export async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last seen ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

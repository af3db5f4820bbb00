/**
 * The MQTT sink (mqtt.js): one connection that reconnects by itself; each event published with QoS 1 to
 * `<prefix>/<account>/<kind>`, the latest image retained (a dashboard that subscribes later gets it at
 * once). Events are handed to mqtt.js only while it is connected and one at a time, each waiting for the
 * broker's PUBACK: while the broker is away, our bounded queue holds them (mqtt.js's own offline queue has no
 * bound). Loaded only when --mqtt is given.
 */
import type { MqttClient } from 'mqtt';
import type { UploadEvent } from '../watch/event.js';
import { SinkError, type Sink } from '../watch/queue.js';
import { mqttTopic, shownUrl } from '../watch/options.js';

export async function mqttSink(url: URL, o: { prefix: string; clientId: string; readyMs: number; publishMs: number }): Promise<Sink> {
  const mqtt = await import('mqtt');
  // mqtt.js is CommonJS: Node's ES module loader gives its exports by name, the bundle's chunk (scripts/bundle.mjs)
  // as `default`.
  const connect = mqtt.connect ?? (mqtt as unknown as { default: typeof mqtt }).default.connect;
  let reason: string | undefined = 'not connected yet';
  const client: MqttClient = connect(url.toString(), {
    clientId: o.clientId, clean: true, reconnectPeriod: 1000, connectTimeout: 5000, resubscribe: false, queueQoSZero: false,
  });
  const waiters = new Set<() => void>();
  client.on('connect', () => {
    reason = undefined;
    for (const w of waiters) w();
    waiters.clear();
  });
  client.on('error', (err: Error & { code?: string | number }) => {
    const code = typeof err.code === 'string' ? err.code : undefined;
    reason = code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  });
  client.on('offline', () => {
    reason ??= 'connection lost';
  });
  client.on('close', () => {
    reason ??= 'connection closed';
  });
  const name = `mqtt ${shownUrl(url)}`;
  return {
    name,
    notReadyReason: () => (client.connected ? undefined : `cannot reach the broker: ${reason ?? 'connecting'}`),
    ready() {
      if (client.connected) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          waiters.delete(done);
          reject(new SinkError(`cannot reach the broker: ${reason ?? 'connecting'}`));
        }, o.readyMs);
        waiters.add(done);
      });
    },
    deliver(e: UploadEvent) {
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new SinkError(`no PUBACK within ${o.publishMs / 1000} s`)), o.publishMs);
        client.publish(mqttTopic(o.prefix, e), JSON.stringify(e), { qos: 1, retain: e.kind === 'image' }, (err) => {
          clearTimeout(t);
          if (err) reject(new SinkError(err.message));
          else resolve();
        });
      });
    },
    async close() {
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    },
  };
}

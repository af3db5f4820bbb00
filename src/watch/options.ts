/**
 * `watch`'s options, checked (a bad one is a UsageError naming it) and turned back into the argument list an
 * installed service runs with. Pure.
 */
import { UsageError } from '../errors.js';
import { validateUserName } from '../validate.js';
import type { UploadEvent } from './event.js';

export interface WatchInputs {
  user: string;
  exec?: string;
  http?: string;
  mqtt?: string;
  mqttTopic: string;
  sha256: boolean;
  queue: string;
}

export interface WatchSpec {
  user: string;
  exec?: string;
  http?: URL;
  mqtt?: URL;
  /** MQTT topic prefix: events go to <prefix>/<account>/<kind> */
  prefix: string;
  sha256: boolean;
  /** events each sink holds at most */
  queue: number;
}

export const DEFAULT_TOPIC_PREFIX = 'sftp-setup';
export const DEFAULT_QUEUE = 1000;
const CONTROL = /[\u0000-\u001f\u007f]/;

function parseUrl(value: string, option: string, protocols: string[], example: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${option} ${JSON.stringify(value)} is not a URL`, `give one such as ${example}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new UsageError(`${option} ${shownUrl(url)}: the scheme must be ${protocols.map((p) => p.replace(/:$/, '')).join(' or ')}`, `give one such as ${example}`);
  }
  if (!url.hostname) throw new UsageError(`${option} ${shownUrl(url)} names no host`, `give one such as ${example}`);
  if (CONTROL.test(value)) throw new UsageError(`${option} holds a control character`, `give one such as ${example}`);
  return url;
}

export function parseWatchInputs(o: WatchInputs): WatchSpec {
  const user = validateUserName(o.user, '--user');
  if (o.exec !== undefined && (o.exec.trim() === '' || CONTROL.test(o.exec))) {
    throw new UsageError('--exec must be a command on one line', "give one such as --exec '/usr/local/bin/on-upload'");
  }
  const prefix = o.mqttTopic;
  if (prefix === '' || /[+#\u0000]/.test(prefix) || prefix.startsWith('/') || prefix.endsWith('/') || CONTROL.test(prefix) || prefix.length > 200) {
    throw new UsageError(`--mqtt-topic ${JSON.stringify(prefix)} is not a topic prefix (no wildcards + or #, no leading or trailing /)`, 'give one such as --mqtt-topic allsky');
  }
  if (!/^\d{1,6}$/.test(o.queue) || Number(o.queue) < 1 || Number(o.queue) > 100_000) {
    throw new UsageError(`--queue ${JSON.stringify(o.queue)} is not a number of events from 1 to 100000`, `leave it out for ${DEFAULT_QUEUE}`);
  }
  return {
    user,
    ...(o.exec !== undefined ? { exec: o.exec } : {}),
    ...(o.http !== undefined ? { http: parseUrl(o.http, '--http', ['http:', 'https:'], 'http://127.0.0.1:8080/uploads') } : {}),
    ...(o.mqtt !== undefined ? { mqtt: parseUrl(o.mqtt, '--mqtt', ['mqtt:', 'mqtts:'], 'mqtt://127.0.0.1:1883') } : {}),
    prefix,
    sha256: o.sha256,
    queue: Number(o.queue),
  };
}

/** A URL for messages: any password replaced. */
export function shownUrl(url: URL): string {
  if (!url.password) return url.toString();
  const u = new URL(url.toString());
  u.password = '***';
  return u.toString();
}

/** `<prefix>/<account>/<kind>`: the account is a checked user name and the kind one of ours, never a name from the tree. */
export function mqttTopic(prefix: string, e: Pick<UploadEvent, 'account' | 'kind'>): string {
  return `${prefix}/${e.account}/${e.kind}`;
}

/** The arguments that run this watch again (the installed service's command line). */
export function watchArgs(s: WatchSpec): string[] {
  const args = ['watch', '--user', s.user];
  if (s.exec !== undefined) args.push('--exec', s.exec);
  if (s.http) args.push('--http', s.http.toString());
  if (s.mqtt) args.push('--mqtt', s.mqtt.toString());
  if (s.prefix !== DEFAULT_TOPIC_PREFIX) args.push('--mqtt-topic', s.prefix);
  if (s.sha256) args.push('--sha256');
  if (s.queue !== DEFAULT_QUEUE) args.push('--queue', String(s.queue));
  return args;
}

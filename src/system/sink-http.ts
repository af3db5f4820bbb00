/**
 * The HTTP sink: POST the event as JSON to a URL, with a timeout. 2xx is delivered; a 4xx other than 408
 * and 429 will not change by trying again; anything else (5xx, a refused connection, a timeout) is retried
 * by the queue. Credentials in the URL are sent as basic authentication and never shown.
 */
import http from 'node:http';
import https from 'node:https';
import type { UploadEvent } from '../watch/event.js';
import { SinkError, type Sink } from '../watch/queue.js';
import { shownUrl } from '../watch/options.js';

export function httpSink(url: URL, o: { timeoutMs: number; userAgent: string }): Sink {
  const lib = url.protocol === 'https:' ? https : http;
  return {
    name: `http ${shownUrl(url)}`,
    deliver(e: UploadEvent) {
      const body = Buffer.from(JSON.stringify(e));
      return new Promise<void>((resolve, reject) => {
        const req = lib.request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length, 'user-agent': o.userAgent },
          timeout: o.timeoutMs,
        }, (res) => {
          res.resume();
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) resolve();
            else reject(new SinkError(`HTTP ${code}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, !(code >= 400 && code < 500 && code !== 408 && code !== 429)));
          });
          res.on('error', (err) => reject(new SinkError(err.message)));
        });
        req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs / 1000} s`)));
        req.on('error', (err: NodeJS.ErrnoException) => reject(new SinkError(err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message)));
        req.end(body);
      });
    },
    async close() {},
  };
}

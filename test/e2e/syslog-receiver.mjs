#!/usr/bin/env node
/**
 * A minimal syslog daemon for throwaway hosts without journald: listens on a unix *stream* socket at PATH
 * (glibc's syslog(), which OpenSSH uses, falls back to a stream socket when /dev/log is not a datagram one;
 * Node has no unix datagram sockets) and appends each message, as rsyslog would, as one line to LOG.
 * Messages end with NUL (glibc) or a newline. Test code only.
 *
 *   node syslog-receiver.mjs PATH LOG READY_FILE
 */
import fs from 'node:fs';
import net from 'node:net';

const [path, log, ready] = process.argv.slice(2);
fs.rmSync(path, { force: true });
const server = net.createServer((c) => {
  let buf = Buffer.alloc(0);
  c.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (let i = buf.findIndex((b) => b === 0 || b === 10); i >= 0; i = buf.findIndex((b) => b === 0 || b === 10)) {
      if (i > 0) fs.appendFileSync(log, `${buf.subarray(0, i).toString('latin1')}\n`);
      buf = buf.subarray(i + 1);
    }
  });
  c.on('error', () => {});
});
server.listen(path, () => {
  fs.chmodSync(path, 0o666);
  fs.writeFileSync(ready, String(process.pid));
});

#!/usr/bin/env node
/**
 * The HTTP end of the watch tests: takes POSTs on 127.0.0.1:PORT and appends each body as one line to LOG.
 * While FAIL_FILE exists it answers 503 instead (a receiver that is down for a while). Test code only.
 *
 *   node http-receiver.mjs PORT LOG READY_FILE FAIL_FILE
 */
import fs from 'node:fs';
import http from 'node:http';

const [port, log, ready, failFile] = process.argv.slice(2);
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (fs.existsSync(failFile)) {
        res.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      fs.appendFileSync(log, `${JSON.stringify({ method: req.method, type: req.headers['content-type'], body })}\n`);
      res.writeHead(204).end();
    });
  })
  .listen(Number(port), '127.0.0.1', () => fs.writeFileSync(ready, String(process.pid)));

#!/usr/bin/env node
/**
 * A raw SFTP v3 client for the hostile-uploader tests: sends any request with any bytes, which OpenSSH's
 * sftp and lftp never would (OPEN with set-uid permissions, FSETSTAT on a directory handle, names with
 * newlines or ESC, …).
 *
 *   node raw-sftp.mjs REQUESTS.json -- ssh [ssh options] -s user@host sftp
 *
 * REQUESTS.json (or "-" for stdin) holds a JSON list of requests, sent one at a time, each after the reply
 * to the one before:
 *   { "op": "open", "path": "/images/x", "pflags": ["write","creat","trunc"], "attrs": { "permissions": 3583 }, "as": "f" }
 *   { "op": "fsetstat", "handle": "@f", "attrs": { "permissions": 4095 } }
 * Names and data are JSON strings (any escape) or { "b64": … } / { "hex": … } / { "repeat": "a", "count": 255 }.
 * A reply carrying a handle is kept under the request's "as" label; "@label" uses it. Ops: open close read
 * write stat lstat fstat setstat fsetstat opendir readdir remove mkdir rmdir realpath rename readlink symlink
 * (target, link) posix-rename hardlink lsetstat extended; and, sending nothing, { "op": "wait-file", "path":
 * LOCAL } which waits (up to 30 s) until that local file exists: a test holds the session there.
 *
 * Prints one JSON line per request: { i, op, type, code, status, message, handle, names, attrs } as the
 * reply has them; { i, op, skipped } when a labelled handle is missing. Exit 0 when every request got a
 * reply, 1 when the session broke (the line says why).
 *
 * Test code only, no dependencies; the pure part (packets) is ./sftp-packets.mjs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { PacketSplitter, decodeReply, encodeInit, encodeRequest } from './sftp-packets.mjs';

const REPLY_TIMEOUT_MS = 20_000;

function usage() {
  process.stderr.write('usage: raw-sftp.mjs REQUESTS.json|- -- ssh [options] -s user@host sftp\n');
  process.exit(2);
}

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep !== 1 || argv.length < 3) usage();
const requests = JSON.parse(readFileSync(argv[0] === '-' ? 0 : argv[0], 'utf8'));
if (!Array.isArray(requests)) usage();
const [cmd, ...args] = argv.slice(2);

const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
const splitter = new PacketSplitter();
const queue = [];
let waiter = null;
let ended = null;

child.stdout.on('data', (chunk) => {
  try {
    for (const p of splitter.push(chunk)) queue.push(p);
  } catch (err) {
    ended = String(err.message ?? err);
  }
  wake();
});
child.on('exit', (code, signal) => {
  ended ??= `ssh exited (${signal ?? code})`;
  wake();
});
child.on('error', (err) => {
  ended ??= `cannot run ${cmd}: ${err.message}`;
  wake();
});
child.stdin.on('error', () => {});

function wake() {
  if (waiter) {
    const w = waiter;
    waiter = null;
    w();
  }
}

async function nextPacket() {
  const deadline = Date.now() + REPLY_TIMEOUT_MS;
  while (queue.length === 0) {
    if (ended) throw new Error(ended);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('no reply in time');
    await new Promise((resolve) => {
      waiter = resolve;
      setTimeout(resolve, left);
    });
  }
  return queue.shift();
}

const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');

async function main() {
  child.stdin.write(encodeInit(3));
  const version = decodeReply(await nextPacket());
  if (version.type !== 'version') throw new Error(`expected VERSION, got ${version.type}`);
  print({ i: -1, op: 'init', ...version });
  const labels = new Map();
  let id = 1;
  for (let i = 0; i < requests.length; i++) {
    const req = { ...requests[i] };
    if (req.op === 'wait-file') {
      const until = Date.now() + 30_000;
      while (!existsSync(req.path) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      print({ i, op: req.op, found: existsSync(req.path) });
      continue;
    }
    if (typeof req.handle === 'string' && req.handle.startsWith('@')) {
      const h = labels.get(req.handle.slice(1));
      if (!h) {
        print({ i, op: req.op, skipped: `no handle ${req.handle}` });
        continue;
      }
      req.handle = h;
    }
    const rid = id++;
    child.stdin.write(encodeRequest(req, rid));
    const reply = decodeReply(await nextPacket());
    if (reply.id !== rid) throw new Error(`reply id ${reply.id} for request ${rid}`);
    if (reply.type === 'handle' && req.as) labels.set(req.as, reply.handle);
    print({ i, op: req.op, ...(req.note ? { note: req.note } : {}), ...reply });
  }
}

main().then(
  () => {
    child.stdin.end();
    const t = setTimeout(() => child.kill('SIGTERM'), 5000);
    child.on('exit', () => {
      clearTimeout(t);
      process.exit(0);
    });
    if (child.exitCode !== null || child.signalCode !== null) process.exit(0);
  },
  (err) => {
    print({ error: String(err.message ?? err) });
    child.kill('SIGTERM');
    process.exit(1);
  },
);

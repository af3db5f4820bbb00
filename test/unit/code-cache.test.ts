/**
 * The bundle's V8 code caches (scripts/cli-load.cjs, written by scripts/bundle.mjs): the build writes one for
 * every file of the bundle and a plain run uses them; a cache that is missing, garbage, truncated, made for
 * another source of the same length, or that the running user should not trust only costs the compile: the
 * CLI prints exactly what it prints with a good one. Caches are made and used in child processes (V8 accepts a
 * cache only under the flags it was made with; vitest's own process is no plain run).
 */
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/system/exec.js';
import { ensureBundle } from '../../scripts/bundle.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const NOBODY = 65534;
// Every child without NODE_OPTIONS: a V8 flag there would make V8 refuse every cache, as it should.
const ENV = { NODE_OPTIONS: undefined, COLUMNS: '80', FORCE_COLOR: '0' };
const MARK = 'code-cache-outcome ';

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sftp-setup-code-cache-'));
  chmodSync(tmp, 0o755); // another user's run must reach it
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Node running `script` (CommonJS, the loader's path as argv[1], then args), as root or as another user. */
async function node(loader: string, script: string, args: string[] = [], uid?: number) {
  const cmd = [process.execPath, '-e', script, loader, ...args];
  const r = uid === undefined ? await run(cmd[0]!, cmd.slice(1), { env: ENV }) : await run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...cmd], { env: ENV });
  return r;
}

/** Rewrite file with text, then put its times back to the nanosecond (touch -r: utimes from Node rounds). */
async function editKeepingTimes(file: string, text: string) {
  const ref = `${file}.times`;
  expect((await run('touch', ['-r', file, ref])).exitCode).toBe(0);
  writeFileSync(file, text);
  expect((await run('touch', ['-r', ref, file])).exitCode).toBe(0);
  rmSync(ref);
}

const writeCaches = (loader: string, files: string[]) => node(loader, 'require(process.argv[1]).writeCaches(process.argv.slice(2))', files);

describe('the loader', () => {
  // A copy in the temporary directory: another user's run must be able to read it, and a clone's directory
  // may be its owner's alone (0700, as adduser makes a home).
  let loader = '';
  beforeAll(() => {
    loader = join(tmp, 'cli-load.cjs');
    cpSync(join(repo, 'scripts/cli-load.cjs'), loader);
  });
  const LOAD = "const l = require(process.argv[1]); let v; try { v = l.load(process.argv[2]); } catch (e) { v = e.stack.split('\\n').slice(0, 2).join(' | '); } console.log(JSON.stringify({ value: v, outcome: l.outcome[process.argv[2]] }));";
  const load = async (file: string, uid?: number) => {
    const r = await node(loader, LOAD, [file], uid);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { value: unknown; outcome: string };
  };
  let n = 0;
  /** A module in its own directory, with its cache. */
  async function cached(source: string) {
    const dir = join(tmp, `m${n++}`);
    mkdirSync(dir, { mode: 0o755 });
    const file = join(dir, 'm.cjs');
    writeFileSync(file, source, { mode: 0o644 });
    expect((await writeCaches(loader, [file])).exitCode).toBe(0);
    return file;
  }

  it('uses a good cache, runs the module with its file name, and keeps line numbers in stack traces', async () => {
    const file = await cached('"use strict";\nmodule.exports = [__filename, typeof require, typeof exports];\n');
    expect(await load(file)).toEqual({ value: [file, 'function', 'object'], outcome: 'used' });
    const thrower = await cached('"use strict";\n\n\nthrow new Error("line four");\n');
    const threw = await load(thrower);
    expect(threw.outcome).toBe('used');
    expect(threw.value).toMatch(new RegExp(`^Error: line four \\| +at (.+ \\()?${thrower.replace(/[.\\/]/g, '\\$&')}:4:7\\)?$`));
  });

  it('never runs cached code for another source of the same length, even with its size and mtime put back', async () => {
    const file = await cached('module.exports = "AAAA";\n');
    const before = statSync(file, { bigint: true });
    await editKeepingTimes(file, 'module.exports = "BBBB";\n');
    expect(statSync(file, { bigint: true })).toMatchObject({ size: before.size, mtimeNs: before.mtimeNs, ino: before.ino });
    // V8 itself accepts the old cache for the new source and runs the OLD code: only the loader's check stops it.
    const bare = "const fs = require('fs'), vm = require('vm'), Module = require('module'); const f = process.argv[2]; const b = fs.readFileSync(f + '.v8');"
      + " const s = new vm.Script(Module.wrap(fs.readFileSync(f, 'utf8')), { filename: f, cachedData: b.subarray(b.indexOf(10) + 1) }); const m = { exports: {} };"
      + ' s.runInThisContext()(m.exports, require, m); console.log(JSON.stringify([s.cachedDataRejected, m.exports]));';
    const v8 = await node(loader, bare, [file]);
    expect(JSON.parse(v8.stdout)).toEqual([false, 'AAAA']);
    expect(await load(file)).toEqual({ value: 'BBBB', outcome: 'stale' });
  });

  it('compiles without the cache when it is missing, garbage, truncated or older than its source', async () => {
    const source = 'module.exports = 6 * 7;\n';
    const missing = await cached(source);
    rmSync(`${missing}.v8`);
    expect(await load(missing)).toEqual({ value: 42, outcome: 'none' });
    const garbage = await cached(source);
    writeFileSync(`${garbage}.v8`, Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256)));
    expect(await load(garbage)).toEqual({ value: 42, outcome: 'unreadable' });
    // A good header before garbage: V8 itself must refuse the data.
    const badData = await cached(source);
    const good = readFileSync(`${badData}.v8`);
    const head = good.subarray(0, good.indexOf(10) + 1);
    writeFileSync(`${badData}.v8`, Buffer.concat([head, Buffer.alloc(good.length - head.length, 0x5a)]));
    expect(await load(badData)).toEqual({ value: 42, outcome: 'rejected' });
    const truncated = await cached(source);
    writeFileSync(`${truncated}.v8`, readFileSync(`${truncated}.v8`).subarray(0, head.length + 40));
    expect(await load(truncated)).toEqual({ value: 42, outcome: 'rejected' });
    const older = await cached(source);
    utimesSync(`${older}.v8`, 1000, 1000);
    expect(await load(older)).toEqual({ value: 42, outcome: 'stale' });
  });

  it('refuses a cache that is a link, not a regular file, open to group or others, or owned by another user', async () => {
    const source = 'module.exports = "ok";\n';
    const link = await cached(source);
    const elsewhere = await cached(source);
    rmSync(`${link}.v8`);
    symlinkSync(`${elsewhere}.v8`, `${link}.v8`);
    expect(await load(link)).toEqual({ value: 'ok', outcome: 'refused' });
    const dir = await cached(source);
    rmSync(`${dir}.v8`);
    mkdirSync(`${dir}.v8`);
    expect((await load(dir)).outcome).toBe('refused');
    for (const mode of [0o664, 0o646, 0o666]) {
      const open = await cached(source);
      chmodSync(`${open}.v8`, mode);
      expect(await load(open), mode.toString(8)).toEqual({ value: 'ok', outcome: 'refused' });
    }
    const foreign = await cached(source);
    chownSync(`${foreign}.v8`, NOBODY, NOBODY);
    expect(await load(foreign)).toEqual({ value: 'ok', outcome: 'refused' });
  });

  it("another user's run accepts root's cache and its own, and refuses a third user's", async () => {
    const source = 'module.exports = "ok";\n';
    const roots = await cached(source);
    expect(await load(roots, NOBODY)).toEqual({ value: 'ok', outcome: 'used' });
    const own = await cached(source);
    chownSync(`${own}.v8`, NOBODY, NOBODY);
    expect(await load(own, NOBODY)).toEqual({ value: 'ok', outcome: 'used' });
    const third = await cached(source);
    chownSync(`${third}.v8`, 12345, 12345);
    expect(await load(third, NOBODY)).toEqual({ value: 'ok', outcome: 'refused' });
  });

  it('makes caches readable by whom the source is, writable by their maker only', async () => {
    const file = await cached('module.exports = 1;\n');
    expect(statSync(`${file}.v8`).mode & 0o777).toBe(0o644);
    chmodSync(file, 0o600);
    expect((await writeCaches(loader, [file])).exitCode).toBe(0);
    expect(statSync(`${file}.v8`).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(file, '..')).sort()).toEqual(['m.cjs', 'm.cjs.v8']);
  });
});

describe('the bundle with its caches', () => {
  let manifest: { files: string[]; caches: string[] };
  let tree = '';
  let dist = '';
  let loader = '';
  let preload = '';

  beforeAll(async () => {
    manifest = (await ensureBundle()) as typeof manifest;
    // A copy laid out as the Debian package is (no tsc output beside the bundle), with caches made for it.
    tree = join(tmp, 'tree');
    dist = join(tree, 'dist');
    mkdirSync(dist, { recursive: true, mode: 0o755 });
    cpSync(join(repo, 'bin'), join(tree, 'bin'), { recursive: true });
    cpSync(join(repo, 'templates'), join(tree, 'templates'), { recursive: true });
    for (const f of manifest.files) cpSync(join(repo, 'dist', f), join(dist, f));
    loader = join(dist, 'cli-load.cjs');
    preload = join(tree, 'outcome.cjs');
    // Prints what the run's loader did with each cache, after everything the CLI printed.
    writeFileSync(preload, `process.on('exit', () => process.stderr.write(${JSON.stringify(MARK)} + JSON.stringify(require(${JSON.stringify(loader)}).outcome) + '\\n'));\n`);
    await makeCaches();
  }, 300_000);

  const packs = () => manifest.files.filter((f) => f !== 'cli-load.cjs');
  async function makeCaches() {
    const r = await writeCaches(loader, packs().map((f) => join(dist, f)));
    expect(r.exitCode, r.stderr).toBe(0);
  }

  /** The CLI in the copy: what it printed, and what became of each cache it looked at, by file name. */
  async function cli(args: string[], uid?: number) {
    const cmd = [process.execPath, '-r', preload, join(tree, 'bin/sftp-setup'), ...args];
    const r = uid === undefined ? await run(cmd[0]!, cmd.slice(1), { env: ENV }) : await run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...cmd], { env: ENV });
    const lines = r.stderr.split('\n');
    const at = lines.findIndex((l) => l.startsWith(MARK));
    expect(at, r.stderr).toBeGreaterThanOrEqual(0);
    const outcome = JSON.parse(lines[at]!.slice(MARK.length)) as Record<string, string>;
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: lines.slice(0, at).join('\n'), outcome: Object.fromEntries(Object.entries(outcome).map(([k, v]) => [k.slice(dist.length + 1), v])) };
  }
  /** The repository's own CLI: the output every variant must match. */
  const reference = async (args: string[]) => {
    const r = await run(process.execPath, [join(repo, 'bin/sftp-setup'), ...args], { env: ENV });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr.replace(/\n$/, '') };
  };
  const COMMANDS = [['--help'], ['keys', 'list', '--user', 'no-such-upload-user'], ['init', '--dry-run', '--key', 'x'], ['keys', 'add', '--help']];

  it('the build wrote a cache for every file of the bundle but the loader, and listed them', () => {
    expect(manifest.files).toContain('cli-load.cjs');
    expect(manifest.caches).toEqual(packs().map((f) => `${f}.v8`).sort());
    for (const c of manifest.caches) expect(statSync(join(repo, 'dist', c)).mtimeMs).toBeGreaterThanOrEqual(statSync(join(repo, 'dist', c.replace(/\.v8$/, ''))).mtimeMs);
    expect(readdirSync(join(repo, 'dist')).filter((f) => f.endsWith('.v8')).sort()).toEqual(manifest.caches);
  });

  it("the build's caches are accepted by this Node for every file", async () => {
    const all = "const l = require(process.argv[1]); for (const f of process.argv.slice(2)) l.load(f); console.log(JSON.stringify(Object.values(l.outcome)));";
    const r = await node(join(repo, 'dist/cli-load.cjs'), all, packs().map((f) => join(repo, 'dist', f)));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(packs().map(() => 'used'));
  });

  it('runs every command the same as the repository CLI, with every cache it loads used', async () => {
    for (const args of COMMANDS) {
      const r = await cli(args);
      const { outcome, ...out } = r;
      expect(out, args.join(' ')).toEqual(await reference(args));
      expect(outcome['cli.cjs']).toBe('used');
      expect(Object.values(outcome).every((o) => o === 'used'), JSON.stringify(outcome)).toBe(true);
    }
    // keys list loads a pack besides the entry: its cache is used too.
    expect(Object.keys((await cli(COMMANDS[1]!)).outcome).length).toBeGreaterThan(1);
  });

  it('runs the same with every cache missing, garbage, truncated or refused', async () => {
    const variants: [string, string, () => void][] = [
      ['missing', 'none', () => rmSync(join(dist, 'cli.cjs.v8'))],
      ['garbage', 'unreadable', () => writeFileSync(join(dist, 'cli.cjs.v8'), 'x'.repeat(5000))],
      ['truncated', 'rejected', () => writeFileSync(join(dist, 'cli.cjs.v8'), readFileSync(join(dist, 'cli.cjs.v8')).subarray(0, 2000))],
      ['world-writable', 'refused', () => chmodSync(join(dist, 'cli.cjs.v8'), 0o646)],
      ["another user's", 'refused', () => chownSync(join(dist, 'cli.cjs.v8'), NOBODY, NOBODY)],
    ];
    for (const [what, expected, spoil] of variants) {
      await makeCaches();
      spoil();
      for (const args of COMMANDS.slice(0, 3)) {
        const { outcome, ...out } = await cli(args);
        expect(out, `${what}: ${args.join(' ')}`).toEqual(await reference(args));
        expect(outcome['cli.cjs'], what).toBe(expected);
      }
    }
    await makeCaches();
  });

  it("never runs a cache's code for an edited entry of the same length, even with its mtime put back", async () => {
    await makeCaches();
    const entry = join(dist, 'cli.cjs');
    const before = statSync(entry, { bigint: true });
    const text = readFileSync(entry, 'utf8');
    const from = 'Locked-down, chrooted OpenSSH SFTP upload accounts';
    expect(text.split(from)).toHaveLength(2);
    await editKeepingTimes(entry, text.replace(from, from.toUpperCase()));
    try {
      expect(statSync(entry, { bigint: true })).toMatchObject({ size: before.size, mtimeNs: before.mtimeNs, ino: before.ino });
      const r = await cli(['--help']);
      expect(r.outcome['cli.cjs']).toBe('stale');
      expect(r.stdout).toContain(from.toUpperCase());
      expect(r.stdout).toBe((await reference(['--help'])).stdout.replace(from, from.toUpperCase()));
    } finally {
      writeFileSync(entry, text);
      await makeCaches();
    }
  });

  it("another user's run uses root's caches", async () => {
    await makeCaches();
    const r = await cli(['--help'], NOBODY);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe((await reference(['--help'])).stdout);
    expect(r.outcome).toEqual({ 'cli.cjs': 'used' });
  });
});

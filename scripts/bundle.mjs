#!/usr/bin/env node
/**
 * The second half of `npm run build`, after tsc: the CLI bundled, so that a command loads one file for
 * commander and the wiring and a few more for its own code, instead of dozens of modules resolved one by
 * one; the Debian package ships the same files (scripts/package-deb.mjs).
 *
 *   dist/cli.cjs         the entry: commander, the wiring, main()
 *   dist/cli-*.cjs       chunks: each command's code, loaded when that command runs, and code shared between
 *                        them; Node's built-in modules stay requires
 *   dist/cli-sshpk.cjs   sshpk and its dependencies, required only when a key needs it (src/keys/sshpk.ts)
 *   dist/cli-load.cjs    the loader (scripts/cli-load.cjs): bin/sftp-setup loads the entry with it, the entry
 *                        each of the files above
 *   dist/*.cjs.v8        V8's code cache of each of those files, made by this Node, which the loader uses
 *                        when it still matches its file (compiling is most of a start beyond Node's own)
 *   dist/bundle.json     the file list, the caches and the npm packages built in
 *
 * CommonJS, not ES modules: Node's ES module loader (asynchronous reads, a module record per file) cost
 * about a third of `--help` and `keys list` on top of Node's own start. esbuild splits only ES modules into
 * chunks, so it splits tsc's output as ES modules first (which keeps one instance of every module, however
 * many commands share it), and each chunk is then turned into CommonJS on its own: its imports become
 * requires of its sibling chunks, dynamic imports synchronous requires.
 *
 * The rest of dist/ stays tsc's output (tests and scripts import single modules from it), dist/cli.js
 * included: bin/sftp-setup runs the bundle unless tsc wrote dist/cli.js after it, so a build of tsc alone
 * never runs a stale bundle. The chunks sit beside the entry, in dist/, so that the code's look-ups relative
 * to its module (../templates, ../bin/sftp-setup; see src/launcher.ts) resolve the same from every file; the
 * build checks that those are the only ones. The version is written in (cli.js reads ../package.json).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { basename, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild-wasm';

const repo = fileURLToPath(new URL('..', import.meta.url));
const dist = join(repo, 'dist');
const ENTRY = 'cli.cjs';
const CHUNK = /^cli-.+\.cjs$/;
const SSHPK = 'cli-sshpk.cjs';
// The loader (scripts/cli-load.cjs, copied as it is): loads the entry and the packs with their code caches.
const LOADER = 'cli-load.cjs';
const CACHE = /^cli.*\.cjs\.v8$/;
const MANIFEST = join(dist, 'bundle.json');
const pkgVersion = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;

/** Replace exactly one occurrence of each [from, to] in a dependency's or module's text, or fail the build. */
function patch(path, pairs) {
  let text = readFileSync(path, 'utf8');
  for (const [from, to] of pairs) {
    if (text.split(from).length !== 2) throw new Error(`${path}: expected one "${from}": update scripts/bundle.mjs`);
    text = text.replace(from, to);
  }
  return { contents: text, loader: 'js' };
}

/**
 * Optional add-ons that mqtt.js's dependencies try to load and do without (debug's supports-color, ws's
 * native bufferutil and utf-8-validate: each required inside a try). Not in an install: in the bundle each
 * becomes a module that throws when loaded, which those try blocks expect.
 */
const OPTIONAL = /^(supports-color|bufferutil|utf-8-validate)$/;

const plugin = {
  name: 'sftp-setup-bundle',
  setup(build) {
    build.onResolve({ filter: OPTIONAL }, (args) => ({ path: args.path, namespace: 'optional-missing' }));
    build.onLoad({ filter: /.*/, namespace: 'optional-missing' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not installed`)});`,
      loader: 'js',
    }));
    // keys/sshpk.js loads sshpk lazily through a require made with createRequire, which a bundler cannot
    // follow (the bundle has no node_modules beside it). In the bundle the chunk's own require loads
    // dist/cli-sshpk.cjs, sshpk bundled on its own: a command that needs no sshpk does not even parse it.
    build.onLoad({ filter: /[\\/]dist[\\/]keys[\\/]sshpk\.js$/ }, (args) =>
      patch(args.path, [['const require = createRequire(import.meta.url);', ''], ["require('sshpk')", `require('./${SSHPK}')`]]));
    // cli.js reads its version from ../package.json at start-up, 1.5-2 ms of every run through Node's module
    // machinery; the bundle has it written in, from the package.json it was built from.
    build.onLoad({ filter: /[\\/]dist[\\/]cli\.js$/ }, (args) =>
      patch(args.path, [["createRequire(import.meta.url)('../package.json')", JSON.stringify({ version: pkgVersion })]]));
    // commander loads child_process at start-up for the executable subcommands we do not use: 2-3 ms of
    // every run. In the bundle it is loaded on that first (never made) call.
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) =>
      patch(args.path, [["const childProcess = require('node:child_process');", "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };"]]));
  },
};

const isBuiltin = (m) => builtinModules.includes(m.replace(/^node:/, ''));

/**
 * Everything the bundle finds relative to itself at run time must exist beside it (in a clone, an npm
 * install and the Debian package): the only look-ups allowed are the ones the layout provides, and every
 * module it loads is Node's or one of its own files.
 */
function audit(esm, cjs) {
  const allowed = [
    /new URL\(`\.\.\/templates\/\$\{\w+\}`,\s*import\.meta\.url\)/,
    /new URL\("\.\.\/bin\/sftp-setup",\s*import\.meta\.url\)/,
    // the module's own file (sync checks that the Allsky owner can read the code it re-runs): always there
    /fileURLToPath\d*\(import\.meta\.url\)/,
  ];
  const uses = esm.flatMap((f) => [...f.text.matchAll(/.{0,60}import\.meta\.url.{0,20}/g)].map((m) => m[0]));
  const unexplained = uses.filter((u) => !allowed.some((a) => a.test(u)));
  if (unexplained.length) throw new Error(`the bundle looks up files relative to itself that an install may not have:\n  ${unexplained.join('\n  ')}`);
  for (const a of allowed) if (!uses.some((u) => a.test(u))) throw new Error(`expected look-up ${a} not found in the bundle: update scripts/bundle.mjs`);
  for (const f of cjs) {
    if (/\bimport\.meta\b|\bimport\(/.test(f.text)) throw new Error(`${f.name} still holds import.meta or import(): it would need the ES module loader`);
    const loaded = [...f.text.matchAll(/\b(?:__)?require\d*\("([^"]+)"\)/g)].map((m) => m[1]);
    const outside = [...new Set(loaded.filter((m) => !isBuiltin(m) && !(m.startsWith('./') && cjs.some((o) => `./${o.name}` === m))))];
    if (outside.length) throw new Error(`${f.name} loads what the bundle does not contain: ${outside.join(', ')}`);
  }
}

/** Is the bundle there and not older than tsc's dist/cli.js (what bin/sftp-setup checks)? */
export function isCurrent() {
  const mtime = (f) => {
    try {
      return statSync(join(dist, f)).mtimeMs;
    } catch {
      return -1;
    }
  };
  return mtime(ENTRY) >= 0 && mtime(ENTRY) >= mtime('cli.js') && mtime('bundle.json') >= 0 && mtime(LOADER) >= 0;
}

/**
 * Which file each chunk goes into. A file costs a run a look-up, a read and a compile however small it is,
 * and esbuild makes dozens of small chunks, so they are packed: what the entry needs goes into dist/cli.cjs;
 * code that two of the commands cli.ts loads can reach goes into cli-base.cjs when `keys list` needs it
 * (the command run most often by hand, and the lightest: it should not parse the others' code), else into
 * cli-shared.cjs; code only one of them can reach goes into that command's file; the heavy dependencies
 * only the demo, the prompts and watch --mqtt use (execa, @inquirer, mqtt) stay in files of their own.
 */
const LIGHT = 'commands/keys-list.js';
function packOf(metafile) {
  const outputs = Object.fromEntries(Object.entries(metafile.outputs).map(([k, v]) => [basename(k), v]));
  const edges = (n) => outputs[n].imports.filter((i) => i.path.startsWith('dist/') || i.path.includes('/dist/')).map((i) => ({ to: basename(i.path), dynamic: i.kind === 'dynamic-import' }));
  const closure = (n, dynamic, seen = new Set()) => {
    if (seen.has(n)) return seen;
    seen.add(n);
    for (const e of edges(n)) if (dynamic || !e.dynamic) closure(e.to, dynamic, seen);
    return seen;
  };
  const always = closure(ENTRY, false);
  const commands = [...new Set(edges(ENTRY).filter((e) => e.dynamic).map((e) => e.to))];
  const lightRoot = commands.find((c) => outputs[c].entryPoint.endsWith(LIGHT));
  if (!lightRoot) throw new Error(`cli.js no longer loads ${LIGHT}: update LIGHT in scripts/bundle.mjs`);
  const light = closure(lightRoot, false);
  const reach = new Map(commands.map((c) => [c, closure(c, true)]));
  const heavy = (n) => Object.keys(outputs[n].inputs).some((i) => /node_modules\/(execa|@inquirer|mqtt)\//.test(i));
  const pack = new Map();
  for (const n of Object.keys(outputs)) {
    const users = commands.filter((c) => reach.get(c).has(n));
    const name = (c) => outputs[c].entryPoint.replace(/^.*\//, '').replace(/\.js$/, '');
    const shared = light.has(n) ? 'cli-base.cjs' : 'cli-shared.cjs';
    pack.set(n, always.has(n) ? ENTRY : heavy(n) ? n : users.length >= 2 ? shared : users.length === 1 ? `cli-${name(users[0])}.cjs` : n);
  }
  return { pack, sources: Object.fromEntries(Object.entries(outputs).map(([n, o]) => [n, Object.keys(o.inputs).filter((i) => !i.includes('node_modules')).map((i) => i.replace(/^.*dist\//, ''))])) };
}

/**
 * The files: each chunk a function in its pack, called on its first require (by __sftpRequire, which knows
 * every chunk's pack and hands anything else to Node's require); dist/cli.cjs holds that table and requires
 * the entry chunk.
 */
const URL_CONST = 'const __sftpUrl = require("node:url").pathToFileURL(__filename).href;';

function writePacks(chunks, pack, sources) {
  const files = new Map();
  const factory = (c) => `// ${c.name}: ${sources[c.name].join(', ') || 'shared helpers'}\n${JSON.stringify(`./${c.name}`)}: function (module, exports, require) {\n${c.text}},\n`;
  for (const c of chunks) files.set(pack.get(c.name), (files.get(pack.get(c.name)) ?? '') + factory(c));
  const table = Object.fromEntries(chunks.map((c) => [`./${c.name}`, `./${pack.get(c.name)}`]));
  const out = [];
  for (const [name, body] of files) {
    if (name === ENTRY) continue;
    out.push({ name, text: `"use strict";\n// sftp-setup bundle (scripts/bundle.mjs): chunks required through dist/cli.cjs\n${URL_CONST}\nmodule.exports = {\n${body}};\n` });
  }
  out.push({
    name: ENTRY,
    text: `"use strict";
// sftp-setup bundle (scripts/bundle.mjs). Every chunk is a function, evaluated on its first require; this table
// names the file that holds each one.
${URL_CONST}
const __sftpLoad = require(${JSON.stringify(`./${LOADER}`)}).load;
const __sftpJoin = require("node:path").join;
const __sftpPacks = ${JSON.stringify(table, null, 1)};
const __sftpDefs = Object.create(null);
const __sftpModules = Object.create(null);
function __sftpRequire(id) {
  const done = __sftpModules[id];
  if (done) return done.exports;
  if (!(id in __sftpDefs)) {
    const pack = __sftpPacks[id];
    // Node's modules by Node; the bundle's own files (the packs, cli-sshpk.cjs) by the loader, with their caches.
    if (pack === undefined && !id.startsWith("./")) return require(id);
    const exports = __sftpLoad(__sftpJoin(__dirname, pack ?? id));
    if (pack === undefined) return exports;
    Object.assign(__sftpDefs, exports);
  }
  const module = { exports: {} };
  __sftpModules[id] = module;
  __sftpDefs[id].call(module.exports, module, module.exports, __sftpRequire);
  return module.exports;
}
Object.assign(__sftpDefs, {
${files.get(ENTRY)}});
module.exports = __sftpRequire(${JSON.stringify(`./${ENTRY}`)});
`,
  });
  return out;
}

/** Bundle tsc's dist/ into dist/cli.cjs and its packs. Returns what bundle.json holds. */
export async function bundle() {
  const common = { absWorkingDir: repo, bundle: true, platform: 'node', target: 'node18', legalComments: 'none', write: false, metafile: true, logLevel: 'warning' };
  const split = await esbuild.build({
    ...common,
    entryPoints: [join(dist, 'cli.js')],
    splitting: true,
    format: 'esm',
    outdir: dist,
    entryNames: '[name]',
    chunkNames: 'cli-[name]-[hash]',
    outExtension: { '.js': '.cjs' },
    external: [`./${SSHPK}`],
    plugins: [plugin],
  });
  const sshpk = await esbuild.build({
    ...common,
    entryPoints: [createRequire(join(dist, 'keys/sshpk.js')).resolve('sshpk')],
    format: 'cjs',
    outfile: join(dist, SSHPK),
  });
  for (const r of [split, sshpk]) if (r.errors.length || r.warnings.length) throw new Error(`esbuild reported ${r.errors.length} errors and ${r.warnings.length} warnings`);
  const esm = split.outputFiles.map((f) => ({ name: basename(f.path), text: f.text }));
  const chunks = [];
  for (const f of esm) {
    const t = await esbuild.transform(f.text, {
      format: 'cjs',
      target: 'node18',
      // import() would start the ES module loader: a require of the chunk does the same in CommonJS.
      supported: { 'dynamic-import': false },
      // Every file of the bundle is in dist/: its own URL (computed once per file) is what the module's was for
      // the look-ups relative to it.
      define: { 'import.meta.url': '__sftpUrl' },
      // ES modules are strict, and every chunk was written as one.
      banner: '"use strict";',
      logLevel: 'warning',
    });
    if (t.warnings.length) throw new Error(`esbuild warned about ${f.name}: ${t.warnings.map((w) => w.text).join('; ')}`);
    chunks.push({ name: f.name, text: t.code });
  }
  if (!chunks.some((f) => f.name === ENTRY) || chunks.some((f) => f.name !== ENTRY && !CHUNK.test(f.name))) {
    throw new Error(`unexpected chunks: ${chunks.map((f) => f.name).join(', ')}`);
  }
  audit(esm, [...chunks, { name: SSHPK, text: sshpk.outputFiles[0].text }]);
  const { pack, sources } = packOf(split.metafile);
  const files = [...writePacks(chunks, pack, sources), ...sshpk.outputFiles.map((f) => ({ name: basename(f.path), text: f.text }))];
  if (files.some((f) => f.name === LOADER)) throw new Error(`a pack is named ${LOADER}, the loader's name: update scripts/bundle.mjs`);
  files.push({ name: LOADER, text: readFileSync(join(repo, 'scripts', LOADER), 'utf8') });
  // The inputs as paths relative to the repository (node_modules may be a link elsewhere).
  const inputs = [split, sshpk].flatMap((r) => Object.keys(r.metafile.inputs)).map((i) => relative(repo, join(repo, i)));
  // The packs first, then the entry, then the old packs go: a run that starts meanwhile finds a whole bundle.
  for (const f of files.sort((a, b) => Number(a.name === ENTRY) - Number(b.name === ENTRY))) writeFileSync(join(dist, f.name), f.text);
  for (const old of readdirSync(dist).filter((n) => CHUNK.test(n) && !files.some((f) => f.name === n))) rmSync(join(dist, old));
  // The caches last: one a run finds before its source is rewritten no longer matches it and is not used.
  const caches = writeCaches(files.map((f) => f.name).filter((n) => n !== LOADER));
  for (const old of readdirSync(dist).filter((n) => CACHE.test(n) && !caches.includes(n))) rmSync(join(dist, old));
  const manifest = { files: files.map((f) => f.name).sort(), caches: caches.sort(), inputs: [...new Set(inputs)].sort() };
  writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/**
 * V8 code caches of the bundle's files (<dir>/<file>.v8, see scripts/cli-load.cjs; dir holds the bundle and
 * its loader: dist/, or an extracted Debian package's), made by the Node that runs this, in a process of its
 * own without NODE_OPTIONS: a cache is accepted only by a Node of the same version with the same V8 flags, as
 * a plain `sftp-setup` run has. Returns their names.
 */
export function writeCaches(names, dir = dist) {
  const make = 'require(process.argv[1]).writeCaches(process.argv.slice(2))';
  const r = spawnSync(process.execPath, ['-e', make, join(dir, LOADER), ...names.map((n) => join(dir, n))], {
    env: { ...process.env, NODE_OPTIONS: undefined },
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`writing the code caches failed: ${r.stderr.trim() || r.error?.message || `exit ${r.status}`}`);
  return names.map((n) => `${n}.v8`);
}

/** The current bundle's manifest, bundling first when there is none or tsc wrote dist/cli.js since. */
export async function ensureBundle() {
  if (!isCurrent()) return bundle();
  return JSON.parse(readFileSync(MANIFEST, 'utf8'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { files } = await bundle();
    console.log(`dist/${ENTRY}: bundled, ${files.length} files`);
  } catch (err) {
    console.error(`bundle: ${err.message}`);
    process.exit(1);
  }
}

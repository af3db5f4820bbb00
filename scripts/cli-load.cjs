'use strict';
/**
 * The bundle's loader: not a build script. scripts/bundle.mjs copies this file unchanged to dist/cli-load.cjs;
 * bin/sftp-setup loads the entry dist/cli.cjs with load(), and the entry loads each pack with it.
 *
 * load(file) is require() for one of the bundle's files with V8's code cache: compiling the bundle is most of
 * what a start costs beyond Node's own, and a cache made at build time (eager: every function, not only the
 * top level) lets V8 skip it. A cache is code, so:
 *  - it is read only from beside its source (file + '.v8'), and never written by a run: writeCaches() is
 *    for the build (scripts/bundle.mjs) and the Debian package's postinst;
 *  - it is refused when it is a link, not a regular file, writable by group or others, or owned by
 *    anyone but root or the user running (root's run then accepts root's files only);
 *  - it is refused when the source changed since it was made. V8 compares only the source's length with the
 *    cache, so an edit of the same length would run the cached, old code: the cache records its source's
 *    size, mtime, ctime and inode, and all must match. ctime cannot be set back (utimes changes it), so even
 *    a same-length edit with its mtime restored is caught, at the price of one fstat, and no hashing;
 *  - anything wrong with it (missing, unreadable, stale, refused, rejected by V8) means a plain compile. A
 *    run never fails because of a cache.
 */
const { chmodSync, closeSync, constants, fstatSync, openSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');

const MAGIC = 'sftp-setup code cache ';
const loaded = new Map();
/** What happened to each file's cache: used, none, stale, refused, unreadable or rejected (for tests). */
const outcome = Object.create(null);

/** The source's identity as the cache records it: any write, rename over it or utimes changes it. */
const identity = (st) => ({ size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
const sameIdentity = (a, b) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;

/** The V8 data of file's cache if it may be used for a source with these stats, else why not (a string). */
function cacheFor(file, st) {
  let fd;
  try {
    // O_NOFOLLOW: a link is refused here, and the fstat below is of the very file that is read.
    fd = openSync(`${file}.v8`, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    return err.code === 'ENOENT' ? 'none' : err.code === 'ELOOP' ? 'refused' : 'unreadable';
  }
  try {
    const c = fstatSync(fd);
    const uid = process.geteuid();
    if (!c.isFile() || (c.uid !== 0 && c.uid !== uid) || c.mode & 0o022) return 'refused';
    if (c.mtimeMs < st.mtimeMs) return 'stale';
    const buf = readFileSync(fd);
    const nl = buf.indexOf(10);
    const head = nl > 0 ? buf.toString('latin1', 0, nl) : '';
    if (!head.startsWith(MAGIC)) return 'unreadable';
    let recorded;
    try {
      recorded = JSON.parse(head.slice(MAGIC.length));
    } catch {
      return 'unreadable';
    }
    return sameIdentity(recorded, identity(st)) ? buf.subarray(nl + 1) : 'stale';
  } catch {
    return 'unreadable';
  } finally {
    closeSync(fd);
  }
}

/** A file's text and the stats of the very file read (one descriptor for both). */
function readWithStats(file) {
  const fd = openSync(file, 'r');
  try {
    return { st: fstatSync(fd), source: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** require(file) for a CommonJS file of the bundle, compiled with its cache when that may be used. */
function load(file) {
  const done = loaded.get(file);
  if (done) return done.exports;
  const { st, source } = readWithStats(file);
  const cachedData = cacheFor(file, st);
  const usable = typeof cachedData !== 'string';
  // The file name keeps stack traces pointing at the file; Module.wrap adds no line, so line numbers hold.
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData: usable ? cachedData : undefined });
  outcome[file] = !usable ? cachedData : script.cachedDataRejected ? 'rejected' : 'used';
  // The bundle uses module.exports only; require is Node's own for this file (built-in modules, its siblings).
  const module = { exports: {}, id: file, filename: file, loaded: false };
  loaded.set(file, module);
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, dirname(file));
  module.loaded = true;
  return module.exports;
}

/**
 * Build and install time only (never a run): write file + '.v8' for each file, with this Node, made eagerly.
 * Run it in a process without V8 flags of its own (no NODE_OPTIONS): V8 accepts a cache only under the flags
 * it was made with. --no-lazy is on only while compiling, so the cache carries the flags of a plain run.
 */
function writeCaches(files) {
  const v8 = require('node:v8');
  for (const file of files) {
    const { st, source } = readWithStats(file);
    v8.setFlagsFromString('--no-lazy');
    let script;
    try {
      script = new vm.Script(Module.wrap(source), { filename: file });
    } finally {
      v8.setFlagsFromString('--lazy');
    }
    const data = script.createCachedData();
    // Written aside and renamed: a run never reads half a cache. Readable by whom the source is (whatever the
    // umask), writable by its maker only.
    const tmp = `${file}.v8.${process.pid}`;
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(identity(st))}\n`, 'latin1'), data]), { mode: 0o600 });
    chmodSync(tmp, st.mode & 0o644);
    renameSync(tmp, `${file}.v8`);
  }
}

module.exports = { load, writeCaches, outcome };

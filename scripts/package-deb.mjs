#!/usr/bin/env node
/**
 * `npm run package`: the Debian package, pkg/sftp-setup_<version>_all.deb, from the build's bundle.
 *
 *   /usr/lib/sftp-setup/dist/cli.cjs      the bundle `npm run build` made (scripts/bundle.mjs): the CLI and its
 *   /usr/lib/sftp-setup/dist/cli-*.cjs      dependencies, each command's code in a file loaded when it runs
 *   /usr/lib/sftp-setup/dist/cli-load.cjs   the bundle's loader (scripts/cli-load.cjs)
 *   /usr/lib/sftp-setup/bin/sftp-setup    the repository's launcher, which loads ../dist/cli.cjs
 *   /usr/lib/sftp-setup/bin/package.json  makes the launcher CommonJS, as in the repository
 *   /usr/lib/sftp-setup/templates/…       read at run time, relative to the bundle (as in a clone)
 *   /usr/lib/sftp-setup/package.json      name and version (tsc's dist/cli.js reads it; the bundle has it written in)
 *   /usr/bin/sftp-setup                   symlink to the launcher
 *   /usr/share/man/man1/sftp-setup.1.gz   generated from the commands' definitions (the same as --help)
 *   /usr/share/bash-completion/completions/sftp-setup
 *   /usr/share/doc/sftp-setup/{copyright,changelog.gz}
 *
 * The package keeps the repository's relative layout (bin/, dist/, templates/, package.json side by side), so
 * the code's own look-ups relative to its module work unchanged; the bundle checks that those are the only
 * ones. There is one build: the package holds the very files the clone runs (when there is no bundle, or tsc
 * wrote dist/ after it, this script bundles first, as npm run build does). The launcher stays a separate file,
 * as in an npm install.
 * The bundle's V8 code caches (dist/*.v8) are not shipped: V8 accepts a cache only from the same Node version, and
 * the build's Node need not be the user's. The postinst makes them with /usr/bin/node (the launcher's), as root;
 * a trigger on /usr/bin/node makes them again when nodejs is upgraded; the prerm removes them, so that dpkg can
 * remove the directory. A failure there costs start-up time only: without a cache the loader compiles.
 * Writes only pkg/ in the repository (or the directory given with --out DIR) and a temporary staging
 * directory, which it removes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ensureBundle } from './bundle.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const outArg = process.argv.indexOf('--out');
const outDir = outArg > 0 && process.argv[outArg + 1] ? resolve(process.argv[outArg + 1]) : join(repo, 'pkg');
const LIB = 'usr/lib/sftp-setup';

const fail = (msg) => {
  console.error(`package-deb: ${msg}`);
  process.exit(1);
};

for (const f of ['dist/cli.js', 'dist/docs/man-page.js', 'dist/docs/completion.js']) {
  try {
    lstatSync(join(repo, f));
  } catch {
    fail(`${f} is missing: run npm run build first (npm run package does)`);
  }
}

// ---- the bundle: the build's own (scripts/bundle.mjs) ------------------------------------------------------

let built;
try {
  built = await ensureBundle();
} catch (err) {
  fail(err.message);
}
const { files: bundleFiles, inputs } = built;

// ---- the other files --------------------------------------------------------------------------------------

const { buildProgram, EXIT } = await import(pathToFileURL(join(repo, 'dist/cli.js')).href);
const { manPage } = await import(pathToFileURL(join(repo, 'dist/docs/man-page.js')).href);
const { bashCompletion } = await import(pathToFileURL(join(repo, 'dist/docs/completion.js')).href);

/** The build's date: the last commit's (reproducible), or now outside a git checkout. */
function buildDate() {
  if (process.env.SOURCE_DATE_EPOCH) return new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000);
  try {
    return new Date(Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) * 1000);
  } catch {
    return new Date();
  }
}

const EXIT_MEANINGS = {
  ok: 'done; for doctor: nothing failed',
  failed: 'failed; for doctor: something failed',
  usage: 'bad input (a usage mistake, an invalid value); nothing was changed',
  keyNotAuthorized: 'allsky-config: configured, but the collector does not accept the key yet',
  resumable: 'keys rotate: stopped in a resumable state; run it again to finish',
};

const MAINTAINER = pkg.author
  ? typeof pkg.author === 'string' ? pkg.author : `${pkg.author.name} <${pkg.author.email}>`
  : 'sftp-setup maintainers <sftp-setup@invalid>';

const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
USE OR OTHER DEALINGS IN THE SOFTWARE.`;

/** The npm packages the bundle contains, from the bundler's list of inputs: license and its file's text. */
function bundledPackages(inputs) {
  const dirs = new Set();
  for (const input of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(m[1]);
  }
  return [...dirs].sort().map((d) => {
    const p = JSON.parse(readFileSync(join(repo, d, 'package.json'), 'utf8'));
    const license = typeof p.license === 'string' ? p.license : p.license?.type;
    const file = readdirSync(join(repo, d)).find((f) => /^licen[cs]e(\.(md|txt))?$/i.test(f));
    // A package without a license file (assert-plus) is covered by the MIT text below, if that is its license.
    if (!license || (!file && license !== 'MIT')) fail(`${d}: no license${license ? ' file' : ''} to put in the copyright file`);
    return { name: p.name, version: p.version, license, text: file ? readFileSync(join(repo, d, file), 'utf8').replace(/\r/g, '') : '' };
  });
}

/** Debian's machine-readable copyright file: ours, and every bundled package's holders and license text. */
function copyright(packages) {
  const paragraph = (text) => text.trim().split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`)).join('\n');
  const holders = (p) => {
    const lines = p.text.split('\n').filter((l) => /^\s*(copyright\b|\(c\)|©)/i.test(l) && !/copyright (notice|holders?\b|owner)/i.test(l));
    return lines.length ? lines.map((l) => l.trim()) : [`the authors of ${p.name}`];
  };
  const stanzas = packages.map((p) => `Files: ${LIB}/dist/*
Comment: built-in npm package ${p.name} ${p.version}
Copyright: ${holders(p).join('\n ')}
License: ${p.license}${p.text ? `\n${paragraph(p.text)}` : ''}`);
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${pkg.name}
Comment: ${LIB}/dist/ is ${pkg.name} with the npm packages it uses built in; the
 stanzas after the first give each one's copyright and license, from the package itself.

Files: *
Copyright: the ${pkg.name} authors
License: MIT

${stanzas.join('\n\n')}

License: MIT
${paragraph(MIT)}
`;
}

function changelog(date) {
  // Debian's changelog format; the package is native (no Debian revision), so the file is changelog.gz.
  const stamp = date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1, $2 $3 $4 $5 +0000');
  return `${pkg.name} (${pkg.version}) unstable; urgency=medium

  * Release ${pkg.version}, built from the npm project: the CLI bundled (a chunk per command), a man
    page and bash completion generated from the command definitions.

 -- ${MAINTAINER}  ${stamp}
`;
}

/** Words filled into lines of at most `width` columns. */
function fill(text, width) {
  const lines = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

function control(installedKiB) {
  return `Package: ${pkg.name}
Version: ${pkg.version}
Architecture: all
Maintainer: ${MAINTAINER}
Installed-Size: ${installedKiB}
Depends: nodejs (>= 18.19), openssh-client, lftp, util-linux, mount, iproute2, passwd
Recommends: openssh-server
Section: admin
Priority: optional
Description: locked-down SFTP upload accounts for Allsky cameras
${fill(`${pkg.description}.`, 74).map((l) => ` ${l}`).join('\n')}
 .
 On the collector, init creates a chrooted, SFTP-only upload account; on an
 Allsky camera, allsky-config sets up the key, the pinned host key and the
 uploads; doctor checks either side; demo tries both ends in throwaway hosts.
`;
}

// The code caches, made and removed on the user's machine (see the top of this file): one for each file of the
// bundle but the loader. The rm also takes a half-written one (the loader writes <file>.v8.<pid>, then renames).
const cached = bundleFiles.filter((f) => f !== 'cli-load.cjs');
const removeCaches = `rm -f /${LIB}/dist/*.v8 /${LIB}/dist/*.v8.*`;
const postinst = `#!/bin/sh
# sftp-setup: V8 code caches of the bundle for /usr/bin/node (scripts/cli-load.cjs), when the package is
# configured and when nodejs changes (the trigger). Without them it only starts slower, so a failure is no error.
set -e
case "$1" in
  configure | triggered)
    ${removeCaches}
    env -u NODE_OPTIONS /usr/bin/node -e 'require(process.argv[1]).writeCaches(process.argv.slice(2))' /${LIB}/dist/cli-load.cjs \\
      ${cached.map((f) => `/${LIB}/dist/${f}`).join(' \\\n      ')} ||
      echo "sftp-setup: no code caches made; it works, but starts slower" >&2
    ;;
esac
`;
const prerm = `#!/bin/sh
# sftp-setup: the code caches the postinst made, which dpkg does not know of.
set -e
${removeCaches}
`;

// ---- staging and dpkg-deb ---------------------------------------------------------------------------------

function put(root, path, content, mode = 0o644) {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
  chmodSync(full, mode);
}

/** 0755 for directories; files keep the mode put() gave them. Returns Installed-Size in KiB, as dpkg counts it. */
function finishTree(dir) {
  let kib = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      chmodSync(full, 0o755);
      kib += 1 + finishTree(full);
    } else if (entry.isFile()) {
      kib += Math.ceil(lstatSync(full).size / 1024);
    } else {
      kib += 1;
    }
  }
  return kib;
}

const date = buildDate();
const program = buildProgram();
const man = manPage({
  program,
  version: pkg.version,
  date: date.toLocaleDateString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }),
  exitCodes: Object.entries(EXIT).map(([key, value]) => ({ code: value, meaning: EXIT_MEANINGS[key] ?? key })),
});

const stage = mkdtempSync(join(tmpdir(), 'sftp-setup-deb-'));
try {
  chmodSync(stage, 0o755);
  for (const f of bundleFiles) put(stage, `${LIB}/dist/${f}`, readFileSync(join(repo, 'dist', f)));
  // Debian's nodejs package puts node at /usr/bin/node.
  put(stage, `${LIB}/bin/sftp-setup`, readFileSync(join(repo, 'bin/sftp-setup'), 'utf8').replace(/^#!.*\n/, '#!/usr/bin/node\n'), 0o755);
  put(stage, `${LIB}/bin/package.json`, readFileSync(join(repo, 'bin/package.json')));
  put(stage, `${LIB}/package.json`, JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 2) + '\n');
  for (const t of readdirSync(join(repo, 'templates'))) put(stage, `${LIB}/templates/${t}`, readFileSync(join(repo, 'templates', t)));
  mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  symlinkSync(`../lib/sftp-setup/bin/sftp-setup`, join(stage, 'usr/bin/sftp-setup'));
  put(stage, 'usr/share/man/man1/sftp-setup.1.gz', gzipSync(man, { level: 9 }));
  put(stage, 'usr/share/bash-completion/completions/sftp-setup', bashCompletion(program));
  put(stage, 'usr/share/doc/sftp-setup/copyright', copyright(bundledPackages(inputs)));
  put(stage, 'usr/share/doc/sftp-setup/changelog.gz', gzipSync(changelog(date), { level: 9 }));
  // With the caches the postinst makes, about as large as the build's.
  const cacheKiB = cached.reduce((n, f) => n + (existsSync(join(repo, 'dist', `${f}.v8`)) ? Math.ceil(lstatSync(join(repo, 'dist', `${f}.v8`)).size / 1024) : 0), 0);
  const kib = finishTree(stage) + cacheKiB;
  put(stage, 'DEBIAN/control', control(kib));
  put(stage, 'DEBIAN/postinst', postinst, 0o755);
  put(stage, 'DEBIAN/prerm', prerm, 0o755);
  put(stage, 'DEBIAN/triggers', 'interest-noawait /usr/bin/node\n');
  chmodSync(join(stage, 'DEBIAN'), 0o755);

  mkdirSync(outDir, { recursive: true });
  const deb = join(outDir, `${pkg.name}_${pkg.version}_all.deb`);
  // SOURCE_DATE_EPOCH: dpkg-deb clamps the files' times to it, so a rebuild of the same commit is identical.
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SOURCE_DATE_EPOCH: String(Math.floor(date.getTime() / 1000)) },
  });
  console.log(`${relative(process.cwd(), deb) || deb}: ${Math.round(lstatSync(deb).size / 1024)} KiB (installed ${kib} KiB)`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

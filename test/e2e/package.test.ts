/**
 * The Debian package from `npm run package`: what dpkg-deb says is in it, and the extracted tree at work —
 * the bundle prints the same help as the repository's CLI, the man page renders, the completion loads, and
 * the demo passes from the bundle without writing into it. Nothing is installed: the package is built into
 * and extracted under temporary directories that the test removes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { allCommands } from '../../src/docs/man-page.js';
import { run } from '../../src/system/exec.js';
import { CLI } from './helpers.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const LIB = 'usr/lib/sftp-setup';

// The throwaway hosts overlay /tmp, so a write from inside them into a tree under /tmp would never show
// here. /dev/shm is the same directory inside the hosts and out, as /usr is for an installed package.
const extractBase = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

let buildDir = '';
let root = '';
let deb = '';

beforeAll(async () => {
  buildDir = mkdtempSync(join(tmpdir(), 'sftp-setup-pkg-test-'));
  root = mkdtempSync(join(extractBase, 'sftp-setup-deb-'));
  const r = await run(process.execPath, [join(repo, 'scripts/package-deb.mjs'), '--out', buildDir], { cwd: repo, timeoutMs: 300_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  deb = join(buildDir, `sftp-setup_${version}_all.deb`);
  const x = await run('dpkg-deb', ['-x', deb, root]);
  expect(x.exitCode, x.stderr).toBe(0);
}, 300_000);

afterAll(() => {
  for (const d of [buildDir, root]) if (d) rmSync(d, { recursive: true, force: true });
});

/** Every command level: [], ['init'], …, ['keys', 'add'], … */
const COMMANDS = [[], ...allCommands(buildProgram()).map((c) => c.name)];

/** type, mode, size, link target and content hash of everything under `dir`. */
async function listing(dir: string): Promise<string> {
  const r = await run('sh', ['-c', `cd "$1" && find . -printf '%y %m %s %l %T@ %p\\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum`, 'sh', dir]);
  expect(r.exitCode).toBe(0);
  return r.stdout;
}

/** What the demo must leave as it was on this machine (the users, sshd's configuration, mounts, links). */
async function machineState(): Promise<string> {
  const r = await run('sh', ['-c', "sha256sum /etc/passwd /etc/group /etc/shadow; find /etc/ssh -type f -print0 | sort -z | xargs -0 sha256sum; wc -l < /proc/self/mountinfo; ip -o link | sed 's/ qlen [0-9]*//'"]);
  expect(r.exitCode).toBe(0);
  return r.stdout;
}

describe('the Debian package', () => {
  it('has the control fields apt needs', async () => {
    const field = async (name: string) => (await run('dpkg-deb', ['--field', deb, name])).stdout.trim();
    expect(await field('Package')).toBe('sftp-setup');
    expect(await field('Version')).toBe(version);
    expect(await field('Architecture')).toBe('all');
    const depends = (await field('Depends')).split(/,\s*/);
    expect(depends).toEqual(expect.arrayContaining(['nodejs (>= 18.19)', 'openssh-client', 'lftp', 'util-linux', 'mount', 'iproute2']));
    expect(await field('Recommends')).toBe('openssh-server');
    expect(await field('Maintainer')).toMatch(/^.+ <[^ >]+@[^ >]+>$/);
    const bundle = readdirSync(join(root, LIB, 'dist')).reduce((n, f) => n + readFileSync(join(root, LIB, 'dist', f)).length, 0);
    expect(Number(await field('Installed-Size'))).toBeGreaterThan(bundle / 1024);
    const info = await run('dpkg-deb', ['--info', deb]);
    expect(info.stdout).toMatch(/^ Description: \S.{0,79}\n(  \S.{0,79}\n|  \.\n)+$/m);
  });

  it('holds exactly the files of the layout, owned by root, with the right modes', async () => {
    const r = await run('dpkg-deb', ['--contents', deb]);
    expect(r.exitCode).toBe(0);
    const entries = r.stdout.trim().split('\n').map((line) => {
      const [mode, owner, , , , ...rest] = line.split(/\s+/);
      return { mode: mode!, owner: owner!, path: rest.join(' ') };
    });
    expect(entries.every((e) => e.owner === 'root/root')).toBe(true);
    const files = Object.fromEntries(entries.filter((e) => !e.mode.startsWith('d')).map((e) => [e.path, e.mode]));
    // The bundle (scripts/bundle.mjs): dist/cli.cjs and the files it loads, all dist/cli-*.cjs, as the build made them.
    const bundled = (JSON.parse(readFileSync(join(repo, 'dist/bundle.json'), 'utf8')) as { files: string[] }).files;
    expect(bundled).toContain('cli.cjs');
    expect(bundled.every((f) => /^cli(-[a-zA-Z0-9-]+)?\.cjs$/.test(f))).toBe(true);
    for (const f of bundled) {
      expect(files[`./${LIB}/dist/${f}`]).toBe('-rw-r--r--');
      delete files[`./${LIB}/dist/${f}`];
    }
    expect(files).toEqual({
      [`./${LIB}/bin/sftp-setup`]: '-rwxr-xr-x',
      [`./${LIB}/bin/package.json`]: '-rw-r--r--',
      [`./${LIB}/package.json`]: '-rw-r--r--',
      [`./${LIB}/templates/sshd-match.conf.hbs`]: '-rw-r--r--',
      './usr/bin/sftp-setup -> ../lib/sftp-setup/bin/sftp-setup': 'lrwxrwxrwx',
      './usr/share/man/man1/sftp-setup.1.gz': '-rw-r--r--',
      './usr/share/bash-completion/completions/sftp-setup': '-rw-r--r--',
      './usr/share/doc/sftp-setup/copyright': '-rw-r--r--',
      './usr/share/doc/sftp-setup/changelog.gz': '-rw-r--r--',
    });
    expect(entries.filter((e) => e.mode.startsWith('d')).every((e) => e.mode === 'drwxr-xr-x')).toBe(true);
    expect(readFileSync(join(root, LIB, 'bin/sftp-setup'), 'utf8')).toMatch(/^#!\/usr\/bin\/node\n/);
    // The bundle loads Node's built-in modules and its own files only, nothing from a node_modules directory:
    // a chunk it requires is one of its files, or in one (the table in dist/cli.cjs says which).
    const entry = readFileSync(join(root, LIB, 'dist/cli.cjs'), 'utf8');
    const packs = JSON.parse(/^const __sftpPacks = (\{[^;]*\});$/m.exec(entry)![1]!) as Record<string, string>;
    const own = (m: string) => bundled.some((f) => m === `./${f}` || packs[m] === `./${f}`);
    const required = bundled.flatMap((f) => [...readFileSync(join(root, LIB, 'dist', f), 'utf8').matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!));
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((m) => !builtinModules.includes(m.replace(/^node:/, '')) && !own(m))).toEqual([]);
    const copyright = readFileSync(join(root, 'usr/share/doc/sftp-setup/copyright'), 'utf8');
    expect(copyright).toMatch(/^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/\n/);
    expect(copyright).toMatch(/\n\nFiles: \*\nCopyright: .+\nLicense: MIT\n\n/);
    for (const name of ['commander', 'sshpk', 'execa']) expect(copyright).toMatch(new RegExp(`^Comment: built-in npm package ${name} \\d`, 'm'));
    expect(copyright).toMatch(/\n\nLicense: MIT\n Permission is hereby granted/);
    const changelog = await run('sh', ['-c', 'zcat "$1"', 'sh', join(root, 'usr/share/doc/sftp-setup/changelog.gz')]);
    expect(changelog.stdout).toMatch(new RegExp(`^sftp-setup \\(${version.replace(/\./g, '\\.')}\\) unstable; urgency=medium\\n`));
    expect(changelog.stdout).toMatch(/\n -- .+ <.+>  \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\n$/);
  });

  it('runs from the extracted tree with node: --version, and every --help the same as the repository CLI', async () => {
    for (const entry of [join(root, LIB, 'bin/sftp-setup'), join(root, 'usr/bin/sftp-setup')]) {
      const r = await run('node', [entry, '--version']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
    for (const c of COMMANDS) {
      const bundled = await run('node', [join(root, 'usr/bin/sftp-setup'), ...c, '--help'], { env: { COLUMNS: '80' } });
      const repoCli = await run('node', [CLI, ...c, '--help'], { env: { COLUMNS: '80' } });
      expect(bundled.exitCode, c.join(' ')).toBe(0);
      expect(bundled.stdout).toMatch(new RegExp(`^Usage: sftp-setup ${c.join(' ')}`));
      expect(bundled.stdout).toBe(repoCli.stdout);
      expect(bundled.stderr).toBe('');
    }
  });

  it('has sshpk built in: an RSA key is measured, and too short a one refused with exit 2', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
    const mpint = (b64url: string) => {
      const b = Buffer.from(b64url, 'base64url');
      return b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
    };
    const field = (b: Buffer) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(b.length);
      return Buffer.concat([length, b]);
    };
    const blob = Buffer.concat([field(Buffer.from('ssh-rsa')), field(mpint(jwk.e)), field(mpint(jwk.n))]);
    const line = `ssh-rsa ${blob.toString('base64')} test@package`;
    const r = await run('node', [join(root, 'usr/bin/sftp-setup'), 'keys', 'add', '--dry-run', '--user', 'no-such-upload-user', line]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is an RSA key of 2048 bits; at least 3072 bits are required/);
  });

  it('has a man page that renders', async () => {
    const page = join(root, 'usr/share/man/man1/sftp-setup.1.gz');
    if ((await run('sh', ['-c', 'command -v man'])).exitCode === 0) {
      const r = await run('man', ['--warnings', '-l', page], { env: { MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat', LANG: 'C.UTF-8' } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^SFTP-SETUP\(1\) +User Commands +SFTP-SETUP\(1\)$/m);
      for (const heading of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'COMMANDS', 'EXIT STATUS', 'SEE ALSO']) expect(r.stdout).toMatch(new RegExp(`^${heading}$`, 'm'));
      for (const c of COMMANDS.slice(1)) expect(r.stdout).toContain(`sftp-setup ${c.join(' ')} [options]`);
      expect(r.stdout).toContain('sudo sftp-setup keys add --user allsky-upload');
    } else {
      const r = await run('sh', ['-c', 'zcat "$1"', 'sh', page]);
      expect(r.stdout).toMatch(/^\.TH SFTP-SETUP 1 /m);
      for (const c of COMMANDS.slice(1)) expect(r.stdout).toContain(`.SS "sftp\\-setup ${c.join(' ').replace(/-/g, '\\-')}`);
    }
  });

  it('has a bash completion that loads and completes commands, subcommands and choices', async () => {
    const file = join(root, 'usr/share/bash-completion/completions/sftp-setup');
    const complete = async (...words: string[]) => {
      const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sftp_setup; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = await run('bash', ['-c', script, 'bash', file, ...words]);
      expect(r.exitCode, r.stderr).toBe(0);
      return r.stdout.trim().split('\n');
    };
    const registered = await run('bash', ['-c', 'source "$1"; complete -p sftp-setup', 'bash', file]);
    expect(registered.stdout.trim()).toBe('complete -F _sftp_setup sftp-setup');
    expect(await complete('sftp-setup', '')).toEqual(['init', 'uninstall', 'keys', 'ca', 'allsky-config', 'sync', 'doctor', 'watch', 'status', 'demo', 'help']);
    expect(await complete('sftp-setup', 'keys', 'r')).toEqual(['remove', 'revoke', 'rotate']);
    expect(await complete('sftp-setup', 'init', '--profile', '')).toEqual(['allsky', 'dropbox']);
    expect(await complete('sftp-setup', 'init', '--user', 'keys', '--dr')).toEqual(['--dry-run']);
  });

  it('runs the demo from the extracted bundle: it passes, writes nothing into the package tree and leaves the machine as it was', async () => {
    const before = await listing(root);
    const machine = await machineState();
    const r = await run('node', [join(root, 'usr/bin/sftp-setup'), 'demo', '--json'], { env: { FORCE_COLOR: '0' }, timeoutMs: 400_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; uploads: { arrived: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.uploads).toHaveLength(5);
    expect(report.uploads.every((u) => u.arrived)).toBe(true);
    expect(await listing(root)).toBe(before);
    expect(await machineState()).toBe(machine);
  }, 400_000);
});

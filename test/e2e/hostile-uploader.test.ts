/**
 * Issue 9, the hostile uploader: the camera's key has leaked, and whoever holds it (plus anything running
 * with the upload uid on the collector) prepares the upload tree for the admin's next root command.
 *
 * With only the upload key, our own raw SFTP v3 client (raw-sftp.mjs: any request, any name bytes) plants
 * names built to reach a shell, an sftp batch or the admin's terminal, in several directories and depths,
 * and tries every mode trick (OPEN with set-uid permissions, FSETSTAT on a file and on a directory handle,
 * SETSTAT, MKDIR 07777). A helper running with the upload uid plants symlinks where root's tools write,
 * swaps a directory for its own, tries a hard link, and keeps racing a directory against a symlink to /etc.
 * Then every root command runs, and after each: no payload ran (no marker file anywhere), nothing outside
 * the chroot changed (owner and bytes, tracked through the host's overlay upper layers, which record every
 * write the host makes), the victim files are untouched, and the output has no ESC, no CR, no forged line.
 * Each finding names the command that caused it; the modes each trick left are printed (console.log).
 *
 * Run as root after a build: npm run build && npx vitest run --config test/vitest.config.ts test/e2e/hostile-uploader.test.ts
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/system/exec.js';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, DEST, KEYS_DIR, KNOWN_HOSTS, makeKey, pinHostKey, ROOT, sshOptions, startPair, TEST_KEY, USER, type Pair } from './helpers.js';

const RAW = fileURLToPath(new URL('./raw-sftp.mjs', import.meta.url));
/** The camera's upload key, the collector's host key pinned. */
const CAMERA = { key: TEST_KEY, knownHosts: KNOWN_HOSTS };
/** The sftp subsystem over ssh, for raw-sftp.mjs. */
const SSH = ['ssh', ...sshOptions({ ...CAMERA, timeout: 5 }).argv, '-s', DEST, 'sftp'];
const RACER_STOP = '/tmp/hostile-racer-stop';

/**
 * Names built to break whatever embeds them. A name cannot hold "/", so the commands reach their marker
 * paths with `cd` ($HOME is /root) and `cd ..;cd tmp`. Every marker's name starts with PWNED.
 */
const PAYLOADS: Record<string, string> = {
  bang: 'x\n!cd;touch PWNED-bang;#',
  bangTmp: 'b\n!cd;cd ..;cd tmp;touch PWNED-bang-tmp;#',
  newline: 'n\ncd;touch PWNED-newline\n',
  dollar: '$(cd;touch PWNED-dollar)',
  backtick: '`cd;touch PWNED-backtick`',
  single: "q'$(cd;touch PWNED-single)'",
  double: 'd"$(cd;touch PWNED-double)"',
  semi: ';cd;cd ..;cd tmp;touch PWNED-semi;#',
  amp: '&cd;touch PWNED-amp&',
  pipe: '|cd;touch PWNED-pipe',
  cr: 'c\r!cd;touch PWNED-cr;#',
  esc: '\x1b[2J\x1b[31mFAKE-PASS',
  osc: '\x1b]0;owned\x07',
  c1: 'k\u009b2J\u009b31mC1-CSI',
  dash: '-rf',
  forged: 'x\n  pass  everything is fine',
  long: 'L'.repeat(255),
};
/** Where the names go: top-level directories, Allsky's, one the account makes, and three levels deep. */
const PLANT_DIRS = ['allsky', 'images', 'images/keograms', 'images/hostile', 'images/hostile/deep'];
/** The file name for a payload: the payload with .jpg, 255 bytes at most. */
const fileName = (p: string) => (p.length + 4 > 255 ? p.slice(0, 251) : p) + '.jpg';

/** Line starts a payload could forge: whatever follows a newline or CR in a name. */
const FORGED = [...new Set(Object.values(PAYLOADS).flatMap((p) => p.split(/[\n\r]/).slice(1)).filter((s) => s.length > 0))];

/** Root's files the upload uid points its links at (/var/victim-hl: on the tree's filesystem, for a hard link). */
const VICTIMS = ['/root/victim', '/etc/victim', '/etc/passwd', '/var/victim-hl'];

interface Reply {
  i: number;
  op: string;
  type?: string;
  code?: number;
  status?: string;
  message?: string;
  handle?: string;
  attrs?: { mode?: string };
  skipped?: string;
  error?: string;
  note?: string;
}

const log: string[] = [];
const results = new Map<string, RunResult>();
/** Every problem any root command caused, named by command. */
const findings: string[] = [];

/**
 * Describes a path by lstat (links are not followed): type, owner, mode, size, and the content hash of a
 * file or the target of a link; "absent" when it does not exist. The same code runs inside the host (on
 * merged paths) and here (on the real machine, which is the hosts' lower layer).
 */
const DESCRIBE = String.raw`function describe(fs, crypto, abs) {
  let st;
  try { st = fs.lstatSync(abs); } catch { return 'absent'; }
  const t = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : st.isCharacterDevice() ? 'c' : 'o';
  let extra = '';
  try {
    if (t === 'f') extra = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    if (t === 'l') extra = '-> ' + fs.readlinkSync(abs);
  } catch (e) { extra = 'unreadable ' + e.code; }
  return t + ' ' + st.uid + ':' + st.gid + ' ' + (st.mode & 0o7777).toString(8) + ' ' + (t === 'd' ? '' : st.size) + ' ' + extra;
}`;

/**
 * The collector's writes outside the upload tree. Every write a host makes lands in its overlay upper
 * layers (/mnt/<dir>/u inside the host): each entry there (file, directory, link, whiteout) is described by
 * its merged path, so a copied-up but unchanged parent directory compares equal to the real machine's. Also
 * every entry anywhere in the layers, chroot included, whose name starts with PWNED (a payload's marker),
 * and any /PWNED* on the (not overlaid) root.
 */
const WALK = String.raw`
const fs = require('fs'), crypto = require('crypto');
${DESCRIBE}
const prune = JSON.parse(process.argv[1]);
const entries = {}, markers = [];
function walk(abs, rel) {
  let st;
  try { st = fs.lstatSync(abs); } catch { return; }
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (base.startsWith('PWNED')) markers.push(rel);
  const pruned = prune.some((p) => rel === p || rel.startsWith(p + '/') || (p.endsWith('*') && rel.startsWith(p.slice(0, -1))));
  if (!pruned) entries[rel] = describe(fs, crypto, rel);
  if (st.isDirectory()) for (const n of fs.readdirSync(abs)) walk(abs + '/' + n, rel + '/' + n);
}
for (const d of ['etc', 'root', 'var', 'home', 'srv', 'opt', 'tmp', 'run']) walk('/mnt/' + d + '/u', '/' + d);
for (const n of fs.readdirSync('/')) if (n.startsWith('PWNED')) markers.push('/' + n);
process.stdout.write(JSON.stringify({ entries, markers }));
`;
const describeHere = new Function('fs', 'crypto', 'abs', `${DESCRIBE}; return describe(fs, crypto, abs);`) as (f: unknown, c: unknown, abs: string) => string;

/** What sftp-setup and sshd legitimately write outside the tree on every run, and the test's own files. */
const ALWAYS_PRUNED = [
  ROOT, '/var/log', '/var/backups/sftp-setup', '/var/lib/sftp-setup', '/run/sftp-setup*', '/run/sshd.pid',
  '/run/lock/sftp-setup*', '/tmp/hostile-*',
];

interface Outside {
  entries: Record<string, string>;
  markers: string[];
}

async function outside(host: ThrowawayHost, prune: string[] = []): Promise<Outside> {
  const r = await host.run(['node', '-e', WALK, JSON.stringify([...ALWAYS_PRUNED, ...prune])]);
  if (r.exitCode !== 0) throw new Error(`walk failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Outside;
}

/**
 * Paths whose state differs (made, removed, changed), with both sides. A path the host had not written
 * before is compared with the real machine's (the lower layer): unchanged copies-up do not count.
 */
function changed(before: Outside, after: Outside, allowed: (p: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const lower = (p: string) => describeHere(fs, crypto, p);
  for (const p of new Set([...Object.keys(before.entries), ...Object.keys(after.entries)])) {
    const a = before.entries[p] ?? lower(p);
    const b = after.entries[p] ?? lower(p);
    if (a !== b && !allowed(p)) out.push(`${JSON.stringify(p)}: ${a} => ${b}`);
  }
  return out.sort();
}

/** Problems with a command's captured output: ESC, CR, lines a payload forged, other control bytes. */
function outputProblems(r: RunResult): string[] {
  const text = r.stdout + r.stderr;
  const out: string[] = [];
  if (text.includes('\x1b')) out.push(`ESC byte at ${JSON.stringify(text.slice(Math.max(0, text.indexOf('\x1b') - 40), text.indexOf('\x1b') + 20))}`);
  if (text.includes('\r')) out.push(`CR at ${JSON.stringify(text.slice(Math.max(0, text.indexOf('\r') - 40), text.indexOf('\r') + 20))}`);
  const ctl = /[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f\u0080-\u009f]/.exec(text);
  if (ctl) out.push(`control byte 0x${ctl[0].charCodeAt(0).toString(16)} at ${JSON.stringify(text.slice(Math.max(0, ctl.index - 40), ctl.index + 20))}`);
  for (const line of text.split('\n')) {
    for (const f of FORGED) if (line.startsWith(f)) out.push(`forged line ${JSON.stringify(line)}`);
  }
  return out;
}

describe('hostile uploader: a leaked camera key and the upload uid cannot reach root on the collector', () => {
  let p: Pair;
  let baseline: Outside;
  let victims: string;
  let racer: Promise<RunResult> | undefined;
  let dangerousBeforeDoctor: string[] = [];
  let newKeyPub = '';
  let newKeyFp = '';

  const raw = async (reqs: object[]): Promise<Reply[]> => {
    const r = await p.camera.run(['node', RAW, '-', '--', ...SSH], { input: JSON.stringify(reqs), timeoutMs: 120_000 });
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Reply);
    if (r.exitCode !== 0) throw new Error(`raw-sftp failed (exit ${r.exitCode}): ${r.stdout.slice(-500)} ${r.stderr}`);
    return lines.filter((l) => l.i >= 0);
  };
  const onCollector = (script: string) => p.collector.sh(script);
  const asUpload = (script: string) => p.collector.run(['sh', '-c', script], { user: USER, timeoutMs: 60_000 });
  const victimState = () => onCollector(`for f in ${VICTIMS.join(' ')}; do stat -c '%U:%G %a %s %n' "$f"; sha256sum "$f"; done`);
  /** Every entry of the tree whose mode has set-uid, set-gid, sticky, group- or world-write, links aside. */
  const dangerous = async () =>
    (await onCollector(`[ -d ${ROOT} ] || exit 0; find ${ROOT} ! -type l -perm /7022 -printf '%m %P\\0'`)).split('\0').filter(Boolean).sort();

  /**
   * Run a root command on the collector and check what must hold after every one, against the state just
   * before it (so each finding names the command that caused it): no marker file, nothing outside the tree
   * changed, the victim files intact, no ESC/CR/control byte or forged line in the output. Markers are then
   * removed and the victims put back, so that the next command is judged on its own.
   */
  async function rootCommand(label: string, args: string[], opts: { allowed?: (p: string) => boolean } = {}) {
    const before = await outside(p.collector);
    const r = await cli(p.collector, args, { timeoutMs: 120_000 });
    results.set(label, r);
    const head = (r.stdout + r.stderr).split('\n').filter((l) => /FAIL|fail|error|refus/i.test(l)).slice(0, 3);
    log.push(`${label}: exit ${r.exitCode}${head.length ? ` ${JSON.stringify(head)}` : ''}`);
    const after = await outside(p.collector);
    const problems = [
      ...after.markers.map((m) => `marker ${JSON.stringify(m)} exists: a payload ran as root`),
      ...changed(before, after, opts.allowed).map((c) => `outside the chroot: ${c}`),
      ...outputProblems(r).map((o) => `output: ${o}`),
    ];
    const v = await victimState();
    if (v !== victims) problems.push(`victim files changed:\n${victims}=>\n${v}`);
    if (problems.length) findings.push(...problems.map((x) => `${label}: ${x.split('\n')[0]}`));
    if (after.markers.length) {
      await p.collector.run(['rm', '-f', '--', ...after.markers.filter((m) => !m.startsWith('/PWNED'))]);
    }
    if (v !== victims) await restoreVictims();
    return { r, problems };
  }
  const restoreVictims = () =>
    onCollector(
      `rm -rf /root/victim /etc/victim /var/victim-hl; printf 'root secret\\n' > /root/victim; chmod 600 /root/victim;` +
        ` printf 'etc victim\\n' > /etc/victim; chmod 644 /etc/victim; printf 'var victim\\n' > /var/victim-hl; chmod 644 /var/victim-hl;` +
        ` cmp -s /var/tmp/hostile-passwd /etc/passwd || cat /var/tmp/hostile-passwd > /etc/passwd; chown root:root /etc/passwd; chmod 644 /etc/passwd`,
    );

  beforeAll(async () => {
    p = await startPair();
    const pub = await makeKey(p.camera, TEST_KEY);
    newKeyPub = await makeKey(p.camera, '/root/new_key');
    newKeyFp = (await p.camera.sh('ssh-keygen -lf /root/new_key.pub')).split(' ')[1]!;
    const init = await cli(p.collector, ['init', '--yes', '--key', pub]);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    await pinHostKey(p);
    await onCollector('cp -a /etc/passwd /var/tmp/hostile-passwd');
    await restoreVictims();
    victims = await victimState();
    baseline = await outside(p.collector);
    log.push(`tree after init:\n${await onCollector(`cd ${ROOT} && find . -printf '%M %u:%g %p\\n' | sort -k3`)}`);
  }, 120_000);

  afterAll(async () => {
    if (p) await p.collector.sh(`touch ${RACER_STOP}`).catch(() => {});
    const rr = await Promise.race([racer, new Promise<undefined>((r) => setTimeout(r, 10_000))]).catch(() => undefined);
    if (rr) log.push(`racer: ${rr.stdout.trim()} ${rr.stderr.trim()}`);
    console.log(`[hostile-uploader]\n${log.join('\n')}`);
    await p?.destroy();
  });

  it('plants every payload name, as a directory and as a file, byte for byte, in five directories at three depths', async () => {
    const reqs: object[] = [
      { op: 'mkdir', path: '/images/hostile', attrs: { permissions: 0o755 } },
      { op: 'mkdir', path: '/images/hostile/deep', attrs: { permissions: 0o755 } },
    ];
    for (const d of PLANT_DIRS) {
      for (const [k, name] of Object.entries(PAYLOADS)) {
        reqs.push({ op: 'mkdir', path: `/${d}/${name}`, attrs: { permissions: 0o755 }, note: `${d} ${k} dir` });
        reqs.push({ op: 'open', path: `/${d}/${fileName(name)}`, pflags: ['write', 'creat', 'trunc'], attrs: { permissions: 0o644 }, as: 'f', note: `${d} ${k} file` });
        reqs.push({ op: 'write', handle: '@f', data: `payload ${k}\n` });
        reqs.push({ op: 'close', handle: '@f' });
      }
    }
    const replies = await raw(reqs);
    const failed = replies.filter((r) => r.type !== 'handle' && r.code !== 0);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    // What the collector holds, read back as raw bytes: exactly the names sent.
    const listed = (await onCollector(`cd ${ROOT} && find allsky images -mindepth 1 -maxdepth 3 -print0`)).split('\0').filter(Boolean);
    for (const d of PLANT_DIRS) {
      for (const name of Object.values(PAYLOADS)) {
        expect(listed, `${d}/${JSON.stringify(name)}`).toContain(`${d}/${name}`);
        expect(listed, `${d}/${JSON.stringify(fileName(name))}`).toContain(`${d}/${fileName(name)}`);
      }
    }
  }, 120_000);

  it('no SFTP request leaves a file or directory set-uid, set-gid, group- or world-writable (modes recorded)', async () => {
    await onCollector(`mkdir -p ${ROOT}/images/setstat-target && chown ${USER}: ${ROOT}/images/setstat-target`);
    const tricks: { label: string; path: string; reqs: object[] }[] = [
      { label: 'OPEN creat permissions 06777', path: 'images/open6777.jpg', reqs: [
        { op: 'open', path: '/images/open6777.jpg', pflags: ['write', 'creat', 'trunc'], attrs: { permissions: 0o6777 }, as: 'h' },
        { op: 'write', handle: '@h', data: 'x' }, { op: 'close', handle: '@h' }] },
      { label: 'OPEN creat permissions 04755', path: 'images/open4755.jpg', reqs: [
        { op: 'open', path: '/images/open4755.jpg', pflags: ['write', 'creat', 'trunc'], attrs: { permissions: 0o4755 }, as: 'h' },
        { op: 'write', handle: '@h', data: 'x' }, { op: 'close', handle: '@h' }] },
      { label: 'OPEN an existing upload with permissions 06777 (no creat)', path: 'images/reopen.jpg', reqs: [
        { op: 'open', path: '/images/reopen.jpg', pflags: ['write', 'creat', 'trunc'], attrs: { permissions: 0o644 }, as: 'h' }, { op: 'close', handle: '@h' },
        { op: 'open', path: '/images/reopen.jpg', pflags: ['write', 'trunc'], attrs: { permissions: 0o6777 }, as: 'h2' }, { op: 'close', handle: '@h2' }] },
      { label: 'FSETSTAT 07777 on an uploaded file handle', path: 'images/fsetstat.jpg', reqs: [
        { op: 'open', path: '/images/fsetstat.jpg', pflags: ['write', 'creat', 'trunc'], attrs: { permissions: 0o644 }, as: 'h' },
        { op: 'write', handle: '@h', data: 'x' }, { op: 'fsetstat', handle: '@h', attrs: { permissions: 0o7777 } }, { op: 'close', handle: '@h' }] },
      { label: 'OPENDIR /allsky + FSETSTAT 07777 on the directory handle', path: 'allsky', reqs: [
        { op: 'opendir', path: '/allsky', as: 'd' }, { op: 'fsetstat', handle: '@d', attrs: { permissions: 0o7777 } }, { op: 'close', handle: '@d' }] },
      { label: 'OPENDIR /images + FSETSTAT 07777 on the directory handle', path: 'images', reqs: [
        { op: 'opendir', path: '/images', as: 'd' }, { op: 'fsetstat', handle: '@d', attrs: { permissions: 0o7777 } }, { op: 'close', handle: '@d' }] },
      { label: 'OPENDIR /images/keograms + FSETSTAT 02775 (set-gid, group-writable)', path: 'images/keograms', reqs: [
        { op: 'opendir', path: '/images/keograms', as: 'd' }, { op: 'fsetstat', handle: '@d', attrs: { permissions: 0o2775 } }, { op: 'close', handle: '@d' }] },
      { label: 'SETSTAT 07777 by path', path: 'images/setstat-target', reqs: [
        { op: 'setstat', path: '/images/setstat-target', attrs: { permissions: 0o7777 } }] },
      { label: 'lsetstat@openssh.com 07777 by path', path: 'images/lsetstat.jpg', reqs: [
        { op: 'open', path: '/images/lsetstat.jpg', pflags: ['write', 'creat', 'trunc'], attrs: { permissions: 0o644 }, as: 'h' }, { op: 'close', handle: '@h' },
        { op: 'lsetstat', path: '/images/lsetstat.jpg', attrs: { permissions: 0o7777 } }] },
      { label: 'OPEN excl permissions 06777 + FSETSTAT 06777 in a directory the account made', path: 'images/hostile/open6777.jpg', reqs: [
        { op: 'open', path: '/images/hostile/open6777.jpg', pflags: ['write', 'creat', 'excl'], attrs: { permissions: 0o6777 }, as: 'h' },
        { op: 'fsetstat', handle: '@h', attrs: { permissions: 0o6777 } }, { op: 'close', handle: '@h' }] },
      { label: 'OPEN excl permissions 06777, then WRITE on the same handle', path: 'images/hostile/open6777-written.jpg', reqs: [
        { op: 'open', path: '/images/hostile/open6777-written.jpg', pflags: ['write', 'creat', 'excl'], attrs: { permissions: 0o6777 }, as: 'h' },
        { op: 'write', handle: '@h', data: 'x' }, { op: 'close', handle: '@h' }] },
      { label: 'MKDIR with permissions 07777', path: 'images/mkdir7777', reqs: [
        { op: 'mkdir', path: '/images/mkdir7777', attrs: { permissions: 0o7777 } }] },
    ];
    const left: string[] = [];
    const emptySetId: string[] = [];
    for (const t of tricks) {
      const replies = await raw(t.reqs);
      const mode = (await onCollector(`stat -c '%A %a %U:%G %s' ${ROOT}/${t.path} 2>/dev/null || echo absent`)).trim();
      const answers = replies.map((r) => `${r.op}=${r.skipped ? 'skipped' : r.type === 'handle' ? 'handle' : `${r.status}${r.message ? ` (${r.message})` : ''}`}`).join(', ');
      log.push(`mode trick: ${t.label}: ${answers}; /${t.path} is now ${mode}`);
      if (mode === 'absent') continue;
      const [, octalText, , size] = mode.split(' ');
      const octal = Number.parseInt(octalText ?? '0', 8);
      // OPEN carries a mode that no allow-list can filter, so an empty file can be created set-uid/set-gid;
      // the kernel clears both bits at the first write by a non-root writer, so no such file can hold
      // content. That one case is doctor's to fail and --fix's to clear (the tests below); nothing else may
      // be set-uid, set-gid, group- or world-writable. A sticky bit alone is recorded, and --fix clears it.
      if ((octal & 0o022) === 0 && (octal & 0o6000) !== 0 && size === '0') emptySetId.push(t.path);
      else if ((octal & 0o6022) !== 0) left.push(`${t.label} left /${t.path} ${mode}`);
    }
    expect.soft(left).toEqual([]);
    log.push(`empty set-uid/set-gid files an OPEN could make: ${emptySetId.join(', ') || 'none'}`);
    const stillDangerous = (await dangerous()).filter((l) => (Number.parseInt(l, 8) & 0o6022) !== 0);
    expect(stillDangerous.filter((l) => !emptySetId.some((e) => l.endsWith(` ${e}`)))).toEqual([]);
  }, 120_000);

  it('the upload uid plants symlinks where root writes, swaps a directory for a link to /root, and races a directory against /etc', async () => {
    const who = await asUpload('id -un');
    expect(who.stdout.trim(), who.stderr).toBe(USER);
    const plant = await asUpload(
      `set -e; cd ${ROOT}; for d in allsky images; do` +
        ` ln -sfn /root/victim $d/.sftp-setup-probe.read; ln -sfn /etc/victim $d/.sftp-setup-probe; ln -sfn /etc/passwd $d/.sftp-setup-probe.tmp; done;` +
        ` ln -s /etc images/evil; mv images/videos images/videos.real; ln -s /root images/videos;` +
        // modes anything with the upload uid can set on its own files: doctor must see and --fix reset them
        ` printf x > images/helper-suid.jpg; chmod 4777 images/helper-suid.jpg; mkdir images/helper-dir; chmod 2777 images/helper-dir;` +
        ` mkdir -p images/race`,
    );
    expect(plant.exitCode, plant.stderr).toBe(0);
    // A hard link to files it does not own: fs.protected_hardlinks refuses it where set; recorded either way.
    const hard = await asUpload(`for t in /var/victim-hl /etc/passwd; do if ln "$t" ${ROOT}/images/hard-$(basename $t) 2>&1; then echo "hard link to $t made"; else echo "hard link to $t refused"; fi; done`);
    log.push(`protected_hardlinks=${(await onCollector('cat /proc/sys/fs/protected_hardlinks')).trim()} protected_symlinks=${(await onCollector('cat /proc/sys/fs/protected_symlinks')).trim()}: ${hard.stdout.trim().replace(/\n/g, '; ')}`);
    // The racer: re-plants the probe links and keeps swapping images/race for a symlink to /etc, until told
    // to stop (afterAll) or 170 s have passed.
    racer = p.collector.run(['sh', '-c',
      `cd ${ROOT}/images || exit 1; end=$(( $(date +%s) + 170 )); n=0;` +
        ` while [ ! -e ${RACER_STOP} ] && [ "$(date +%s)" -lt "$end" ]; do` +
        ` for d in ../allsky .; do ln -sfn /root/victim $d/.sftp-setup-probe.read 2>/dev/null; ln -sfn /etc/victim $d/.sftp-setup-probe 2>/dev/null; ln -sfn /etc/passwd $d/.sftp-setup-probe.tmp 2>/dev/null; done;` +
        ` mv race race.real 2>/dev/null && ln -s /etc race 2>/dev/null; sleep 0.03; rm -f race 2>/dev/null; mv race.real race 2>/dev/null; sleep 0.03;` +
        ` n=$((n+1)); done; echo "$n rounds"`], { user: USER, timeoutMs: 200_000 });
    const links = await onCollector(`cd ${ROOT} && find . -type l -printf '%p -> %l\\n' | sort`);
    log.push(`planted links:\n${links.trim()}`);
    for (const l of ['./images/.sftp-setup-probe.read -> /root/victim', './images/evil -> /etc', './images/videos -> /root']) expect(links).toContain(l);
    // Nothing outside the chroot changed by the planting itself.
    expect(changed(baseline, await outside(p.collector))).toEqual([]);
    dangerousBeforeDoctor = await dangerous();
    log.push(`dangerous modes in the tree before doctor: ${dangerousBeforeDoctor.join(', ')}`);
    expect(dangerousBeforeDoctor).toEqual(expect.arrayContaining(['4777 images/helper-suid.jpg', '2777 images/helper-dir']));
  }, 60_000);

  it('doctor: no payload runs, nothing outside the tree changes, output escaped', async () => {
    const { problems } = await rootCommand('doctor', ['doctor']);
    expect(problems).toEqual([]);
  }, 120_000);

  it('doctor --json: the same, and its output is valid JSON', async () => {
    const { r, problems } = await rootCommand('doctor --json', ['doctor', '--json']);
    expect.soft(() => JSON.parse(r.stdout), r.stdout.slice(0, 300)).not.toThrow();
    expect(problems).toEqual([]);
  }, 120_000);

  it('doctor reports every set-uid, set-gid, group- or world-writable entry of the tree as fail/warn, naming the path, not as pass', () => {
    const r = results.get('doctor --json');
    expect(r).toBeDefined();
    const report = JSON.parse(r!.stdout) as { checks: { id: string; status: string; title: string; evidence: string[] }[] };
    // Any failing or warning check will do (the tree's modes belong with the chroot.* checks), as long as
    // its evidence names the path: a `pass` for such a tree is the bug.
    const flagged = report.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
    const evidence = flagged.flatMap((c) => c.evidence).join('\n');
    log.push(`doctor's checks: ${report.checks.map((c) => `${c.id}=${c.status}`).join(' ')}`);
    expect(dangerousBeforeDoctor.length).toBeGreaterThan(0);
    const missing = dangerousBeforeDoctor
      .filter((l) => (Number.parseInt(l, 8) & 0o6022) !== 0)
      .map((l) => l.slice(l.indexOf(' ') + 1))
      .filter((rel) => !new RegExp(`(^|[\\s/'"(])${rel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9._/-])`, 'm').test(evidence));
    expect(missing, `not named by a failing or warning check:\n${evidence}`).toEqual([]);
  });

  it('doctor --no-probe: no payload runs, nothing outside the tree changes, output escaped', async () => {
    const { problems } = await rootCommand('doctor --no-probe', ['doctor', '--no-probe']);
    expect(problems).toEqual([]);
  }, 120_000);

  it('status and status --json: no payload runs, nothing outside the tree changes, output escaped, JSON valid', async () => {
    // status walks every tree for its size and newest file: the payload names, links and races are all there.
    const human = await rootCommand('status', ['status']);
    const json = await rootCommand('status --json', ['status', '--json']);
    expect([human.r.exitCode, json.r.exitCode], human.r.stderr + json.r.stderr).toEqual([0, 0]);
    expect(human.r.stdout.split('\n').filter((l) => l.startsWith(`${USER} `))).toHaveLength(1);
    expect(() => JSON.parse(json.r.stdout)).not.toThrow();
    expect([...human.problems, ...json.problems]).toEqual([]);
  }, 120_000);

  it('doctor --fix --dry-run: changes nothing in the tree either', async () => {
    const tree = await onCollector(`cd ${ROOT} && find . ! -path './images/race*' ! -name '.sftp-setup-probe*' -printf '%y %U:%G %m %p\\0' | sort -z | sha256sum`);
    const { problems } = await rootCommand('doctor --fix --dry-run', ['doctor', '--fix', '--dry-run']);
    expect.soft(problems).toEqual([]);
    expect(await onCollector(`cd ${ROOT} && find . ! -path './images/race*' ! -name '.sftp-setup-probe*' -printf '%y %U:%G %m %p\\0' | sort -z | sha256sum`)).toBe(tree);
  }, 120_000);

  it('doctor --fix: no payload runs, nothing outside changes, and no set-uid/set-gid/sticky/group-/world-writable entry remains', async () => {
    const { problems } = await rootCommand('doctor --fix', ['doctor', '--fix']);
    const left = await dangerous();
    log.push(`dangerous modes after doctor --fix: ${left.join(', ') || 'none'}`);
    expect.soft(problems).toEqual([]);
    expect(left).toEqual([]);
  }, 120_000);

  it('init --yes (re-run): no payload runs, nothing outside the tree changes, output escaped', async () => {
    // sftp-setup's own state under /etc/ssh/sftp-setup (keys, markers of the accounts it manages) may be
    // rewritten by a re-run; nothing else outside the tree may change.
    const { problems } = await rootCommand('init --yes (re-run)', ['init', '--yes'], { allowed: (path) => path.startsWith('/etc/ssh/sftp-setup/') });
    expect(problems).toEqual([]);
  }, 120_000);

  const keysFiles = (path: string) => path.startsWith(`${KEYS_DIR}/`);

  it('keys list / add / remove: no payload runs, nothing else outside the tree changes, output escaped', async () => {
    const list = await rootCommand('keys list', ['keys', 'list', '--user', USER]);
    const add = await rootCommand('keys add', ['keys', 'add', '--user', USER, newKeyPub], { allowed: keysFiles });
    const listed = await rootCommand('keys list --json', ['keys', 'list', '--user', USER, '--json'], { allowed: keysFiles });
    const remove = await rootCommand('keys remove', ['keys', 'remove', '--user', USER, newKeyFp], { allowed: keysFiles });
    expect([list.r.exitCode, add.r.exitCode, listed.r.exitCode, remove.r.exitCode], [list, add, listed, remove].map((x) => x.r.stdout + x.r.stderr).join('\n')).toEqual([0, 0, 0, 0]);
    expect(() => JSON.parse(listed.r.stdout)).not.toThrow();
    expect(listed.r.stdout).toContain(newKeyFp);
    expect([...list.problems, ...add.problems, ...listed.problems, ...remove.problems]).toEqual([]);
  }, 120_000);

  it("Allsky's real upload sequence (lftp put to a temporary name, rm -f, mv) still works with the upload key", async () => {
    await p.camera.sh('head -c 3000 /dev/urandom > /tmp/image.jpg');
    const connect = `ssh -a -x ${sshOptions(CAMERA).sh}`;
    const script = [
      `set sftp:connect-program "${connect}"`,
      'set dns:fatal-timeout 10; set net:max-retries 2; set net:timeout 10',
      `open --user ${USER} --env-password sftp://collector`,
      'cd images/', 'put /tmp/image.jpg -o image-123', 'rm -f image.jpg', 'mv image-123 image.jpg',
      'put /tmp/image.jpg -o image-124', 'rm -f image.jpg', 'mv image-124 image.jpg',
    ].join('\n');
    const r = await p.camera.run(['sh', '-c', `printf '%s\\n' "$1" > /tmp/up.lftp && LFTP_PASSWORD=n/a lftp -f /tmp/up.lftp`, 'sh', script], { timeoutMs: 60_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const local = (await p.camera.sh('sha256sum < /tmp/image.jpg')).split(' ')[0];
    expect((await onCollector(`sha256sum < ${ROOT}/images/image.jpg`)).split(' ')[0]).toBe(local);
    expect(await onCollector(`stat -c '%U %a' ${ROOT}/images/image.jpg; ls ${ROOT}/images | grep -c '^image-12' || true`)).toBe(`${USER} 644\n0\n`);
  }, 60_000);

  it('uninstall --dry-run: no payload runs, nothing changes, output escaped', async () => {
    const { r, problems } = await rootCommand('uninstall --dry-run', ['uninstall', '--user', USER, '--dry-run'], { allowed: keysFiles });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(problems).toEqual([]);
  }, 120_000);

  it('uninstall --yes --purge: follows no link out of the tree; outside it only the account and its sshd config go', async () => {
    const before = await outside(p.collector);
    const passwdBefore = await onCollector('cat /etc/passwd');
    // What uninstall legitimately changes: the account databases, sshd's configuration, sftp-setup's own files.
    const legit = (path: string) =>
      /^\/etc\/(passwd|group|shadow|gshadow|subuid|subgid)-?$/.test(path) ||
      path === '/etc/ssh' || path === '/etc/ssh/sshd_config' || path.startsWith('/etc/ssh/sshd_config.d') || path.startsWith('/etc/ssh/sftp-setup') ||
      path === '/var/lib' || path === '/var';
    const r = await cli(p.collector, ['uninstall', '--user', USER, '--yes', '--purge'], { timeoutMs: 120_000 });
    results.set('uninstall --purge', r);
    log.push(`uninstall --yes --purge: exit ${r.exitCode}`);
    const after = await outside(p.collector);
    const problems = [
      ...after.markers.map((m) => `marker ${JSON.stringify(m)} exists`),
      ...changed(before, after, legit).map((c) => `outside the chroot: ${c}`),
      ...outputProblems(r).map((o) => `output: ${o}`),
    ];
    const v = await victimState();
    if (v !== victims) problems.push(`victim files changed:\n${victims}=>\n${v}`);
    // /etc/passwd lost only the upload account's line.
    const drop = (t: string) => t.split('\n').filter((l) => !l.startsWith(`${USER}:`)).join('\n');
    if (drop(await onCollector('cat /etc/passwd')) !== drop(passwdBefore)) problems.push('/etc/passwd changed beyond the upload account');
    // The directory planted as images/videos -> /root: /root still there with its files.
    if ((await onCollector('[ -d /root ] && [ -f /root/victim ] && echo ok || echo gone')).trim() !== 'ok') problems.push('/root or /root/victim is gone');
    findings.push(...problems.map((x) => `uninstall --yes --purge: ${x.split('\n')[0]}`));
    expect(problems).toEqual([]);
  }, 120_000);

  it('over the whole run: no command ran a payload, changed anything outside the tree or printed a raw control byte', async () => {
    const o = await outside(p.collector);
    const more = await onCollector(`ls -d /PWNED* /tmp/PWNED* /root/PWNED* /etc/PWNED* /var/tmp/PWNED* 2>/dev/null || true`);
    const bad = [...results].flatMap(([label, r]) => outputProblems(r).map((x) => `${label}: output: ${x}`));
    log.push(`findings by command:\n${findings.map((f) => JSON.stringify(f)).join('\n') || 'none'}`);
    expect([...o.markers, ...more.split('\n').filter(Boolean)]).toEqual([]);
    expect([...new Set([...findings, ...bad])]).toEqual([]);
  }, 60_000);
});

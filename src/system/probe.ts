/**
 * Live probe of an upload account from the collector itself: a real SSH/SFTP session with a temporary key,
 * proving what the account can and cannot do. Used by `init` (self-test) and `doctor`.
 *
 * The temporary key lives in a root-owned file under /run (listed second in the Match block's
 * AuthorizedKeysFile), restricted to loopback: the real keys file is never touched, and a crash leaves at
 * most a localhost-only key in a tmpfs that the next run or a reboot removes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isPlainDir } from '../collector/dirs.js';
import { generateEd25519 } from '../keys/generate.js';
import { shownPath } from '../text/printable.js';
import { getAccount } from './accounts.js';
import { run, type RunResult } from './exec.js';
import { ensureDir, writeFileAtomic } from './files.js';
import { at, createFileAt, dirTimeNs, lstatAt, readDirAt, restoreDirTimes, unlinkAt, withDir } from './safe-fs.js';

export const PROBE_KEYS_DIR = '/run/sftp-setup/probe-keys';
const PROBE_NAME = '.sftp-setup-probe';
/** Every name a probe run may leave in an upload directory: ours, by prefix, with this run's tag. */
const PROBE_LEFTOVER = /^\.sftp-setup-probe(-[0-9a-f]{1,32})?(\.tmp|\.read)?$/;

export interface ProbeTarget {
  user: string;
  /** absolute chroot root on this host */
  chroot: string;
  /** upload directories, relative to the chroot */
  dirs: string[];
  profile: 'allsky' | 'dropbox';
  port: number;
  /** address sshd listens on that the probe connects to */
  addr: string;
  /** public host keys of this sshd (`type base64` lines) */
  hostKeys: string[];
}

export interface ProbeResult {
  id: string;
  title: string;
  ok: boolean;
  detail: string;
}

/**
 * Remove what a crashed probe may have left: the temporary key and probe files in the upload tree. In the
 * tree only names of ours are removed, through the directory's descriptor (unlink never follows a link;
 * a directory swapped for a link is not entered).
 */
export async function cleanStaleProbe(user: string, chroot: string, dirs: string[]): Promise<void> {
  // A run killed mid-probe or mid-validation leaves its temporary directory (probe private key, candidate
  // config) in /run; callers hold the lock, so no other run of ours is using one.
  for (const name of await fs.readdir('/run').catch(() => [] as string[])) {
    if (/^sftp-setup-(probe|candidate)-/.test(name)) await fs.rm(join('/run', name), { recursive: true, force: true }).catch(() => {});
  }
  await cleanProbeFiles(user, chroot, dirs);
}

/** The probe key of `user` and names of ours in the chroot's root (a refused put) and its upload directories. */
async function cleanProbeFiles(user: string, chroot: string, dirs: string[]): Promise<void> {
  await fs.rm(join(PROBE_KEYS_DIR, user), { force: true });
  for (const d of ['', ...dirs.filter(isPlainDir)]) {
    await withDir(chroot, d, async (dir) => {
      for (const e of await readDirAt(dir)) if (PROBE_LEFTOVER.test(e.name)) await unlinkAt(dir, e.name).catch(() => {});
    }).catch(() => {});
  }
}

/**
 * One SSH connection (a ControlMaster) carries every check: one SFTP session runs them all, refused ones
 * first with sftp's `-` prefix (an error does not end the batch; the outcome is read from what the session
 * printed or left behind), then Allsky's upload sequence in each directory; a shell command and a port
 * forward go over the same connection meanwhile.
 */
export async function probeAccount(target: ProbeTarget): Promise<ProbeResult[]> {
  // Defence in depth: callers pass only plain names; anything else never reaches a batch or a path.
  const t: ProbeTarget = { ...target, dirs: target.dirs.filter(isPlainDir) };
  // This run's own names: nothing planted beforehand can sit at them.
  const tag = `${PROBE_NAME}-${randomBytes(6).toString('hex')}`;
  const tmp = await fs.mkdtemp('/run/sftp-setup-probe-');
  const key = join(tmp, 'key');
  const ctl = join(tmp, 'cm');
  const keysFile = join(PROBE_KEYS_DIR, t.user);
  const stamps = await saveTimes([{ root: t.chroot, rel: '' }, ...t.dirs.map((d) => ({ root: t.chroot, rel: d })), { root: PROBE_KEYS_DIR, rel: '' }]);
  const results: ProbeResult[] = [];
  try {
    // Node's crypto makes the key in about a millisecond; ssh-keygen would be a process.
    const probeKey = generateEd25519('sftp-setup-probe');
    const from = [...new Set(['127.0.0.1', '::1', t.addr])].join(',');
    await Promise.all([
      fs.writeFile(key, probeKey.privateKey, { mode: 0o600 }),
      fs.writeFile(join(tmp, 'known_hosts'), t.hostKeys.map((k) => `sftp-setup-probe ${k}\n`).join('')),
      fs.writeFile(join(tmp, 'payload'), PAYLOAD),
      ensureDir('/run/sftp-setup', 0o755, 0, 0)
        .then(() => ensureDir(PROBE_KEYS_DIR, 0o755, 0, 0))
        .then(() => writeFileAtomic(keysFile, `restrict,from="${from}" ${probeKey.publicLine}\n`, { mode: 0o644, uid: 0, gid: 0 })),
    ]);

    // Shared by ssh (-p PORT) and sftp (-P PORT).
    const common = [
      '-F', '/dev/null', '-i', key,
      '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'HostKeyAlias=sftp-setup-probe',
      '-o', `UserKnownHostsFile=${join(tmp, 'known_hosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=5', '-o', `ControlPath=${ctl}`,
      // Prefer the cheapest key exchange the server offers: the probe tests the account, not the crypto,
      // and the post-quantum default costs a small Pi a noticeable part of the self-test.
      '-o', 'KexAlgorithms=^curve25519-sha256,curve25519-sha256@libssh.org',
    ];
    const sshOpts = [...common, '-p', String(t.port)];
    const dest = `${t.user}@${t.addr.includes(':') ? `[${t.addr}]` : t.addr}`;
    const master = await run('ssh', [...sshOpts, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=30', '-N', '-f', dest], { timeoutMs: 15000 });
    results.push({
      id: 'login',
      title: `key login as ${t.user} on port ${t.port}`,
      ok: master.exitCode === 0,
      detail: master.exitCode === 0 ? 'accepted' : explainLoginFailure(master),
    });
    if (master.exitCode !== 0) return results;

    const sftp = (batch: string) =>
      run('sftp', [...common, '-P', String(t.port), '-o', 'ControlMaster=no', '-b', '-', dest], {
        input: batch + '\n', cwd: tmp, timeoutMs: 15000,
      });
    const ssh = (args: string[]) => run('ssh', [...sshOpts, '-o', 'ControlMaster=no', ...args], { timeoutMs: 15000 });

    // A file as an upload leaves it (the account's, mode 0644), made directly so that the read-back and
    // remove checks need not wait for the uploads. Without it (a full disk) those checks cannot say
    // anything: they fail, and the directory checks name the cause.
    const readName = t.dirs[0] ? `${tag}.read` : undefined;
    let readFile: string | undefined;
    if (readName) {
      // Made by root inside the directory it holds open, under this run's own name, O_EXCL|O_NOFOLLOW:
      // a link or file planted at that name makes it fail, never write through it.
      const acc = await getAccount(t.user);
      const made = await withDir(t.chroot, t.dirs[0]!, (dir) =>
        createFileAt(dir, readName, PAYLOAD, { mode: 0o644, ...(acc ? { uid: acc.uid, gid: acc.gid } : {}) }),
      ).then(() => true, () => false);
      if (made) readFile = `/${t.dirs[0]}/${readName}`;
    }

    // The batch. `-` commands never end it; each listing is followed by a no-op holding this run's tag (a
    // local directory that cannot exist), so that no name can forge where the listing ends, and `done`
    // shows that every check before it ran with the session still up.
    const mark = (n: string) => `-lcd ${tmp}/${tag}.${n}`;
    const done = mark('done');
    const batch = ['-pwd'];
    if (t.profile === 'allsky') batch.push('-ls -1a /', mark('root'));
    batch.push('-ls -1a /etc', mark('etc'), `-put payload /${tag}`);
    if (readFile) batch.push(`-get ${readFile} readback`);
    if (readFile && t.profile === 'dropbox') batch.push(`-rm ${readFile}`);
    batch.push(done);
    for (const d of t.dirs) batch.push(...dirBatch(d, tag, t.profile));

    const [r, noShell, noForward] = await Promise.all([
      // The no-ops' own complaints are no evidence: left out of what is shown.
      sftp(batch.join('\n')).then((x) => ({ ...x, stderr: x.stderr.split('\n').filter((l) => !l.includes(`${tmp}/${tag}.`)).join('\n') })),
      ssh([dest, 'id']),
      ssh(['-W', `127.0.0.1:${t.port}`, dest]),
    ]);
    const checked = r.stdout.split('\n').includes(`sftp> ${done}`);
    const verdict = (id: string, title: string, allowed: boolean, what: string): ProbeResult =>
      checked
        ? { id, title, ok: !allowed, detail: allowed ? `${what} was allowed` : 'refused' }
        : { id, title, ok: false, detail: `the session ended before this was checked: ${oneLine(r)}` };

    const pwdOk = /Remote working directory: \/\s*$/m.test(r.stdout);
    results.push({ id: 'chroot', title: 'session starts at the chroot /', ok: pwdOk, detail: pwdOk ? 'pwd is /' : oneLine(r) });
    if (t.profile === 'allsky') {
      const seen = listing(r.stdout, mark('root'), '-ls -1a /');
      const want = [...new Set(t.dirs.map((d) => d.split('/')[0]!))].sort();
      const ok = seen !== null && JSON.stringify(seen) === JSON.stringify(want);
      const shown = seen === null ? '(the listing could not be read)' : seen.map(shownPath).join(' ') || '(nothing)';
      results.push({ id: 'nothing-outside', title: 'only the upload tree is visible', ok, detail: `/ holds: ${shown}` });
    }
    if (r.exitCode === 0) {
      results.push({ id: 'dirs', title: `${t.dirs.length} upload directories: ${dirTitle(t.profile)}`, ok: true, detail: 'all accepted' });
    } else {
      // Something failed: find which directory, one session each (over the same connection).
      for (const d of t.dirs) {
        const one = await sftp(dirBatch(d, tag, t.profile).join('\n'));
        const detail = one.exitCode === 0 ? 'all accepted' : oneLine(one) + (await diskFullHint(t.chroot, d));
        results.push({ id: `dir:${d}`, title: `/${d}: ${dirTitle(t.profile)}`, ok: one.exitCode === 0, detail });
      }
    }
    // /etc: anything listed between the command and the tagged no-op after it (a refusal prints nothing there).
    const etc = outputOf(r.stdout, '-ls -1a /etc', mark('etc'));
    results.push(verdict('no-etc', "the host's /etc is not reachable", etc === null || etc.length > 0, 'listing /etc'));
    const rootWrite = await withDir(t.chroot, '', (dir) => lstatAt(dir, tag)).catch(() => null);
    results.push(verdict('root-readonly', 'the chroot root is not writable', rootWrite !== null, 'writing to /'));
    const shellOk = noShell.exitCode !== 0 && !/uid=/.test(noShell.stdout);
    results.push({ id: 'no-shell', title: 'shell commands are refused', ok: shellOk, detail: shellOk ? ((noShell.stdout + noShell.stderr).trim().split('\n')[0] || 'refused') : noShell.stdout.trim() });
    results.push({ id: 'no-forward', title: 'port forwarding is refused', ok: noForward.exitCode !== 0, detail: noForward.exitCode !== 0 ? 'refused' : 'forward opened' });
    if (readName) {
      const noRead = 'uploaded files cannot be read back';
      // A refused read still leaves sftp's local file, empty: only the whole content proves a read.
      const back = readFile ? await fs.readFile(join(tmp, 'readback'), 'utf8').catch(() => '') : '';
      results.push(readFile ? verdict('no-read', noRead, back === PAYLOAD, 'reading a file') : cannotCheck('no-read', noRead, t.dirs[0]!));
      if (t.profile === 'dropbox') {
        const noRemove = 'uploaded files cannot be removed (drop box)';
        const kept = readFile ? await withDir(t.chroot, t.dirs[0]!, (dir) => lstatAt(dir, readName)).catch(() => null) : null;
        results.push(readFile ? verdict('no-remove', noRemove, kept === null, 'removing a file') : cannotCheck('no-remove', noRemove, t.dirs[0]!));
      }
    }
    return results;
  } finally {
    // Closing the shared connection (its socket is in tmp) and putting the tree back are independent: do
    // both at once, and remove tmp only after the connection is closed.
    await Promise.all([
      run('ssh', ['-F', '/dev/null', '-o', `ControlPath=${ctl}`, '-O', 'exit', 'sftp-setup-probe'], { timeoutMs: 5000 }).catch(() => {}),
      (async () => {
        await cleanProbeFiles(t.user, t.chroot, t.dirs).catch(() => {});
        await restoreDirTimes(stamps).catch(() => {});
      })(),
    ]);
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}

const PAYLOAD = 'sftp-setup probe\n';

function cannotCheck(id: string, title: string, dir: string): ProbeResult {
  return { id, title, ok: false, detail: `no test file could be made in /${dir} (is its disk full?)` };
}

/**
 * Allsky's upload sequence: put to a temporary name (twice: overwrite), remove the target, rename. `d` is a
 * plain name (isPlainDir) and `tag` is ours: nothing here came from the tree, and nothing globs.
 */
function dirBatch(d: string, tag: string, profile: 'allsky' | 'dropbox'): string[] {
  if (!isPlainDir(d) || !PROBE_LEFTOVER.test(tag)) throw new Error(`refusing to put ${JSON.stringify(d)} into an sftp batch`);
  const tmp = `/${d}/${tag}.tmp`;
  const final = `/${d}/${tag}`;
  if (profile === 'dropbox') return [`put payload ${tmp}`];
  return [`put payload ${tmp}`, `put payload ${tmp}`, `-rm ${final}`, `rename ${tmp} ${final}`, `rm ${final}`];
}

function dirTitle(profile: 'allsky' | 'dropbox'): string {
  return profile === 'allsky' ? 'put, overwrite, rename, remove' : 'put accepted';
}

/**
 * The lines sftp printed for batch command `cmd`: between its echo and the echo of `next` (a command
 * holding this run's random tag, so that no name can forge it); null when those are not where they must be.
 */
export function outputOf(stdout: string, cmd: string, next: string): string[] | null {
  const lines = stdout.split('\n');
  const start = lines.indexOf(`sftp> ${cmd}`);
  if (start < 0) return null;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i]!.startsWith('sftp> ')) {
      end = i;
      break;
    }
  }
  if (lines[end] !== `sftp> ${next}`) return null;
  return lines.slice(start + 1, end);
}

/**
 * The names `ls -1a /` printed (the batch command `cmd`), up to the echo of `next`; null when that echo
 * is not where it must be. Only root can name things in the chroot's root, but a name with a line break
 * must not fool the check.
 */
export function listing(stdout: string, next: string, cmd = 'ls -1a /'): string[] | null {
  const lines = outputOf(stdout, cmd, next);
  if (lines === null) return null;
  const out: string[] = [];
  for (const l of lines) {
    const name = l.replace(/^\/+/, '');
    if (name && name !== '.' && name !== '..') out.push(name);
  }
  return out.sort();
}

/** SFTP reports a full disk only as "Failure": look at the directory's filesystem ourselves. */
async function diskFullHint(chroot: string, d: string): Promise<string> {
  const shown = join(chroot, d);
  const s = await withDir(chroot, d, (dir) => fs.statfs(at(dir))).catch(() => undefined);
  if (!s) return '';
  if (s.files > 0 && s.ffree === 0) return ` — the filesystem holding ${shown} has no free inodes: free some, then run again`;
  const free = s.bavail * s.bsize;
  return free < 64 * 1024 ? ` — the disk holding ${shown} is full (${free} bytes free): free some space, then run again` : '';
}

function oneLine(r: RunResult): string {
  const text = (r.stderr || r.stdout).trim().split('\n').filter((l) => !l.startsWith('sftp>'));
  return text.slice(-2).join(' / ') || `exit ${r.exitCode}`;
}

export function explainLoginFailure(r: RunResult): string {
  const e = r.stderr;
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(e)) return 'host key does not match';
  if (/Permission denied \(publickey/.test(e)) return 'key refused (Permission denied (publickey))';
  if (/Connection refused/.test(e)) return 'connection refused: sshd is not listening there';
  if (/Connection closed|closed by remote host/.test(e)) return 'connection closed after login: usually bad ownership or modes of the chroot';
  if (/timed out/i.test(e)) return 'connection timed out';
  return e.trim().split('\n').slice(-1)[0] ?? `exit ${r.exitCode}`;
}

/** Modification times of directories, read through descriptors (no link followed), to put back afterwards. */
async function saveTimes(dirs: Array<{ root: string; rel: string }>): Promise<Array<{ root: string; rel: string; mtimeNs: bigint }>> {
  const out = [];
  for (const d of dirs) {
    const mtimeNs = await dirTimeNs(d.root, d.rel).catch(() => null);
    if (mtimeNs !== null) out.push({ ...d, mtimeNs });
  }
  return out;
}

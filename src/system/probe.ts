/**
 * Live probe of an upload account from the collector itself: a real SSH/SFTP session with a temporary key,
 * proving what the account can and cannot do. Used by `init` (self-test) and `doctor`.
 *
 * The temporary key lives in a root-owned file under /run (listed second in the Match block's
 * AuthorizedKeysFile), restricted to loopback: the real keys file is never touched, and a crash leaves at
 * most a localhost-only key in a tmpfs that the next run or a reboot removes.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isPlainDir } from '../collector/dirs.js';
import { dirBatch, dirTitle, explainLoginFailure, listing, oneLine, outputOf, PROBE_LEFTOVER, PROBE_NAME } from '../collector/probe-batch.js';
import { shownPath } from '../text/printable.js';
import { getAccount } from './accounts.js';
import { run, type RunResult } from './exec.js';
import { ensureDir, writeFileAtomic } from './files.js';
import { makeRunScratch, removeStaleRunScratch } from './run-scratch.js';
import { at, createFileAt, dirTimeNs, lstatAt, readDirAt, restoreDirTimes, unlinkAt, withDir } from './safe-fs.js';
import { terminateMaster } from './ssh-mux.js';
import type { LogSocket } from '../collector/devlog.js';
import { findUploadLogLine } from './upload-log.js';
import { RUN_DIR } from '../collector/layout.js';
import { randomHex } from './random.js';

export const PROBE_KEYS_DIR = `${RUN_DIR}/probe-keys`;

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
  /** internal-sftp logs uploads (-l): the probe looks for its own close line where `socket` leads (null: nowhere) */
  logging?: { socket: LogSocket | null };
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
  await cleanStaleProbeKey(user);
  await cleanStaleProbeFiles(chroot, dirs);
}

/** The part of cleanStaleProbe outside the upload tree: the account's probe key and dead runs' scratch. */
export async function cleanStaleProbeKey(user: string): Promise<void> {
  await fs.rm(join(PROBE_KEYS_DIR, user), { force: true });
  // A run killed mid-probe or mid-validation leaves its scratch directory (probe private key, candidate config).
  await removeStaleRunScratch(['probe', 'candidate']);
}

/**
 * The part in the upload tree: probe files a crashed run left, directory by directory at once. A probe
 * started meanwhile (startProbe) has made none yet.
 */
export async function cleanStaleProbeFiles(chroot: string, dirs: string[]): Promise<void> {
  await Promise.all(dirs.filter(isPlainDir).map((d) =>
    withDir(chroot, d, async (dir) => {
      for (const e of await readDirAt(dir)) if (PROBE_LEFTOVER.test(e.name)) await unlinkAt(dir, e.name).catch(() => {});
    }).catch(() => {})));
}

/** A temporary probe key: its private key file (root's, 0600) and its public line. */
export interface ProbeKey {
  path: string;
  publicLine: string;
}

/**
 * One temporary probe key for many probes (doctor over a fleet): made in a root-only directory under /run
 * (named like a probe's own, so that a crash leaves what init's cleanStaleProbe sweeps). `dispose` removes it.
 */
export async function probeKey(): Promise<ProbeKey & { dispose(): Promise<void> }> {
  const dir = await makeRunScratch('probe');
  const dispose = () => fs.rm(dir, { recursive: true, force: true });
  const key = await writeProbeKey(dir).catch(async (err) => {
    await dispose();
    throw err;
  });
  return { ...key, dispose };
}

/**
 * Load what makes a probe key (Node's crypto: a few ms) now, while the caller waits for a program anyway
 * (init: sshd -T), so that it is not on the way to the self-test's login.
 */
export function preloadProbeKey(): void {
  import('../keys/generate.js').catch(() => {});
}

/** A new probe key in `dir` (a run's scratch directory). Node's crypto makes it in about a millisecond. */
async function writeProbeKey(dir: string): Promise<ProbeKey> {
  // Loaded here, not with this module: a run that makes no probe key (init --no-verify) loads no crypto.
  const { generateEd25519 } = await import('../keys/generate.js');
  const made = generateEd25519('sftp-setup-probe');
  const path = join(dir, 'key');
  await fs.writeFile(path, made.privateKey, { mode: 0o600 });
  return { path, publicLine: made.publicLine };
}

/** Remove what this probe run (`tag`) may have left in the upload directories, through their descriptors. */
async function removeOwnProbeFiles(chroot: string, dirs: string[], tag: string): Promise<void> {
  const own = [tag, `${tag}.tmp`, `${tag}.read`];
  // Directory by directory at once: each is a few system calls, and a self-test waits for all of them.
  await Promise.all(dirs.filter((x) => x === '' || isPlainDir(x)).map((d) =>
    withDir(chroot, d, (dir) => Promise.all(own.map((name) => unlinkAt(dir, name).catch(() => {})))).catch(() => {})));
}

export interface ProbeOptions {
  refusals?: boolean;
  times?: DirStamp[];
  key?: ProbeKey;
}

/**
 * One SSH connection (a ControlMaster) carries every check: one SFTP session runs them all, refused ones
 * first with sftp's `-` prefix (an error does not end the batch; the outcome is read from what the session
 * printed or left behind), then Allsky's upload sequence in each directory; a shell command and a port
 * forward go over the same connection meanwhile.
 *
 * `refusals: false` leaves out what the account must be refused (a shell, forwarding, /etc, writes to /,
 * reads): those follow from sshd's settings alone, and doctor tests them once for each set of settings a
 * fleet's accounts share. The login, the chroot and every upload directory are still tested, by one sftp
 * process on a connection of its own.
 * `times`: the probe adds the directory times it saved to this list instead of putting them back itself;
 * the caller puts back all of them, and PROBE_KEYS_DIR's (which probes side by side all write to), once
 * every probe is done.
 * `key`: a temporary key the caller made (probeKey) for all its probes, instead of one key per probe.
 */
export async function probeAccount(target: ProbeTarget, opts: ProbeOptions = {}): Promise<ProbeResult[]> {
  return startProbe(target, opts).finish(target.dirs);
}

/** A probe whose connection opens ahead of its checks (doctor opens it while it reads the account's files). */
export interface StartedProbe {
  /** The checks, on these upload directories (the target's own are not used): what probeAccount returns. */
  finish(dirs: string[]): Promise<ProbeResult[]>;
  /** The checks are not to run after all: the connection is closed and the key removed. */
  cancel(): Promise<void>;
  /** Settles once the connection's ssh has started (or starting it failed): what a caller may wait for. */
  connecting: Promise<void>;
}

/** What connect() has made so far: what putting back must undo, even when it failed half-way. */
interface Made {
  tmp?: string;
  stamps: DirStamp[];
}

interface Connection {
  tmp: string;
  /** ssh and sftp options both take (sftp's -P and ssh's -p for the port are added by each) */
  common: string[];
  dest: string;
  /** the shared connection's ssh -N -f, when the refusals are tested */
  master?: RunResult;
}

/**
 * The temporary key authorized and, when the refusals are tested, the shared connection opened, while the
 * caller goes on. Nothing in the upload tree is touched, nor its times saved, before finish.
 */
export function startProbe(target: Omit<ProbeTarget, 'dirs'>, opts: ProbeOptions = {}): StartedProbe {
  const refusals = opts.refusals ?? true;
  // This run's own names: nothing planted beforehand can sit at them.
  const tag = `${PROBE_NAME}-${randomHex(6)}`;
  const keysFile = join(PROBE_KEYS_DIR, target.user);
  const started = Date.now();
  const made: Made = { stamps: [] };
  let spawned!: () => void;
  const connecting = new Promise<void>((resolve) => (spawned = resolve));
  const connection = connect(target, { refusals, key: opts.key, saveKeysDirTime: !opts.times, keysFile, made, spawned });
  connection.catch(() => {}).finally(spawned); // finish or cancel reports a failure
  let settled = false;

  // Closing the shared connection (its socket is in tmp) and putting the tree back are independent: both
  // at once, and tmp removed only after the connection is closed.
  const putBack = async (dirs: string[] | null, treeStamps: DirStamp[]) => {
    await connection.catch(() => {});
    const { tmp } = made;
    await Promise.all([
      refusals && tmp ? closeMaster(join(tmp, 'cm')) : undefined,
      (async () => {
        // Only this run's own names: doctor probes accounts side by side, and holds no lock (a sweep of
        // every probe's leftovers is cleanStaleProbe's, for callers that hold the lock).
        await Promise.all([
          fs.rm(keysFile, { force: true }).catch(() => {}),
          dirs ? removeOwnProbeFiles(target.chroot, ['', ...dirs], tag).catch(() => {}) : undefined,
        ]);
        const stamps = [...treeStamps, ...made.stamps];
        if (opts.times) opts.times.push(...stamps);
        else await restoreDirTimes(stamps).catch(() => {});
      })(),
    ]);
    if (tmp) await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
  };

  return {
    connecting,
    async cancel() {
      if (settled) return;
      settled = true;
      await putBack(null, []);
    },
    async finish(dirs) {
      if (settled) throw new Error('this probe already ran or was cancelled');
      settled = true;
      // Defence in depth: callers pass only plain names; anything else never reaches a batch or a path.
      const t: ProbeTarget = { ...target, dirs: dirs.filter(isPlainDir) };
      let treeStamps: DirStamp[] = [];
      try {
        treeStamps = await saveTimes([{ root: t.chroot, rel: '' }, ...t.dirs.map((d) => ({ root: t.chroot, rel: d }))]);
        return await runChecks(t, { refusals, tag, started, connection });
      } finally {
        await putBack(t.dirs, treeStamps);
      }
    },
  };
}

/** The shared connection closed through its control socket; `ssh -O exit` only when that did not answer. */
async function closeMaster(controlPath: string): Promise<void> {
  if (await terminateMaster(controlPath)) return;
  await run('ssh', ['-F', '/dev/null', '-o', `ControlPath=${controlPath}`, '-O', 'exit', 'sftp-setup-probe'], { timeoutMs: 5000 }).catch(() => {});
}

async function connect(
  t: Omit<ProbeTarget, 'dirs'>,
  o: { refusals: boolean; key?: ProbeKey; saveKeysDirTime: boolean; keysFile: string; made: Made; spawned: () => void },
): Promise<Connection> {
  const tmp = await makeRunScratch('probe');
  o.made.tmp = tmp;
  if (o.saveKeysDirTime) o.made.stamps.push(...(await saveTimes([{ root: PROBE_KEYS_DIR, rel: '' }])));
  const key = o.key ?? (await writeProbeKey(tmp));
  const from = [...new Set(['127.0.0.1', '::1', t.addr])].join(',');
  await Promise.all([
    fs.writeFile(join(tmp, 'known_hosts'), t.hostKeys.map((k) => `sftp-setup-probe ${k}\n`).join('')),
    fs.writeFile(join(tmp, 'payload'), PAYLOAD),
    ensureDir(RUN_DIR, 0o755, 0, 0)
      .then(() => ensureDir(PROBE_KEYS_DIR, 0o755, 0, 0))
      .then(() => writeFileAtomic(o.keysFile, `restrict,from="${from}" ${key.publicLine}\n`, { mode: 0o644, uid: 0, gid: 0 })),
  ]);
  const common = [
    '-F', '/dev/null', '-i', key.path,
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'HostKeyAlias=sftp-setup-probe',
    '-o', `UserKnownHostsFile=${join(tmp, 'known_hosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=5', '-o', `ControlPath=${join(tmp, 'cm')}`,
    // Prefer the cheapest key exchange the server offers: the probe tests the account, not the crypto,
    // and the post-quantum default costs a small Pi a noticeable part of the self-test.
    '-o', 'KexAlgorithms=^curve25519-sha256,curve25519-sha256@libssh.org',
  ];
  const dest = `${t.user}@${t.addr.includes(':') ? `[${t.addr}]` : t.addr}`;
  // The connection every check shares: a master of its own. (The SFTP session's own ssh cannot be the
  // master: sftp of OpenSSH 10 opens no control socket.)
  const master = o.refusals
    ? run('ssh', [...common, '-p', String(t.port), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=30', '-N', '-f', dest], { timeoutMs: 15000 })
    : undefined;
  o.spawned();
  return { tmp, common, dest, master: await master };
}

async function runChecks(
  t: ProbeTarget, o: { refusals: boolean; tag: string; started: number; connection: Promise<Connection> },
): Promise<ProbeResult[]> {
  const { refusals, tag, started } = o;
  const results: ProbeResult[] = [];
  // A file as an upload leaves it (the account's, mode 0644), made directly so that the read-back and
  // remove checks need not wait for the uploads. Without it (a full disk) those checks cannot say
  // anything: they fail, and the directory checks name the cause. Made by root inside the directory it
  // holds open, under this run's own name, O_EXCL|O_NOFOLLOW: a link or file planted at that name makes
  // it fail, never write through it.
  const readName = refusals && t.dirs[0] ? `${tag}.read` : undefined;
  const madeRead = readName
    ? getAccount(t.user).then((acc) => withDir(t.chroot, t.dirs[0]!, (dir) =>
      createFileAt(dir, readName, PAYLOAD, { mode: 0o644, ...(acc ? { uid: acc.uid, gid: acc.gid } : {}) }))).then(() => true, () => false)
    : Promise.resolve(false);
  // Both are under way: the file first, so that a failed connection never leaves it to a clean-up that ran early.
  const readMade = await madeRead;
  const { tmp, common, dest, master } = await o.connection;
  const sshOpts = [...common, '-p', String(t.port)];
  const loginTitle = `key login as ${t.user} on port ${t.port}`;
  const sftp = (batch: string) =>
    run('sftp', [...common, '-P', String(t.port), '-o', 'ControlMaster=no', '-b', '-', dest], {
      input: batch + '\n', cwd: tmp, timeoutMs: 15000,
    });
  // Each listing is followed by a no-op holding this run's tag (a local directory that cannot exist), so
  // that no name can forge where the listing ends. The no-ops' own complaints are no evidence: left out
  // of what is shown.
  const mark = (n: string) => `-lcd ${tmp}/${tag}.${n}`;
  const runBatch = (batch: string[]) =>
    sftp(batch.join('\n')).then((x) => ({ ...x, stderr: x.stderr.split('\n').filter((l) => !l.includes(`${tmp}/${tag}.`)).join('\n') }));
  const listRoot = t.profile === 'allsky' ? ['-ls -1a /', mark('root')] : [];
  const uploads = t.dirs.flatMap((d) => dirBatch(d, tag, t.profile));
  const judged = async (r: RunResult) => [
    ...(await judgeUploads(t, r, mark('root'), tag, sftp)),
    ...(t.logging && t.dirs[0] ? [await logLineCheck(t.logging.socket, t.chroot, tag, started)] : []),
  ];

  if (!master) {
    // One sftp process on a connection of its own: no shared connection to open and close (each program
    // started costs a fleet's doctor its moment).
    const r = await runBatch(['-pwd', ...listRoot, ...uploads]);
    // sftp echoes each batch command once the session is up; before that, only ssh speaks (stderr).
    const began = /^sftp> /m.test(r.stdout);
    results.push({ id: 'login', title: loginTitle, ok: began, detail: began ? 'accepted' : explainLoginFailure(r) });
    if (began) results.push(...(await judged(r)));
    return results;
  }

  results.push({ id: 'login', title: loginTitle, ok: master.exitCode === 0, detail: master.exitCode === 0 ? 'accepted' : explainLoginFailure(master) });
  if (master.exitCode !== 0) return results;
  const ssh = (args: string[]) => run('ssh', [...sshOpts, '-o', 'ControlMaster=no', ...args], { timeoutMs: 15000 });

  const readFile = readMade ? `/${t.dirs[0]}/${readName}` : undefined;

  // The batch: `-` commands never end it, and `done` shows that every check before it ran with the
  // session still up.
  const done = mark('done');
  const batch = ['-pwd', ...listRoot, '-ls -1a /etc', mark('etc'), `-put payload /${tag}`];
  if (readFile) batch.push(`-get ${readFile} readback`);
  if (readFile && t.profile === 'dropbox') batch.push(`-rm ${readFile}`);
  batch.push(done, ...uploads);

  const [r, noShell, noForward] = await Promise.all([runBatch(batch), ssh([dest, 'id']), ssh(['-W', `127.0.0.1:${t.port}`, dest])]);
  const checked = r.stdout.split('\n').includes(`sftp> ${done}`);
  const verdict = (id: string, title: string, allowed: boolean, what: string): ProbeResult =>
    checked
      ? { id, title, ok: !allowed, detail: allowed ? `${what} was allowed` : 'refused' }
      : { id, title, ok: false, detail: `the session ended before this was checked: ${oneLine(r)}` };

  results.push(...(await judged(r)));
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
}

/**
 * What every probe proves from its batch's output: the session starts at the chroot, (allsky) only the
 * upload tree is visible, and every directory takes Allsky's upload sequence; when one does not, each
 * directory is tried in a session of its own to name which.
 */
async function judgeUploads(
  t: ProbeTarget, r: RunResult, rootMark: string, tag: string, sftp: (batch: string) => Promise<RunResult>,
): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  const pwdOk = /Remote working directory: \/\s*$/m.test(r.stdout);
  out.push({ id: 'chroot', title: 'session starts at the chroot /', ok: pwdOk, detail: pwdOk ? 'pwd is /' : oneLine(r) });
  if (t.profile === 'allsky') {
    // With logging on, root's own `dev` (holding the log socket) is there too.
    const seen = listing(r.stdout, rootMark, '-ls -1a /')?.filter((n) => !(t.logging && n === 'dev')) ?? null;
    const want = [...new Set(t.dirs.map((d) => d.split('/')[0]!))].sort();
    const ok = seen !== null && JSON.stringify(seen) === JSON.stringify(want);
    const shown = seen === null ? '(the listing could not be read)' : seen.map(shownPath).join(' ') || '(nothing)';
    out.push({ id: 'nothing-outside', title: 'only the upload tree is visible', ok, detail: `/ holds: ${shown}` });
  }
  if (r.exitCode === 0) {
    out.push({ id: 'dirs', title: `${t.dirs.length} upload directories: ${dirTitle(t.profile)}`, ok: true, detail: 'all accepted' });
    return out;
  }
  for (const d of t.dirs) {
    const one = await sftp(dirBatch(d, tag, t.profile).join('\n'));
    const detail = one.exitCode === 0 ? 'all accepted' : oneLine(one) + (await diskFullHint(t.chroot, d));
    out.push({ id: `dir:${d}`, title: `/${d}: ${dirTitle(t.profile)}`, ok: one.exitCode === 0, detail });
  }
  return out;
}

const PAYLOAD = 'sftp-setup probe\n';

function cannotCheck(id: string, title: string, dir: string): ProbeResult {
  return { id, title, ok: false, detail: `no test file could be made in /${dir} (is its disk full?)` };
}

/** With -l INFO, the close line of the probe's own first upload must reach the host's log. */
async function logLineCheck(socket: LogSocket | null, chroot: string, tag: string, since: number): Promise<ProbeResult> {
  const title = 'upload logging: this upload\'s close line is in the log';
  if (!socket) return { id: 'log', title, ok: false, detail: 'this host has no log socket (no journald, no syslog daemon at /dev/log)' };
  // `close "/DIR/TAG.tmp" bytes read 0 written 17`: the tag is this run's, no other line can hold it.
  const found = await findUploadLogLine(socket, `${tag}.tmp" bytes read 0 written `, since);
  return found.line !== null
    ? { id: 'log', title, ok: true, detail: `in ${found.source}: ${found.line.trim()}` }
    : { id: 'log', title, ok: false, detail: `no line for ${tag} in ${found.source} within 3 s: is ${join(chroot, 'dev/log')} the host's log socket? (sudo sftp-setup doctor)` };
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



/** A directory's modification time, saved to be put back (restoreDirTimes). */
export interface DirStamp {
  root: string;
  rel: string;
  mtimeNs: bigint;
}

/** Modification times of directories, read through descriptors (no link followed), to put back afterwards. */
async function saveTimes(dirs: Array<{ root: string; rel: string }>): Promise<DirStamp[]> {
  const times = await Promise.all(dirs.map((d) => dirTimeNs(d.root, d.rel).catch(() => null)));
  return dirs.flatMap((d, i) => (times[i] === null ? [] : [{ ...d, mtimeNs: times[i]! }]));
}

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
import { getAccount } from './accounts.js';
import { run, type RunResult } from './exec.js';
import { ensureDir, readText, writeFileAtomic } from './files.js';

export const PROBE_KEYS_DIR = '/run/sftp-setup/probe-keys';
const PROBE_NAME = '.sftp-setup-probe';

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

/** Remove what a crashed probe may have left: the temporary key and probe files in the upload tree. */
export async function cleanStaleProbe(user: string, chroot: string, dirs: string[]): Promise<void> {
  await fs.rm(join(PROBE_KEYS_DIR, user), { force: true });
  // A run killed mid-probe or mid-validation leaves its temporary directory (probe private key, candidate
  // config) in /run; callers hold the lock, so no other run of ours is using one.
  for (const name of await fs.readdir('/run').catch(() => [] as string[])) {
    if (/^sftp-setup-(probe|candidate)-/.test(name)) await fs.rm(join('/run', name), { recursive: true, force: true }).catch(() => {});
  }
  for (const d of dirs) {
    for (const suffix of ['', '.tmp', '.read']) {
      await fs.rm(join(chroot, d, PROBE_NAME + suffix), { force: true }).catch(() => {});
    }
  }
}

export async function probeAccount(t: ProbeTarget): Promise<ProbeResult[]> {
  const tmp = await fs.mkdtemp('/run/sftp-setup-probe-');
  const key = join(tmp, 'key');
  const ctl = join(tmp, 'cm');
  const keysFile = join(PROBE_KEYS_DIR, t.user);
  const stamps = await saveTimes([t.chroot, ...t.dirs.map((d) => join(t.chroot, d)), PROBE_KEYS_DIR]);
  const results: ProbeResult[] = [];
  try {
    const [kg] = await Promise.all([
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sftp-setup-probe', '-f', key]),
      ensureDir('/run/sftp-setup', 0o755, 0, 0).then(() => ensureDir(PROBE_KEYS_DIR, 0o755, 0, 0)),
    ]);
    if (kg.exitCode !== 0) throw new Error(`ssh-keygen failed: ${kg.stderr.trim()}`);
    const pub = (await readText(`${key}.pub`))!.trim();
    const from = [...new Set(['127.0.0.1', '::1', t.addr])].join(',');
    await writeFileAtomic(keysFile, `restrict,from="${from}" ${pub}\n`, { mode: 0o644, uid: 0, gid: 0 });
    await fs.writeFile(join(tmp, 'known_hosts'), t.hostKeys.map((k) => `sftp-setup-probe ${k}\n`).join(''));
    await fs.writeFile(join(tmp, 'payload'), 'sftp-setup probe\n');

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

    // Sessions are costly on a small Pi, so everything that must succeed goes into one batch; each thing
    // that must be refused needs a session of its own (a batch stops at its first error).
    const readName = t.dirs[0] ? `/${t.dirs[0]}/${PROBE_NAME}.read` : undefined;
    const allowed = async (): Promise<ProbeResult[]> => {
      const batch = ['pwd'];
      if (t.profile === 'allsky') batch.push('ls -1a /');
      for (const d of t.dirs) batch.push(...dirBatch(d, t.profile));
      const r = await sftp(batch.join('\n'));
      const out: ProbeResult[] = [];
      const pwdOk = /Remote working directory: \/\s*$/m.test(r.stdout);
      out.push({ id: 'chroot', title: 'session starts at the chroot /', ok: pwdOk, detail: pwdOk ? 'pwd is /' : oneLine(r) });
      if (t.profile === 'allsky') {
        const seen = listing(r.stdout);
        const want = [...new Set(t.dirs.map((d) => d.split('/')[0]!))].sort();
        const ok = JSON.stringify(seen) === JSON.stringify(want);
        out.push({ id: 'nothing-outside', title: 'only the upload tree is visible', ok, detail: `/ holds: ${seen.join(' ') || '(nothing)'}` });
      }
      if (r.exitCode === 0) {
        out.push({ id: 'dirs', title: `${t.dirs.length} upload directories: ${dirTitle(t.profile)}`, ok: true, detail: 'all accepted' });
        return out;
      }
      // Something failed: find which directory, one session each.
      for (const d of t.dirs) {
        const one = await sftp(dirBatch(d, t.profile).join('\n'));
        const detail = one.exitCode === 0 ? 'all accepted' : oneLine(one) + (await diskFullHint(join(t.chroot, d)));
        out.push({ id: `dir:${d}`, title: `/${d}: ${dirTitle(t.profile)}`, ok: one.exitCode === 0, detail });
      }
      return out;
    };
    const refused = (id: string, title: string, batch: string, what: string) => async (): Promise<ProbeResult> => {
      const r = await sftp(batch);
      return { id, title, ok: r.exitCode !== 0, detail: r.exitCode !== 0 ? 'refused' : `${what} was allowed` };
    };
    // A file as an upload leaves it (the account's, mode 0644), made directly so that the read-back and
    // remove checks need not wait for the upload batch. Without it (a full disk) those checks cannot say
    // anything: they fail, and the directory checks name the cause.
    let readFile: string | undefined;
    if (readName) {
      const acc = await getAccount(t.user);
      const path = join(t.chroot, readName);
      const made = await fs.writeFile(path, 'sftp-setup probe\n', { mode: 0o644 }).then(
        async () => {
          if (acc) await fs.chown(path, acc.uid, acc.gid);
          return true;
        },
        () => false,
      );
      if (made) readFile = readName;
      else await fs.rm(path, { force: true }).catch(() => {});
    }
    const cannotCheck = (id: string, title: string): Promise<ProbeResult> =>
      Promise.resolve({ id, title, ok: false, detail: `no test file could be made in /${t.dirs[0]} (is its disk full?)` });
    const [allowedResults, ...others] = await Promise.all([
      allowed(),
      refused('no-etc', "the host's /etc is not reachable", 'ls /etc', 'listing /etc')(),
      refused('root-readonly', 'the chroot root is not writable', `put payload /${PROBE_NAME}`, 'writing to /')(),
      (async (): Promise<ProbeResult> => {
        const r = await ssh([dest, 'id']);
        const ok = r.exitCode !== 0 && !/uid=/.test(r.stdout);
        return { id: 'no-shell', title: 'shell commands are refused', ok, detail: ok ? ((r.stdout + r.stderr).trim().split('\n')[0] || 'refused') : r.stdout.trim() };
      })(),
      (async (): Promise<ProbeResult> => {
        const r = await ssh(['-W', `127.0.0.1:${t.port}`, dest]);
        return { id: 'no-forward', title: 'port forwarding is refused', ok: r.exitCode !== 0, detail: r.exitCode !== 0 ? 'refused' : 'forward opened' };
      })(),
      ...(readName
        ? [readFile
            ? refused('no-read', 'uploaded files cannot be read back', `get ${readFile} readback`, 'reading a file')()
            : cannotCheck('no-read', 'uploaded files cannot be read back')]
        : []),
      ...(readName && t.profile === 'dropbox'
        ? [readFile
            ? refused('no-remove', 'uploaded files cannot be removed (drop box)', `rm ${readFile}`, 'removing a file')()
            : cannotCheck('no-remove', 'uploaded files cannot be removed (drop box)')]
        : []),
    ]);
    results.push(...allowedResults, ...others);
    return results;
  } finally {
    // Closing the shared connection and putting the tree back are independent: do both at once.
    await Promise.all([
      run('ssh', ['-F', '/dev/null', '-o', `ControlPath=${ctl}`, '-O', 'exit', 'sftp-setup-probe'], { timeoutMs: 5000 }).catch(() => {}),
      (async () => {
        await fs.rm(keysFile, { force: true }).catch(() => {});
        await cleanStaleProbe(t.user, t.chroot, t.dirs).catch(() => {});
        await restoreTimes(stamps);
      })(),
    ]);
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}

/** Allsky's upload sequence: put to a temporary name (twice: overwrite), remove the target, rename. */
function dirBatch(d: string, profile: 'allsky' | 'dropbox'): string[] {
  const tmp = `/${d}/${PROBE_NAME}.tmp`;
  const final = `/${d}/${PROBE_NAME}`;
  if (profile === 'dropbox') return [`put payload ${tmp}`];
  return [`put payload ${tmp}`, `put payload ${tmp}`, `-rm ${final}`, `rename ${tmp} ${final}`, `rm ${final}`];
}

function dirTitle(profile: 'allsky' | 'dropbox'): string {
  return profile === 'allsky' ? 'put, overwrite, rename, remove' : 'put accepted';
}

function listing(stdout: string): string[] {
  // The lines printed between "sftp> ls -1a /" and the next prompt.
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('sftp> ls'));
  if (at < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.startsWith('sftp>')) break;
    const name = l.trim().replace(/^\/+/, '');
    if (name && name !== '.' && name !== '..') out.push(name);
  }
  return out.sort();
}

/** SFTP reports a full disk only as "Failure": look at the directory's filesystem ourselves. */
async function diskFullHint(dir: string): Promise<string> {
  const s = await fs.statfs(dir).catch(() => undefined);
  if (!s) return '';
  if (s.files > 0 && s.ffree === 0) return ` — the filesystem holding ${dir} has no free inodes: free some, then run again`;
  const free = s.bavail * s.bsize;
  return free < 64 * 1024 ? ` — the disk holding ${dir} is full (${free} bytes free): free some space, then run again` : '';
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

async function saveTimes(paths: string[]): Promise<Array<{ path: string; mtime: string }>> {
  const out = [];
  for (const p of paths) {
    const s = await fs.stat(p, { bigint: true }).catch(() => undefined);
    if (s) out.push({ path: p, mtime: `${s.mtimeNs / 1_000_000_000n}.${String(s.mtimeNs % 1_000_000_000n).padStart(9, '0')}` });
  }
  return out;
}

/**
 * The probe's files come and go; put the directories' modification times back so a re-run changes nothing.
 * touch(1), in one shell: fs.utimes goes through a double and would lose the nanoseconds.
 */
async function restoreTimes(stamps: Array<{ path: string; mtime: string }>): Promise<void> {
  if (stamps.length === 0) return;
  const script = 'while [ $# -gt 1 ]; do touch -c -m -d "@$1" -- "$2"; shift 2; done';
  await run('sh', ['-c', script, 'sh', ...stamps.flatMap((s) => [s.mtime, s.path])]).catch(() => {});
}

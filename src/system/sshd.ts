/**
 * The running OpenSSH server: its binary, version, validation, effective configuration and reload.
 */
import { existsSync, promises as fs, readdirSync, readFileSync, readlinkSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FailError } from '../errors.js';
import { globMatch } from '../sshd/placement.js';
import { listeningSockets } from '../socket-table.js';
import { run, runOk } from './exec.js';
import { readText } from './files.js';
import { makeRunScratch } from './run-scratch.js';
import { binaryIdentity, rememberedVersion, rememberVersion } from './sshd-version.js';
import { randomHex } from './random.js';

export const SSHD = '/usr/sbin/sshd';
export const SSHD_CONFIG = '/etc/ssh/sshd_config';

export interface SshdCheck {
  ok: boolean;
  /** sshd's own words when it refused the config */
  message: string;
}

/** What this run read with sshd -V and nothing remembers yet (rememberSshdVersion). */
let unremembered: { identity: string; text: string } | undefined;

/**
 * `sshd -V` prints e.g. "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024" on stderr. Read once per
 * binary (system/sshd-version.ts).
 */
export async function sshdVersionText(): Promise<string> {
  if (!existsSync(SSHD)) {
    throw new FailError(`${SSHD} not found: the OpenSSH server is not installed`, 'sudo apt-get install -y openssh-server');
  }
  const identity = binaryIdentity(SSHD);
  const known = identity === null ? undefined : rememberedVersion(identity);
  if (known !== undefined) return known;
  const r = await run(SSHD, ['-V']);
  const text = (r.stderr || r.stdout).trim();
  if (identity !== null) unremembered = { identity, text };
  return text;
}

/**
 * Keep the version this run read for the next runs: called by a command that changes the host once it has
 * (init, uninstall). A dry run, a read-only command or a run that failed leaves /run as it was.
 */
export async function rememberSshdVersion(): Promise<void> {
  if (!unremembered) return;
  await rememberVersion(unremembered.identity, unremembered.text).catch(() => {});
  unremembered = undefined;
}

/** `sshd -t`: is this configuration (main file and everything it includes) valid? */
export async function testConfig(configPath = SSHD_CONFIG): Promise<SshdCheck> {
  const r = await run(SSHD, ['-t', '-f', configPath]);
  return { ok: r.exitCode === 0, message: (r.stderr || r.stdout).trim() };
}

/** `sshd -T -C user=…`: the settings sshd applies to this connection, after every Match block. */
export async function effectiveConfig(
  conn: { user: string; host?: string; addr?: string; laddr?: string; lport?: number },
  configPath = SSHD_CONFIG,
): Promise<string> {
  const r = await effectiveSettings(conn, configPath);
  if (!r.ok) throw settingsFailure(r);
  return r.settings;
}

/**
 * effectiveConfig as a check. sshd -T -C parses, loads and checks everything sshd -t does before it applies
 * the Match blocks to the connection, so when it passes, so would sshd -t.
 */
export async function effectiveSettings(
  conn: { user: string; host?: string; addr?: string; laddr?: string; lport?: number },
  configPath = SSHD_CONFIG,
): Promise<SshdCheck & { settings: string }> {
  const spec = [`user=${conn.user}`, `host=${conn.host ?? 'localhost'}`, `addr=${conn.addr ?? '127.0.0.1'}`];
  if (conn.laddr) spec.push(`laddr=${conn.laddr}`);
  if (conn.lport) spec.push(`lport=${conn.lport}`);
  return settingsOf(await run(SSHD, ['-T', '-f', configPath, '-C', spec.join(',')]));
}

/** `sshd -T` without -C: the global settings (connection limits and the like), no Match block applied. */
export async function globalConfig(configPath = SSHD_CONFIG): Promise<string> {
  const r = await globalSettings(configPath);
  if (!r.ok) throw settingsFailure(r);
  return r.settings;
}

/** `sshd -T` without -C as a check: it fails exactly where `sshd -t` does, and prints the settings when it passes. */
export async function globalSettings(configPath = SSHD_CONFIG): Promise<SshdCheck & { settings: string }> {
  return settingsOf(await run(SSHD, ['-T', '-f', configPath]));
}

function settingsOf(r: { exitCode: number | null; stdout: string; stderr: string }): SshdCheck & { settings: string } {
  const ok = r.exitCode === 0;
  return { ok, message: ok ? '' : (r.stderr || r.stdout).trim(), settings: ok ? r.stdout : '' };
}

/** The error of an `sshd -T` that failed (effectiveSettings, globalSettings), with where to look. */
export function settingsFailure(r: SshdCheck): FailError {
  return new FailError(`sshd -T failed: ${r.message}`, `run: sudo ${SSHD} -t`);
}

/**
 * `sshd -T -C user=U,host=localhost,addr=127.0.0.1` for many users (a fleet's accounts), through a few shells
 * that each run sshd once per user: every program the tool starts itself costs its event loop a moment, and
 * on a busy machine that moment, not sshd, is what a hundred accounts would wait for. Users travel as the
 * shell's arguments, never in its script; names that could add fields to the connection spec (",", "=")
 * are looked up on their own. Each user's result is its output, or the error effectiveConfig would throw.
 */
export async function effectiveConfigs(users: string[], configPath = SSHD_CONFIG, shells = 4): Promise<Map<string, string | Error>> {
  const out = new Map<string, string | Error>();
  const plain = users.filter((u) => /^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(u));
  const odd = users.filter((u) => !plain.includes(u));
  const end = `sftp-setup-end-${randomHex(8)}`;
  // Each user's output on stdout and its complaints on stderr, both closed by the same line of ours.
  const script = `f=$1; shift; for u in "$@"; do ${SSHD} -T -f "$f" -C "user=$u,host=localhost,addr=127.0.0.1"; rc=$?; echo "${end} $rc $u"; echo "${end} $rc $u" >&2; done`;
  const size = Math.ceil(plain.length / Math.max(1, shells));
  const groups = Array.from({ length: size ? Math.ceil(plain.length / size) : 0 }, (_, i) => plain.slice(i * size, (i + 1) * size));
  await Promise.all([
    ...groups.map(async (g) => {
      const r = await run('sh', ['-c', script, 'sh', configPath, ...g]);
      const chunks = (text: string) => {
        const got = new Map<string, { rc: string; text: string }>();
        let chunk: string[] = [];
        for (const line of text.split('\n')) {
          const m = line.startsWith(`${end} `) ? /^\S+ (\d+) (.*)$/.exec(line) : null;
          if (!m) chunk.push(line);
          else {
            got.set(m[2]!, { rc: m[1]!, text: chunk.join('\n') });
            chunk = [];
          }
        }
        return got;
      };
      const stdout = chunks(r.stdout);
      const stderr = chunks(r.stderr);
      for (const [u, o] of stdout) {
        const e = stderr.get(u)?.text.trim();
        out.set(u, o.rc === '0' ? `${o.text}\n` : new FailError(`sshd -T failed: ${e || o.text.trim()}`, `run: sudo ${SSHD} -t`));
      }
      for (const u of g) if (!out.has(u)) out.set(u, new FailError(`sshd -T failed: ${(r.stderr || r.stdout).trim() || `exit ${r.exitCode}`}`, `run: sudo ${SSHD} -t`));
    }),
    ...odd.map(async (u) => out.set(u, await effectiveConfig({ user: u }, configPath).catch((e: Error) => e))),
  ]);
  return out;
}

/** Is systemd the init here? (Not inside throwaway hosts, which hide it on purpose.) */
export function systemdRuns(): boolean {
  return existsSync('/run/systemd/system');
}

/** The pid of the listening sshd, from its PidFile, when that process is alive and is an sshd. */
export async function runningPid(pidFile = '/run/sshd.pid'): Promise<number | undefined> {
  const text = await readText(pidFile);
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    return comm.startsWith('sshd') ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function isRunning(pidFile?: string): Promise<boolean> {
  if (systemdRuns()) {
    const r = await run('systemctl', ['is-active', '--quiet', 'ssh']);
    if (r.exitCode === 0) return true;
  }
  return (await runningPid(pidFile)) !== undefined;
}

/** Where systemd runs: enable and start the ssh unit (what startHint() tells a person to do). */
export async function enableAndStart(): Promise<void> {
  const r = await run('systemctl', ['enable', '--now', 'ssh']);
  if (r.exitCode !== 0) throw new FailError(`systemctl enable --now ssh failed: ${r.stderr.trim()}`, 'journalctl -u ssh -n 50');
}

/** Start sshd: the ssh unit where systemd runs, else the binary itself, after making its /run/sshd. */
export async function startSshd(): Promise<void> {
  if (systemdRuns()) {
    await runOk('systemctl', ['start', 'ssh']);
    return;
  }
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await runOk(SSHD, []);
}

/** How to start sshd on this machine, for messages. */
export function startHint(): string {
  return systemdRuns() ? 'sudo systemctl enable --now ssh' : `sudo mkdir -p /run/sshd && sudo ${SSHD}`;
}

/** After a rollback put the previous configuration back: make a running sshd use it again. */
export async function reloadIfRunning(): Promise<void> {
  if (await isRunning()) await reload();
}

/**
 * Reload, never restart: established sessions (the admin's own) survive a reload. With systemd this is
 * `systemctl reload ssh` (which runs sshd -t itself); otherwise SIGHUP to the pid in the PidFile. sshd
 * re-executes itself on SIGHUP and opens new listening sockets; we wait until all of them listen, so that
 * the next step (or the admin) can connect. A new socket alone is not enough: sshd makes it, binds it and
 * only then listens, and a connect in between is refused.
 */
export async function reload(pidFile = '/run/sshd.pid'): Promise<void> {
  const pid = await runningPid(pidFile);
  const before = pid ? socketInodes(pid) : new Set<string>();
  const listenersBefore = pid ? listeningInodes(pid, before).size : 0;
  // sshd writes its pid file once its new sockets listen: that write is when to look (the socket tables
  // cost milliseconds to read where the kernel's TCP hash is large); a slow timer covers a missed event.
  const written = pid ? watchEntry(pidFile) : undefined;
  try {
    if (systemdRuns()) {
      const r = await run('systemctl', ['reload', 'ssh']);
      if (r.exitCode !== 0) throw new FailError(`systemctl reload ssh failed: ${r.stderr.trim()}`, 'journalctl -u ssh -n 50');
    } else {
      if (!pid) throw new FailError('sshd is not running, so it cannot be reloaded', startHint());
      process.kill(pid, 'SIGHUP');
    }
    if (!pid) return;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      await written!.next(50);
      const now = await runningPid(pidFile);
      if (!now) continue;
      const fresh = new Set([...socketInodes(now)].filter((i) => !before.has(i)));
      if (fresh.size > 0 && listeningInodes(now, fresh).size >= Math.max(1, listenersBefore)) return;
    }
    throw new FailError('sshd did not come back after the reload', `look at its log, then: ${startHint()}`);
  } finally {
    written?.close();
  }
}

/**
 * Changes to one directory entry (made, removed, renamed over or written): next(ms) settles at the first
 * change since the last call, or after ms. Without inotify (its limit reached) it is a timer alone.
 */
function watchEntry(path: string): { next(ms: number): Promise<void>; close(): void } {
  const name = basename(path);
  let changed = false;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && file.toString() !== name) return;
      changed = true;
      wake?.();
    });
    watcher.on('error', () => {});
  } catch {
    watcher = undefined;
  }
  return {
    async next(ms) {
      if (!changed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      changed = false;
      wake = undefined;
    },
    close: () => watcher?.close(),
  };
}

/** Of these socket inodes, the ones in LISTEN state in the TCP tables of the process's network namespace. */
function listeningInodes(pid: number, inodes: Set<string>): Set<string> {
  const tables = ['tcp', 'tcp6'].map((t) => {
    try {
      return readFileSync(`/proc/${pid}/net/${t}`, 'utf8');
    } catch {
      return '';
    }
  });
  return new Set(listeningSockets(tables).map((s) => `socket:[${s.inode}]`).filter((i) => inodes.has(i)));
}

function socketInodes(pid: number): Set<string> {
  const found = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:')) found.add(target);
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    /* process gone or re-executing */
  }
  return found;
}

/** Whether the OpenSSH server is installed. */
export function sshdInstalled(): boolean {
  return existsSync(SSHD);
}

/**
 * A file of sshd's configuration, read the way sshd reads it (links followed: /etc/ssh is root's); null
 * when it cannot be read. Synchronous, for the Include expansion in src/sshd/includes.ts.
 */
export function readConfigText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * A private scratch directory under /run for a candidate configuration, removed afterwards. `write(name,
 * text)` puts a file there (mode 0600) and returns its path, for `sshd -t -f` and `sshd -T -f` to read
 * before the candidate replaces anything.
 */
export async function withCandidateConfig<T>(fn: (write: (name: string, text: string) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = await makeRunScratch('candidate');
  try {
    return await fn(async (name, text) => {
      const path = join(dir, name);
      await fs.writeFile(path, text, { mode: 0o600 });
      return path;
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Expand a glob the way sshd's Include does (glob(3), sorted). Wildcards may stand in any component. */
export function globPathsSync(pattern: string): string[] {
  const parts = pattern.split('/').filter((p) => p !== '');
  let bases = [pattern.startsWith('/') ? '/' : '.'];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of bases) {
      const join = (name: string) => (base === '/' ? `/${name}` : `${base}/${name}`);
      if (!/[*?[]/.test(part)) {
        next.push(join(part));
        continue;
      }
      let names: string[] = [];
      try {
        names = readdirSync(base);
      } catch {
        /* not a directory, or unreadable: no match */
      }
      // One component against one name: globMatch's rules (no leading-dot match) are glob(3)'s.
      for (const n of names.sort()) if (globMatch(part, n)) next.push(join(n));
    }
    bases = next;
  }
  return bases.filter((p) => existsSync(p)).sort();
}

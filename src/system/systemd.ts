/**
 * systemd effects for the sync timer: is systemd the running init here, validate unit files with
 * `systemd-analyze verify` (before they are installed), systemctl, and the enable link.
 */
import { promises as fs } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveProgram, run, runOk, type RunResult } from './exec.js';
import { fileError } from './files.js';

/** systemd's own test (sd_booted): /run/systemd/system exists only when systemd is PID 1. */
export async function systemdRunning(): Promise<boolean> {
  return (await fs.stat('/run/systemd/system').catch(() => null))?.isDirectory() ?? false;
}

export async function systemctl(args: string[]): Promise<RunResult> {
  return runOk('systemctl', args, { timeoutMs: 60_000 });
}

export async function unitActive(unit: string): Promise<boolean> {
  return (await run('systemctl', ['is-active', '--quiet', unit], { timeoutMs: 30_000 })).exitCode === 0;
}

/**
 * `systemd-analyze verify` on candidate unit files (name → text) in a scratch directory: null when they
 * pass or when systemd-analyze is not installed, else its complaints in one line.
 */
export async function verifyUnits(units: Record<string, string>): Promise<string | null> {
  if (!(await haveProgram('systemd-analyze'))) return null;
  const dir = await mkdtemp(join(tmpdir(), 'sftp-setup-units-'));
  try {
    const paths: string[] = [];
    for (const [name, text] of Object.entries(units)) {
      const p = join(dir, name);
      await writeFile(p, text, { mode: 0o644, flag: 'wx' });
      paths.push(p);
    }
    const r = await run('systemd-analyze', ['verify', ...paths], { timeoutMs: 60_000 });
    if (r.exitCode === 0) return null;
    return (r.stderr || r.stdout).trim().split('\n').map((l) => l.replace(`${dir}/`, '')).join(' / ') || `exit ${r.exitCode}`;
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** The target of a symlink, or null when there is none (or something else is there). */
export async function readLink(path: string): Promise<string | null> {
  return fs.readlink(path).catch(() => null);
}

export async function makeLink(target: string, path: string): Promise<void> {
  await fs.symlink(target, path).catch((err) => {
    throw fileError('create the link', path, err);
  });
}

export async function removeLink(path: string): Promise<void> {
  const st = await fs.lstat(path).catch(() => null);
  if (!st) return;
  if (!st.isSymbolicLink()) throw fileError('remove the link', path, Object.assign(new Error('not a symbolic link'), { code: 'EINVAL' }));
  await fs.unlink(path).catch((err) => {
    throw fileError('remove the link', path, err);
  });
}

/** Undo of a directory we made: only while it is empty. */
export async function removeDirIfEmpty(path: string): Promise<void> {
  await fs.rmdir(path).catch(() => {});
}

/**
 * systemd effects for the units sftp-setup installs (the sync timer, the watch service): validate unit files
 * offline with `systemd-analyze verify` before they are installed, systemctl, unit state, and the enable
 * link. Whether systemd is the running init: sshd.ts systemdRuns().
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { haveProgram, run, runOk, type RunResult } from './exec.js';
import { fileError } from './file-error.js';
import { makeRunScratch } from './run-scratch.js';

export async function systemctl(args: string[]): Promise<RunResult> {
  return runOk('systemctl', args, { timeoutMs: 60_000 });
}

export async function unitActive(unit: string): Promise<boolean> {
  return (await run('systemctl', ['is-active', '--quiet', unit], { timeoutMs: 30_000 })).exitCode === 0;
}

export interface UnitState {
  enabled: boolean;
  active: boolean;
}

export async function unitState(name: string): Promise<UnitState> {
  const [enabled, active] = await Promise.all([
    run('systemctl', ['is-enabled', '--quiet', name], { timeoutMs: 30_000 }),
    unitActive(name),
  ]);
  return { enabled: enabled.exitCode === 0, active };
}

/**
 * What `systemd-analyze verify` says about candidate unit files (name → text): null when they are fine or the
 * tool is not installed, else its complaints in one line. It reports bad values as warnings and still exits
 * 0, so any line naming one of the files counts. The candidates sit in a root-only directory under /run.
 */
export async function verifyUnits(units: Record<string, string>): Promise<string | null> {
  if (!(await haveProgram('systemd-analyze'))) return null;
  const dir = await makeRunScratch('candidate');
  try {
    const paths: string[] = [];
    for (const [name, text] of Object.entries(units)) {
      const p = join(dir, name);
      await fs.writeFile(p, text, { mode: 0o600, flag: 'wx' });
      paths.push(p);
    }
    const r = await run('systemd-analyze', ['verify', '--man=no', ...paths], { timeoutMs: 60_000 });
    const names = Object.keys(units);
    const about = `${r.stdout}${r.stderr}`.split('\n').filter((l) => paths.some((p) => l.includes(p)) || names.some((n) => l.includes(n)));
    if (r.exitCode === 0 && about.length === 0) return null;
    // One unit: "line N: …"; several: "NAME:N: …".
    const shown = (l: string) => (paths.length === 1 ? l.replace(`${paths[0]}:`, 'line ') : l.replaceAll(`${dir}/`, ''));
    return (about.length ? about : [`${r.stderr}${r.stdout}`.trim() || `exit ${r.exitCode}`]).map(shown).join('; ');
  } finally {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** One unit file: see verifyUnits. */
export function verifyUnit(name: string, text: string): Promise<string | null> {
  return verifyUnits({ [name]: text });
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

/**
 * systemd effects for `watch --install`: validate a unit file offline (systemd-analyze verify), and enable,
 * start, restart, stop and disable a service. Only where systemd runs (sshd.ts systemdRuns), except the
 * validation, which needs only systemd-analyze.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { haveProgram, run, runOk } from './exec.js';

export interface UnitState {
  enabled: boolean;
  active: boolean;
}

export async function unitState(name: string): Promise<UnitState> {
  const [enabled, active] = await Promise.all([
    run('systemctl', ['is-enabled', '--quiet', name]),
    run('systemctl', ['is-active', '--quiet', name]),
  ]);
  return { enabled: enabled.exitCode === 0, active: active.exitCode === 0 };
}

export const systemctl = (args: string[]) => runOk('systemctl', args, { timeoutMs: 60_000 });

/**
 * What systemd-analyze verify says about this unit text under this name: null when it is fine or the tool is
 * not installed, else its complaints about the file (it reports bad values as warnings and still exits 0,
 * so any line naming the file counts). The candidate sits in a root-only temporary directory.
 */
export async function verifyUnit(name: string, text: string): Promise<string | null> {
  if (!(await haveProgram('systemd-analyze'))) return null;
  const dir = await fs.mkdtemp('/run/sftp-setup-candidate-');
  try {
    const file = join(dir, name);
    await fs.writeFile(file, text, { mode: 0o600 });
    const r = await run('systemd-analyze', ['verify', '--man=no', file], { timeoutMs: 60_000 });
    const about = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(file) || l.includes(name));
    if (r.exitCode !== 0 || about.length) return (about.length ? about : [`${r.stderr}${r.stdout}`.trim()]).map((l) => l.replace(`${file}:`, 'line ')).join('; ');
    return null;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

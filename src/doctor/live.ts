/**
 * The live probe: a real SFTP session as the upload account with a temporary, loopback-only key (the same
 * probe as init's self-test), reported as checks. It cleans up after itself (system/probe.ts).
 */
import { probeTargetFor } from '../collector/probe-target.js';
import { PROBE_KEYS_PATTERN } from '../collector/layout.js';
import { probeAccount } from '../system/probe.js';
import { SSHD_CONFIG } from '../system/sshd.js';
import { fail, pass, skip, type DoctorCheck } from './check.js';
import type { UploadAccount } from './collector-context.js';

export async function liveChecks(a: UploadAccount, dirs: string[], opts: { probe: boolean; running: boolean }): Promise<DoctorCheck[]> {
  const { user } = a;
  const title = `live SFTP session as ${user}`;
  if (!opts.probe) return [skip('probe.login', title, '--no-probe', { user })];
  if (process.getuid?.() !== 0) return [skip('probe.login', title, 'the probe needs root (it adds a temporary key)', { user })];
  if (!opts.running) return [skip('probe.login', title, 'sshd is not running', { user })];
  if (!a.account || !a.chroot) return [skip('probe.login', title, 'the account or its chroot is missing', { user })];
  const akf = a.eff?.get('authorizedkeysfile')?.join(' ') ?? '';
  if (!akf.split(/\s+/).includes(PROBE_KEYS_PATTERN)) {
    return [skip('probe.login', title, `the Match block does not list ${PROBE_KEYS_PATTERN} (made by hand); sudo sftp-setup init --adopt --user ${user} enables the probe`, { user })];
  }
  const profile = a.profile === 'dropbox' ? 'dropbox' : 'allsky';
  const results = await probeAccount(await probeTargetFor({ user, root: a.chroot, dirs, profile }, SSHD_CONFIG));
  return results.map((r) =>
    r.ok
      ? pass(`probe.${r.id}`, r.title, [r.detail], { user })
      : fail(`probe.${r.id}`, r.title, [r.detail], { user, reason: 'the live session shows the problem; the checks above name its cause' }),
  );
}

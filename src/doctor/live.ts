/**
 * The live probe: a real SFTP session as the upload account with a temporary, loopback-only key (the same
 * probe as init's self-test), reported as checks. It cleans up after itself (system/probe.ts).
 */
import { probeTargetFromEffective } from '../collector/probe-target.js';
import { PROBE_KEYS_PATTERN } from '../collector/layout.js';
import { probeAccount } from '../system/probe.js';
import { fail, pass, skip, type DoctorCheck } from './check.js';
import type { UploadAccount } from './collector-context.js';

export async function liveChecks(a: UploadAccount, dirs: string[], opts: { probe: boolean; running: boolean; blocked?: string }): Promise<DoctorCheck[]> {
  const { user } = a;
  const title = `live SFTP session as ${user}`;
  if (!opts.probe) return [skip('probe.login', title, '--no-probe', { user })];
  if (process.getuid?.() !== 0) return [skip('probe.login', title, 'the probe needs root (it adds a temporary key)', { user })];
  if (!opts.running) return [skip('probe.login', title, 'sshd is not running', { user })];
  if (!a.account || !a.chroot || !a.eff) return [skip('probe.login', title, 'the account, its chroot or its sshd settings are missing', { user })];
  if (opts.blocked) return [skip('probe.login', title, opts.blocked, { user })];
  const akf = a.eff.get('authorizedkeysfile')?.join(' ') ?? '';
  if (!akf.split(/\s+/).includes(PROBE_KEYS_PATTERN)) {
    return [skip('probe.login', title, `the Match block does not list ${PROBE_KEYS_PATTERN} (made by hand); sudo sftp-setup init --adopt --user ${user} enables the probe`, { user })];
  }
  const results = await probeAccount(
    await probeTargetFromEffective({ user: a.user, root: a.chroot!, dirs, profile: a.profile === 'dropbox' ? 'dropbox' : 'allsky' }, a.eff!),
  );
  const out: DoctorCheck[] = [];
  const chrootFailed = results.some((r) => r.id === 'chroot' && !r.ok);
  for (const r of results) {
    // A refused chroot fails every directory the same way: say it once.
    if (chrootFailed && (r.id.startsWith('dir') || r.id === 'nothing-outside')) continue;
    out.push(r.ok
      ? pass(`probe.${r.id}`, r.title, [r.detail], { user })
      : fail(`probe.${r.id}`, r.title, [r.detail], { user, reason: 'the live session shows the problem; the checks above name its cause' }));
  }
  return out;
}

/**
 * The live probe: a real SFTP session as the upload account with a temporary, loopback-only key (the same
 * probe as init's self-test), reported as checks. It cleans up after itself (system/probe.ts).
 */
import { probeTargetFromEffective } from '../collector/probe-target.js';
import { PROBE_KEYS_PATTERN } from '../collector/layout.js';
import { probeAccount, startProbe, type DirStamp, type ProbeKey, type StartedProbe } from '../system/probe.js';
import { fail, pass, skip, type DoctorCheck } from './check.js';
import type { UploadAccount } from './collector-context.js';
import type { UploadTree } from '../collector/upload-tree.js';

/** What the probe must be refused (the ids of probeAccount's refusal checks). */
export const REFUSAL_IDS = ['probe.no-etc', 'probe.root-readonly', 'probe.no-shell', 'probe.no-forward'];

/**
 * The account's effective sshd settings but its chroot's path: accounts with equal keys are refused the
 * same things by the same sshd (a fleet made by init: every account).
 */
export function settingsKey(a: UploadAccount): string | undefined {
  if (!a.eff) return undefined;
  // Code-point order: any fixed order makes the key, and localeCompare's first call costs a run several
  // milliseconds (ICU loads its collation data).
  return JSON.stringify([...a.eff].filter(([k]) => k !== 'chrootdirectory').sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/**
 * Accounts of one group fare alike in a live probe, up to what their own files decide: the same effective
 * sshd settings (so the same login path, ForceCommand and refusals), the same profile (so the same upload
 * sequence) and upload directories on the same filesystems (so the same free space, mount options and
 * quota). What remains an account's own is its chroot's and directories' owners and modes, and its keys
 * file: its file checks read those. undefined: no group (the account is always probed).
 */
export function probeGroup(a: UploadAccount, dirs: string[], tree: UploadTree | undefined): string | undefined {
  const settings = settingsKey(a);
  if (settings === undefined || !tree) return undefined;
  const wanted = new Set(dirs);
  const found = tree.entries.filter((e) => e.type === 'dir' && wanted.has(e.rel));
  // A directory the walk did not see (missing, past its bounds): nothing says it is like the others'.
  if (found.length !== wanted.size) return undefined;
  const devs = [...new Set(found.map((e) => e.dev))].sort((x, y) => x - y);
  return JSON.stringify([settings, a.profile, devs, [...wanted].sort()]);
}

/**
 * Would the probe run for this account at all (root, sshd running, an account our probe key can reach)?
 * Otherwise the reason it is skipped.
 */
export function probeSkipped(a: UploadAccount, opts: { probe: boolean; running: boolean; blocked?: string }): string | undefined {
  if (!opts.probe) return '--no-probe';
  if (process.getuid?.() !== 0) return 'the probe needs root (it adds a temporary key)';
  if (!opts.running) return 'sshd is not running';
  if (!a.account || !a.chroot || !a.eff) return 'the account, its chroot or its sshd settings are missing';
  if (opts.blocked) return opts.blocked;
  const akf = a.eff.get('authorizedkeysfile')?.join(' ') ?? '';
  if (!akf.split(/\s+/).includes(PROBE_KEYS_PATTERN)) {
    return `the Match block does not list ${PROBE_KEYS_PATTERN} (made by hand); sudo sftp-setup init --adopt --user ${a.user} enables the probe`;
  }
  return undefined;
}

const targetOf = (a: UploadAccount, dirs: string[]) =>
  probeTargetFromEffective({ user: a.user, root: a.chroot!, dirs, profile: a.profile === 'dropbox' ? 'dropbox' : 'allsky' }, a.eff!);

/**
 * The account's full probe (refusals included) started ahead of its file checks, so that its connection
 * opens while they run; undefined when the probe would be skipped anyway. Nothing in the upload tree is
 * touched until liveChecks finishes it; the caller cancels it when the file checks say not to probe. It is
 * its run's only probe, so it puts back the directory times it changes itself.
 */
export function startLiveProbe(a: UploadAccount, opts: { probe: boolean; running: boolean }): Promise<StartedProbe> | undefined {
  if (probeSkipped(a, opts)) return undefined;
  const started = targetOf(a, []).then((t) => startProbe(t));
  started.catch(() => {}); // reported where it is awaited
  return started;
}

/**
 * `refusalsTestedBy`: another account with the same sshd settings whose probe tested the refusals; this
 * one's probe then tests its login, chroot and upload directories only.
 * `started`: this account's probe from startLiveProbe (refusals included), finished here.
 */
export async function liveChecks(
  a: UploadAccount, dirs: string[],
  opts: { probe: boolean; running: boolean; blocked?: string; refusalsTestedBy?: string; times?: DirStamp[]; key?: ProbeKey; started?: Promise<StartedProbe> },
): Promise<DoctorCheck[]> {
  const { user } = a;
  const title = `live SFTP session as ${user}`;
  const why = probeSkipped(a, opts);
  if (why) return [skip('probe.login', title, why, { user })];
  const results = opts.started && !opts.refusalsTestedBy
    ? await (await opts.started).finish(dirs)
    : await probeAccount(await targetOf(a, dirs), { refusals: !opts.refusalsTestedBy, times: opts.times, key: opts.key });
  const out: DoctorCheck[] = [];
  const chrootFailed = results.some((r) => r.id === 'chroot' && !r.ok);
  for (const r of results) {
    // A refused chroot fails every directory the same way: say it once.
    if (chrootFailed && (r.id.startsWith('dir') || r.id === 'nothing-outside')) continue;
    out.push(r.ok
      ? pass(`probe.${r.id}`, r.title, [r.detail], { user })
      : fail(`probe.${r.id}`, r.title, [r.detail], { user, reason: 'the live session shows the problem; the checks above name its cause' }));
  }
  if (opts.refusalsTestedBy && results.some((r) => r.id === 'login' && r.ok)) {
    out.push(skip('probe.refusals', `shell, forwarding, /etc, writes to / and reads refused for ${user}`,
      `the same sshd settings as ${opts.refusalsTestedBy}, whose live probe tested them`, { user }));
  }
  return out;
}

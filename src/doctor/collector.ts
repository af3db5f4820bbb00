/**
 * The collector doctor: every check, in the order a person would look (sshd, network, connections sshd
 * refused, then per upload account: sshd settings, account, chroot, keys, live probe, logs).
 *
 * At a fleet's scale (a hundred accounts) the per-account work runs side by side, bounded: the reads and
 * tree walks FILE_WORK at a time, the live probes a few at a time (probesAtOnce: each is an SSH connection,
 * unauthenticated for its first moments, and sshd's MaxStartups refuses such connections from its start
 * value on, 10 by default: cameras uploading meanwhile must still get in). sshd's log is read once, after
 * every probe. The checks come out in the accounts' order whatever order the work ended in.
 *
 * Above PROBE_ALL_UP_TO accounts the live probe is sampled (`--probe-all` probes every one): each login is a
 * key exchange, some 60 ms of CPU on a small machine, so a hundred of them made doctor over a hundred accounts
 * more than 20 times doctor over one. See probeGroup (live.ts) for why a sampled account loses nothing its
 * own files do not show.
 */
import { limiter } from '../bounded.js';
import { PROBE_KEYS_DIR, probeKey, type DirStamp, type ProbeKey, type StartedProbe } from '../system/probe.js';
import { dirTimeNs, restoreDirTimes } from '../system/safe-fs.js';
import { readSshdLog } from '../system/sshd-log.js';
import { accountChecks } from './account.js';
import { caChecks } from './ca.js';
import { collectorEnvCheck } from './collector-env.js';
import { chrootChecks, requiredDirs } from './chroot.js';
import { mountChecks } from './mount.js';
import { skip, type DoctorCheck } from './check.js';
import { readCollector, type CollectorContext, type UploadAccount } from './collector-context.js';
import { dropChecks } from './drops.js';
import { keysChecks, readKeyFiles } from './keys.js';
import { liveChecks, probeGroup, probeSkipped, REFUSAL_IDS, settingsKey, startLiveProbe } from './live.js';
import { logChecks, sharedLines } from './logs.js';
import { maxStartupsCheck } from './max-startups.js';
import { firewallCheck, listeningCheck } from './network.js';
import { sshdAccountChecks, sshdChecks } from './sshd.js';
import { treeChecks } from './tree.js';
import { walkUploadTree, type UploadTree } from '../collector/upload-tree.js';
import { watchCheck } from './watch.js';
import { readWatchState } from '../system/watch-state.js';

/** Accounts whose files are read and trees walked at once. */
export const FILE_WORK = 8;
/**
 * Live probes at once: half of the unauthenticated connections sshd takes before MaxStartups starts
 * refusing (its start value, "10" of the default 10:30:100), between 2 and 8. A probe spends most of its
 * time waiting for sshd (a new process per connection, PAM, the chroot), so more at once is faster, up to
 * what two to four cores can run.
 */
export function probesAtOnce(maxStartups: string | undefined): number {
  const start = Number(/^(\d+)/.exec(maxStartups ?? '')?.[1] ?? 10);
  return Math.min(8, Math.max(2, Math.floor(start / 2)));
}

/** Fleets up to this many accounts get a live probe of every account; above it the probe is sampled. */
export const PROBE_ALL_UP_TO = 8;

export interface CollectorReport {
  ctx: CollectorContext;
  checks: DoctorCheck[];
  dirs: Map<string, string[]>;
}

export async function collectorDoctor(opts: { user?: string; probe: boolean; probeAll?: boolean; collectorEnv?: string }): Promise<CollectorReport> {
  const ctx = await readCollector(opts.user);
  const checks = sshdChecks(ctx);
  const dirs = new Map<string, string[]>();
  if (!ctx.installed) return { ctx, checks, dirs };
  const probing = opts.probe && ctx.running && ctx.accounts.length > 0;
  // One account (the usual collector): its probe's connection opens while the checks below read its files.
  // Being the only probe, it puts back the times it changes itself, while its connection closes.
  let early = probing && ctx.accounts.length === 1 ? startLiveProbe(ctx.accounts[0]!, { probe: opts.probe, running: ctx.running }) : undefined;
  // A fleet's probes put back the directory times they change once they are all done, in one go: the probe
  // keys' directory (which every probe writes to) and each tree's (the first time saved for a directory is
  // the one from before any probe).
  const keysDirTime = probing && !early ? await dirTimeNs(PROBE_KEYS_DIR, '').catch(() => null) : null;
  const times: DirStamp[] = keysDirTime === null ? [] : [{ root: PROBE_KEYS_DIR, rel: '', mtimeNs: keysDirTime }];
  // Its few steps first, so that they do not queue behind the checks' file reads.
  await early?.then((p) => p.connecting, () => {});
  let perAccount: AccountResult[];
  let key: (ProbeKey & { dispose(): Promise<void> }) | undefined;
  try {
    const ports = [...new Set(ctx.accounts.flatMap((a) => (a.eff?.get('port') ?? []).map(Number)))];
    const port = ports[0] ?? 22;
    const [listen, fw] = await Promise.all([listeningCheck(ports.length ? ports : [22], ctx.running), firewallCheck(port)]);
    checks.push(listen, fw);
    checks.push(maxStartupsCheck(ctx));
    if (ctx.accounts.length === 0) {
      checks.push(skip('account.exists', 'upload accounts', 'no Match block with ChrootDirectory and ForceCommand internal-sftp found; create one with: sudo sftp-setup init'));
      return { ctx, checks, dirs };
    }
    // And one temporary key serves them all.
    key = probing && ctx.accounts.length > 1 ? await probeKey().catch(() => undefined) : undefined;
    const sample = !opts.probeAll && ctx.accounts.length > PROBE_ALL_UP_TO;
    // checkAccounts finishes or cancels the early probe.
    const handed = early;
    early = undefined;
    perAccount = await checkAccounts(ctx, { probe: opts.probe, sample, key, times, early: handed });
  } finally {
    if (early) await early.then((p) => p.cancel(), () => {});
    await key?.dispose().catch(() => {});
    const first = new Map<string, DirStamp>();
    for (const t of times) if (!first.has(`${t.root}\0${t.rel}`)) first.set(`${t.root}\0${t.rel}`, t);
    await restoreDirTimes([...first.values()]).catch(() => {});
  }
  // Read after the probes, so that the log holds their lines too.
  const eff = ctx.accounts.find((a) => a.eff)?.eff;
  const log = await readSshdLog({ pidFile: eff?.get('pidfile')?.[0] });
  const raw = log?.lines.map((l) => l.raw);
  const shared = raw && perAccount.length > 1 ? sharedLines(raw) : undefined;
  checks.push(...dropChecks(log, {
    version: ctx.version,
    maxStartups: eff?.get('maxstartups')?.[0],
    perSourcePenalties: eff?.get('persourcepenalties')?.join(' '),
    users: ctx.accounts.map((a) => a.user),
  }));
  for (const { a, want, fileChecks, live } of perAccount) {
    dirs.set(a.user, want);
    checks.push(...fileChecks, ...live, ...logChecks(a.user, log?.source, raw, a.eff?.get('persourcepenalties')?.[0], shared));
    checks.push(watchCheck(a.user, await readWatchState(a.user)));
  }
  checks.push(...(await caChecks(ctx.accounts)));
  if (opts.collectorEnv) checks.push(await collectorEnvCheck(opts.collectorEnv, ctx.accounts));
  return { ctx, checks, dirs };
}

interface AccountResult {
  a: UploadAccount;
  /** the upload directories the probe tested */
  want: string[];
  fileChecks: DoctorCheck[];
  live: DoctorCheck[];
}

/** A promise and its resolve, for waits between accounts (resolving twice keeps the first value). */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Every account's file checks and live probe, side by side and bounded; in the accounts' order.
 *
 * What an account must be refused (a shell, forwarding, /etc …) follows from its sshd settings alone: it is
 * tested live once for each set of settings, by the first account in order that has them and gets probed,
 * and the others' probes test their own login, chroot and directories. Accounts that share a chroot are
 * probed one after the other (each probe puts the tree's times back). An account only ever waits for one
 * earlier in the order, so nothing waits in a circle.
 */
async function checkAccounts(
  ctx: CollectorContext, opts: { probe: boolean; sample: boolean; key?: ProbeKey; times: DirStamp[]; early?: Promise<StartedProbe> },
): Promise<AccountResult[]> {
  const files = limiter(FILE_WORK);
  const probes = limiter(probesAtOnce(ctx.accounts.find((a) => a.eff)?.eff?.get('maxstartups')?.[0]));
  const settings = ctx.accounts.map(settingsKey);
  /** resolves to true once the account's probe has tested the refusals, false when it did not */
  const tested = ctx.accounts.map(() => deferred<boolean>());
  const probed = ctx.accounts.map(() => deferred<void>());
  /** the account's probe group (probeGroup), known once its files are read */
  const groups = ctx.accounts.map(() => deferred<string | undefined>());
  /** resolves to true once the account's live probe passed every check, so that it stands for its group */
  const stands = ctx.accounts.map(() => deferred<boolean>());
  const sameChrootBefore = ctx.accounts.map((a, i) => {
    for (let j = i - 1; j >= 0; j--) if (a.chroot !== undefined && ctx.accounts[j]!.chroot === a.chroot) return j;
    return -1;
  });
  return Promise.all(ctx.accounts.map(async (a, i): Promise<AccountResult> => {
    // The probe started ahead for the only account (collectorDoctor).
    const early = i === 0 ? opts.early : undefined;
    let finished = false;
    try {
      const { fileChecks, want, group } = await files(() => accountFileChecks(ctx, a));
      // An account whose files fail a check is always probed: the live session shows what that does.
      groups[i]!.resolve(fileChecks.some((c) => c.status === 'fail') ? undefined : group);
      // sshd refuses a bad chroot after login: the probe would only repeat that, slowly.
      const refused = fileChecks.find((c) => c.id === 'chroot.components' && c.status === 'fail');
      const liveOpts = {
        probe: opts.probe, running: ctx.running, blocked: refused ? 'sshd would refuse the chroot (see above)' : undefined,
        times: opts.times, key: opts.key,
      };
      if (probeSkipped(a, liveOpts)) return { a, want, fileChecks, live: await liveChecks(a, want, liveOpts) };
      // A sample stands for its group only while it passes: when it fails, the next account of the group is
      // probed itself.
      const mine = opts.sample ? await groups[i]!.promise : undefined;
      const by = mine === undefined ? undefined : await firstEarlier(i, async (j) => (await groups[j]!.promise) === mine, stands);
      if (by !== undefined) return { a, want, fileChecks, live: [sampledOut(a.user, ctx.accounts[by]!.user)] };
      if (sameChrootBefore[i]! >= 0) await probed[sameChrootBefore[i]!]!.promise;
      const testedBy = settings[i] === undefined ? undefined : await firstEarlier(i, (j) => settings[j] === settings[i], tested);
      finished = early !== undefined && testedBy === undefined;
      const live = await probes(() => liveChecks(a, want, {
        ...liveOpts, refusalsTestedBy: testedBy === undefined ? undefined : ctx.accounts[testedBy]!.user, started: finished ? early : undefined,
      }));
      tested[i]!.resolve(!testedBy && live.some((c) => REFUSAL_IDS.includes(c.id)));
      stands[i]!.resolve(live.length > 0 && live.every((c) => c.status === 'pass' || c.id === 'probe.refusals'));
      return { a, want, fileChecks, live };
    } finally {
      if (early && !finished) await early.then((p) => p.cancel(), () => {});
      groups[i]!.resolve(undefined);
      tested[i]!.resolve(false);
      stands[i]!.resolve(false);
      probed[i]!.resolve();
    }
  }));
}

/**
 * The first account before `i` that is `alike` it and whose `done` resolved true, if any. Only earlier
 * accounts are asked, so nothing waits in a circle.
 */
async function firstEarlier(
  i: number, alike: (j: number) => boolean | Promise<boolean>, done: Array<{ promise: Promise<boolean> }>,
): Promise<number | undefined> {
  for (let j = 0; j < i; j++) if ((await alike(j)) && (await done[j]!.promise)) return j;
  return undefined;
}

function sampledOut(user: string, by: string): DoctorCheck {
  return skip('probe.login', `live SFTP session as ${user}`,
    `sampled: ${by} has the same sshd settings, profile and upload filesystems, and its live probe passed; this account's own files were checked (--probe-all probes every account)`,
    { user });
}

/** What one account's files say: one walk of the upload tree (no link followed) gives both the directories to test and the tree checks. */
async function accountFileChecks(ctx: CollectorContext, a: UploadAccount): Promise<{ fileChecks: DoctorCheck[]; want: string[]; group?: string }> {
  let tree: UploadTree | undefined;
  let treeError: string | undefined;
  if (a.chroot) {
    tree = await walkUploadTree(a.chroot).catch((e: NodeJS.ErrnoException) => {
      treeError = `the chroot ${a.chroot} cannot be walked (${e.code ?? e.message})`;
      return undefined;
    });
  }
  const want = requiredDirs(a, tree);
  const [chroot, mount, keys] = await Promise.all([chrootChecks(a, want), mountChecks(a), readKeyFiles(a).then((f) => keysChecks(a, f))]);
  const fileChecks = [
    ...sshdAccountChecks(ctx, a),
    ...accountChecks(a),
    ...chroot,
    ...treeChecks(a.user, a.account?.uid, tree, treeError),
    ...mount,
    ...keys,
  ];
  return { fileChecks, want, group: probeGroup(a, want, tree) };
}

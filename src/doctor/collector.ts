/**
 * The collector doctor: every check, in the order a person would look (sshd, network, then per upload
 * account: sshd settings, account, chroot, keys, live probe, logs).
 */
import { run } from '../system/exec.js';
import { readTail } from '../system/files.js';
import { systemdRuns } from '../system/sshd.js';
import { accountChecks } from './account.js';
import { caChecks } from './ca.js';
import { collectorEnvCheck } from './collector-env.js';
import { chrootChecks, requiredDirs } from './chroot.js';
import { mountChecks } from './mount.js';
import { skip, type DoctorCheck } from './check.js';
import { readCollector, type CollectorContext } from './collector-context.js';
import { keysChecks, readKeyFiles } from './keys.js';
import { liveChecks } from './live.js';
import { logChecks } from './logs.js';
import { maxStartupsCheck } from './max-startups.js';
import { firewallCheck, listeningCheck } from './network.js';
import { sshdAccountChecks, sshdChecks } from './sshd.js';
import { treeChecks, walkUploadTree, type UploadTree } from './tree.js';
import { watchCheck } from './watch.js';
import { readWatchState } from '../system/watch-state.js';

const LOG_TAIL = 512 * 1024;

/** The last lines of sshd's log: the journal where systemd runs, else /var/log/auth.log. */
export async function readSshdLog(): Promise<{ source?: string; lines?: string[] }> {
  if (systemdRuns()) {
    const r = await run('journalctl', ['-u', 'ssh', '-u', 'sshd', '--no-pager', '-o', 'cat', '-n', '3000']).catch(() => undefined);
    if (r && r.exitCode === 0 && r.stdout.trim()) return { source: 'journalctl -u ssh', lines: r.stdout.split('\n') };
  }
  try {
    const text = await readTail('/var/log/auth.log', LOG_TAIL);
    return { source: '/var/log/auth.log', lines: text.split('\n') };
  } catch {
    return {};
  }
}

export interface CollectorReport {
  ctx: CollectorContext;
  checks: DoctorCheck[];
  dirs: Map<string, string[]>;
}

export async function collectorDoctor(opts: { user?: string; probe: boolean; collectorEnv?: string }): Promise<CollectorReport> {
  const ctx = await readCollector(opts.user);
  const checks = sshdChecks(ctx);
  const dirs = new Map<string, string[]>();
  if (!ctx.installed) return { ctx, checks, dirs };
  const ports = [...new Set(ctx.accounts.flatMap((a) => (a.eff?.get('port') ?? []).map(Number)))];
  const port = ports[0] ?? 22;
  const [listen, fw] = await Promise.all([listeningCheck(ports.length ? ports : [22], ctx.running), firewallCheck(port)]);
  checks.push(listen, fw);
  checks.push(maxStartupsCheck(ctx));
  if (ctx.accounts.length === 0) {
    checks.push(skip('account.exists', 'upload accounts', 'no Match block with ChrootDirectory and ForceCommand internal-sftp found; create one with: sudo sftp-setup init'));
    return { ctx, checks, dirs };
  }
  for (const a of ctx.accounts) {
    // One walk of the upload tree (no link followed) gives both the directories to test and the tree checks.
    let tree: UploadTree | undefined;
    let treeError: string | undefined;
    if (a.chroot) {
      tree = await walkUploadTree(a.chroot).catch((e: NodeJS.ErrnoException) => {
        treeError = `the chroot ${a.chroot} cannot be walked (${e.code ?? e.message})`;
        return undefined;
      });
    }
    const want = requiredDirs(a, tree);
    dirs.set(a.user, want);
    const fileChecks = [
      ...sshdAccountChecks(ctx, a),
      ...accountChecks(a),
      ...(await chrootChecks(a, want)),
      ...treeChecks(a.user, a.account?.uid, tree, treeError),
      ...(await mountChecks(a)),
      ...(await keysChecks(a, await readKeyFiles(a))),
    ];
    // sshd refuses a bad chroot after login: the probe would only repeat that, slowly.
    const refused = fileChecks.find((c) => c.id === 'chroot.components' && c.status === 'fail');
    const live = await liveChecks(a, want, { probe: opts.probe, running: ctx.running, blocked: refused ? 'sshd would refuse the chroot (see above)' : undefined });
    // Read after the probe, so that the log holds its lines too.
    const log = await readSshdLog();
    checks.push(...fileChecks, ...live, ...logChecks(a.user, log.source, log.lines, a.eff?.get('persourcepenalties')?.[0]));
    checks.push(watchCheck(a.user, await readWatchState(a.user)));
  }
  checks.push(...(await caChecks(ctx.accounts)));
  if (opts.collectorEnv) checks.push(await collectorEnvCheck(opts.collectorEnv, ctx.accounts));
  return { ctx, checks, dirs };
}

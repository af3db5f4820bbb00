/**
 * `doctor --fix` on the collector: the fixes that are safe to automate, through the same plan and apply
 * code as `init` (lock, journal with backups, sshd -t before reload, rollback). The spec is rebuilt from
 * what exists: the account, its chroot, the upload directories it has plus Allsky's, its profile. Only
 * accounts whose Match block sftp-setup manages are fixed this way; a hand-made one gets the adopt command.
 */
import { BACKUP_ROOT, LOCK_PATH } from '../collector/layout.js';
import { buildCollectorPlan, type CollectorSpec } from '../collector/plan.js';
import { logsUploads } from '../collector/devlog.js';
import { readSshdState } from '../collector/inspect.js';
import { applyPlan } from '../plan/apply.js';
import type { Step, StepReport } from '../plan/step.js';
import { FailError } from '../errors.js';
import { backupDirFor, Journal } from '../system/files.js';
import { cleanStaleProbe } from '../system/probe.js';
import { chmodAt } from '../system/safe-fs.js';
import { SSHD, startSshd, systemdRuns } from '../system/sshd.js';
import { modeToReset } from './tree.js';
import { walkUploadTree } from '../collector/upload-tree.js';
import { shownPath } from '../text/printable.js';
import type { DoctorCheck } from './check.js';
import type { CollectorReport } from './collector.js';

export interface FixOutcome {
  user?: string;
  action: string;
  status: 'changed' | 'would-change' | 'unchanged' | 'failed' | 'manual';
  steps?: StepReport[];
  error?: string;
}

const NEEDS_SSHD = new Set(['sshd.running']);
// Fixed only on request (init --protect-mount changes /etc/fstab and the mounts): doctor prints the command.
const MANUAL = new Set(['chroot.mount']);

export async function fixCollector(
  report: CollectorReport,
  opts: { dryRun: boolean; collectorEnv?: string; onStep?: (r: StepReport) => void },
): Promise<FixOutcome[]> {
  const out: FixOutcome[] = [];
  const bad = (c: DoctorCheck) => (c.status === 'fail' || c.status === 'warn') && !MANUAL.has(c.id);
  const { ctx, checks } = report;
  if (checks.some((c) => NEEDS_SSHD.has(c.id) && bad(c))) {
    const action = systemdRuns() ? 'start sshd: systemctl start ssh' : `start sshd: ${SSHD}`;
    if (opts.dryRun) out.push({ action, status: 'would-change' });
    else {
      try {
        await startSshd();
        out.push({ action, status: 'changed' });
      } catch (e) {
        out.push({ action, status: 'failed', error: (e as Error).message });
      }
    }
  }

  // A wrong ALLSKY_IMAGE_PATH is fixed by the first account init manages, as `init --collector-env` would.
  let envFix = Boolean(opts.collectorEnv) && checks.some((c) => c.id === 'collector-env.image-path' && c.status === 'fail');
  for (const a of ctx.accounts) {
    const mine = checks.filter((c) => c.user === a.user && bad(c));
    const managed = Boolean(a.block?.managed && a.chroot && a.account);
    const withEnv = envFix && managed;
    if (mine.length === 0 && !withEnv) continue;
    if (!a.block || !a.block.managed || !a.chroot || !a.account) {
      out.push({ user: a.user, action: `sudo sftp-setup init --adopt --user ${a.user}${a.chroot ? ` --root ${a.chroot}` : ''}`, status: 'manual', error: 'the account was not set up by sftp-setup: review and run the adopt command' });
      continue;
    }
    const spec: CollectorSpec = {
      user: a.user, root: a.chroot, dirs: report.dirs.get(a.user) ?? [], keys: [],
      profile: a.profile === 'dropbox' ? 'dropbox' : 'allsky', adopt: true,
      // The block is rendered anew: upload logging stays as it is.
      log: logsUploads(a.eff?.get('forcecommand')?.join(' ')),
      ...(withEnv ? { collectorEnv: opts.collectorEnv } : {}),
    };
    if (withEnv) envFix = false;
    out.push(await applySpec(spec, opts));
  }
  return out;
}

async function applySpec(spec: CollectorSpec, opts: { dryRun: boolean; onStep?: (r: StepReport) => void }): Promise<FixOutcome> {
  const action = `the init plan for ${spec.user} (${spec.root})`;
  const steps: StepReport[] = [];
  const run = (subject: string, build: (journal: Journal) => Promise<Step[]>) => {
    const journal = new Journal(backupDirFor(BACKUP_ROOT));
    return applyPlan({
      subject, doing: 'Fixing', already: 'right', done: 'Fixed.', lockPath: LOCK_PATH, journal, steps: () => build(journal),
      // doctor --fix is itself the confirmation, and doctor prints its own report.
      dryRun: opts.dryRun, yes: true, json: false,
      out: (line) => void line,
      onReport: (r) => {
        steps.push(r);
        opts.onStep?.(r);
      },
    });
  };
  try {
    // Dangerous modes first, on their own: whatever the init plan then refuses (a link in the tree makes
    // it refuse) or rolls back, no set-uid file stays. A mode taken away is never given back.
    await run(`the modes in ${spec.root}`, async () => [treeModesStep(spec.root)]);
    await run(action, async (journal) => {
      // Holding the lock, anything a crashed probe left behind is stale.
      if (!opts.dryRun) await cleanStaleProbe(spec.user, spec.root, spec.dirs);
      return (await buildCollectorPlan(spec, await readSshdState(), journal)).steps;
    });
    const status = steps.some((s) => s.status === 'changed') ? 'changed' : steps.some((s) => s.status === 'would-change') ? 'would-change' : 'unchanged';
    return { user: spec.user, action, status, steps };
  } catch (err) {
    const e = err as Error & { fix?: string };
    return { user: spec.user, action, status: 'failed', steps, error: `${e.message}${e.fix ? ` — fix: ${e.fix}` : ''}` };
  }
}

/**
 * Reset dangerous modes in the upload tree (tree.modes): directories to 0755, files lose set-uid, set-gid,
 * sticky and group/world write. Each entry is changed through its own descriptor, only if it is still
 * the entry the walk saw (system/safe-fs chmodAt): no link is followed, no other filesystem entered.
 * Links and special files are left alone (tree.entries reports them).
 */
export function treeModesStep(root: string): Step {
  return {
    id: 'tree-modes',
    title: `no set-uid, set-gid, sticky or group/world-writable entries in ${root}`,
    async check() {
      const tree = await walkUploadTree(root).catch(() => undefined);
      const todo = tree?.entries.filter((e) => modeToReset(e) !== null) ?? [];
      if (todo.length === 0) return null;
      const named = todo.slice(0, 5).map((e) => `${shownPath(e.rel)} ${e.mode.toString(8).padStart(4, '0')} -> ${modeToReset(e)!.toString(8).padStart(4, '0')}`);
      return { summary: `reset ${todo.length} mode(s): ${named.join(', ')}${todo.length > 5 ? `, … and ${todo.length - 5} more` : ''}` };
    },
    async apply() {
      const missed: string[] = [];
      await walkUploadTree(root, async (e, dir, name) => {
        const mode = modeToReset(e);
        if (mode !== null && !(await chmodAt(dir, name, e, mode))) missed.push(shownPath(e.rel));
      });
      if (missed.length) {
        throw new FailError(`the mode of ${missed.length} entr${missed.length === 1 ? 'y' : 'ies'} in ${root} changed under us and was left: ${missed.slice(0, 5).join(', ')}`, 'run sudo sftp-setup doctor --fix again');
      }
    },
  };
}

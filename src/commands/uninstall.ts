/**
 * `sftp-setup uninstall`: remove exactly what init created for one account — its Match block, its keys file,
 * the account — and, only with --purge, the chroot tree with the uploads.
 */
import chalk from 'chalk';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { FailError, UsageError } from '../errors.js';
import { BACKUP_ROOT, KEYS_DIR, LOCK_PATH, keysFileFor } from '../collector/layout.js';
import { readSshdState } from '../collector/inspect.js';
import { unifiedDiff } from '../plan/diff.js';
import { PlanFailed, runPlan } from '../plan/runner.js';
import type { Step, StepReport } from '../plan/step.js';
import { dropinFileName, findMarkedBlock, removeMarkedBlock } from '../sshd/placement.js';
import { formatStep, printJson } from '../report.js';
import { deleteAccount, getAccount } from '../system/accounts.js';
import { acquireLock, backupDirFor, Journal, readText, statPath } from '../system/files.js';
import { unprotectMountStep } from '../collector/mount-step.js';
import { isRunning, reload, testConfig } from '../system/sshd.js';
import { validateUserName } from '../validate.js';
import { confirm } from '../prompt.js';

export interface UninstallOptions {
  user: string;
  purge: boolean;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
}

export async function uninstallCommand(o: UninstallOptions): Promise<number> {
  const user = validateUserName(o.user, '--user');
  if (process.getuid?.() !== 0) throw new UsageError('uninstall changes accounts and sshd: it must run as root', 'run it with sudo');
  const out = (s: string) => !o.json && process.stdout.write(s + '\n');
  const sshd = await readSshdState();
  const dropins = sshd.directives.map((d) => d.file).filter((f, i, all) => all.indexOf(f) === i && f.endsWith('/' + dropinFileName(user)));
  const inMain = findMarkedBlock(sshd.mainText, user) !== null;
  const account = await getAccount(user);
  if (!dropins.length && !inMain && !(await readText(keysFileFor(user)))) {
    if (!account) {
      // Already gone: removing twice is not an error.
      if (o.json) printJson({ ok: true, dryRun: o.dryRun, steps: [], note: `no upload account ${user} here` });
      else out(`Nothing to remove: there is no upload account ${user} made by sftp-setup here.`);
      if (!o.dryRun) {
        // A run killed after its last step converges here: its stale lock is taken over, empty key dirs go.
        const release = await acquireLock(LOCK_PATH);
        for (const dir of [KEYS_DIR, dirname(KEYS_DIR)]) await fs.rmdir(dir).catch(() => {});
        await release();
      }
      return 0;
    }
  }
  const release = o.dryRun ? async () => {} : await acquireLock(LOCK_PATH);
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  let sshdTouched = false;
  let reports: StepReport[] = [];
  const steps: Step[] = [];
  const chroot = account?.home;

  steps.push({
    id: 'sshd-config',
    title: `Match block for ${user}`,
    async check() {
      const parts: string[] = [];
      let diff = '';
      for (const f of dropins) {
        parts.push(`remove ${f}`);
        diff += unifiedDiff((await readText(f)) ?? '', '', f);
      }
      if (inMain) {
        parts.push(`remove the marked block from ${sshd.mainPath}`);
        diff += unifiedDiff(sshd.mainText, removeMarkedBlock(sshd.mainText, user).text, sshd.mainPath);
      }
      return parts.length ? { summary: parts.join(', '), diff } : null;
    },
    async apply() {
      sshdTouched = true;
      for (const f of dropins) await journal.remove(f);
      if (inMain) {
        const real = await fs.realpath(sshd.mainPath);
        const info = (await statPath(real))!;
        await journal.writeAtomic(real, removeMarkedBlock(sshd.mainText, user).text, info);
      }
      const t = await testConfig();
      if (!t.ok) throw new FailError(`sshd rejects the configuration without the block: ${t.message}`);
      if (await isRunning()) await reload();
    },
  });
  steps.push({
    id: 'keys',
    title: `keys file ${keysFileFor(user)}`,
    async check() {
      return (await statPath(keysFileFor(user))) ? { summary: 'remove (backed up)' } : null;
    },
    async apply() {
      await journal.remove(keysFileFor(user));
    },
  });
  steps.push({
    id: 'account',
    title: `account ${user}`,
    async check() {
      return (await getAccount(user)) ? { summary: 'delete the account (its files stay)' } : null;
    },
    async apply() {
      await journal.record('/etc/passwd');
      await journal.record('/etc/shadow');
      await journal.record('/etc/group');
      await journal.record('/etc/gshadow');
      await deleteAccount(user);
    },
  });
  // What init --protect-mount added (fstab lines, the bind mount): before a purge, which cannot remove a
  // mount point, and without one, since nothing of ours should stay in /etc/fstab.
  if (chroot && chroot !== '/') steps.push(unprotectMountStep(chroot, journal));
  if (o.purge && chroot && chroot !== '/') {
    steps.push({
      id: 'purge',
      title: `chroot tree ${chroot} and every uploaded file`,
      async check() {
        return (await statPath(chroot)) ? { summary: `delete ${chroot} recursively (no backup)` } : null;
      },
      async apply() {
        await fs.rm(chroot, { recursive: true, force: true });
      },
    });
  }

  try {
    out(chalk.bold(`${o.dryRun ? 'Plan (dry run, nothing will change)' : 'Removing'} upload account ${user}`));
    if (!o.dryRun && !o.yes && process.stdin.isTTY) {
      const preview = (await runPlan(steps, { dryRun: true })).filter((r) => r.status === 'would-change');
      for (const r of preview) out(formatStep(r, true));
      if (preview.length && !(await confirm('Apply these changes?'))) return 1;
    }
    reports = await runPlan(steps, { dryRun: o.dryRun, onReport: (r) => out(formatStep(r, o.dryRun)) });
    // init made these directories for the keys files; the last account's uninstall takes them away.
    if (!o.dryRun) for (const dir of [KEYS_DIR, dirname(KEYS_DIR)]) await fs.rmdir(dir).catch(() => {});
    if (!o.purge && chroot && !o.dryRun) out(chalk.dim(`Uploaded files stay in ${chroot}; --purge deletes them.`));
    if (o.json) printJson({ ok: true, dryRun: o.dryRun, steps: reports });
    return 0;
  } catch (err) {
    if (err instanceof PlanFailed) reports = err.reports;
    const problems = o.dryRun ? [] : await journal.rollback();
    if (sshdTouched && (await isRunning())) await reload().catch((e) => problems.push((e as Error).message));
    const cause = err instanceof PlanFailed ? err.failure : err;
    if (o.json) printJson({ ok: false, steps: reports, error: (cause as Error).message, rollbackProblems: problems });
    throw cause;
  } finally {
    await release();
  }
}

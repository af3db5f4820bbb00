/**
 * `sftp-setup uninstall`: remove exactly what init created for one account — its Match block, its keys file,
 * the account — and, only with --purge, the chroot tree with the uploads. Every certificate the CA issued for
 * the account's name goes into the KRL first, so that a later account of that name accepts none of them.
 */
import { paint } from '../text/color.js';
import { dirname } from 'node:path';
import { FailError, requireRoot, UsageError } from '../errors.js';
import { BACKUP_ROOT, CA, KEYS_DIR, LOCK_PATH, keysFileFor, principalsFileFor } from '../collector/layout.js';
import { readSshdState, type SshdState } from '../collector/inspect.js';
import { unifiedDiff } from '../plan/diff.js';
import { applyPlan } from '../plan/apply.js';
import type { Step, StepReport } from '../plan/step.js';
import { EXIT } from '../exit-codes.js';
import { removeMarkedBlock } from '../sshd/placement.js';
import { managedBlocksFrom, type ManagedBlock } from '../collector/managed.js';
import { accountNotOurs, purgeProblem } from '../collector/root-rules.js';
import { chrootProblem } from '../collector/inspect.js';
import { removeTree, rmdirBeneath } from '../system/safe-fs.js';
import { printJson } from '../report.js';
import { printable } from '../text/printable.js';
import { deleteAccount, getAccount, listAccounts } from '../system/accounts.js';
import { acquireLock, backupDirFor, Journal, readText, resolveLinks, statPath } from '../system/files.js';
import { unprotectMountStep } from '../collector/mount-step.js';
import { buildLimitsStep } from '../collector/limits-step.js';
import { devLogOffStep } from '../collector/devlog-step.js';
import { uninstallSteps as watchUninstallSteps } from '../watch/service-plan.js';
import { isRunning, reload, reloadIfRunning, rememberSshdVersion, testConfig } from '../system/sshd.js';
import { removeStaleRunScratch } from '../system/run-scratch.js';
import { endProcesses, processesOfUid } from '../system/proc.js';
import { validateUserName } from '../validate.js';
import { leftUploadsLine } from '../collector/uids.js';
import { readRetired, recordRetired } from '../system/upload-uids.js';
import { accountCertificatesStep, type RevocationTally } from '../collector/revocation.js';
import { writeOut } from '../system/stdout.js';

export interface UninstallOptions {
  user: string;
  purge: boolean;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
}

export async function uninstallCommand(o: UninstallOptions): Promise<number> {
  const user = validateUserName(o.user, '--user');
  requireRoot('uninstall changes accounts and sshd');
  const out = (s: string) => !o.json && writeOut(s + '\n');
  const sshd = await readSshdState();
  // Proof that sftp-setup manages the account comes from its own markers only: our Match block (a drop-in
  // sshd reads, or the marked block in the main file) and our keys file outside the chroot.
  const blocks = managedBlocksFrom(sshd.mainPath, sshd.mainText, sshd.directives);
  const mine = blocks.filter((b) => b.user === user);
  const keysFile = await statPath(keysFileFor(user));
  const account = await getAccount(user);
  if (!mine.length && !keysFile) {
    if (account) {
      throw new UsageError(
        `${user} is not an upload account made by sftp-setup (sshd has no sftp-setup Match block for it and there is no ${keysFileFor(user)}); nothing was changed`,
        'uninstall removes only accounts that init created or adopted; remove another account with the system\'s own tools (userdel)',
      );
    }
    return alreadyGone(user, o, out);
  }
  // The tree init made is the ChrootDirectory of our block, never the account's home field.
  const chroot = mine.map((b) => b.chroot).find((c) => c !== undefined);
  if (account) {
    const problems = accountNotOurs(account, chroot);
    if (problems.length) {
      throw new UsageError(
        `account ${user} does not look like an upload account sftp-setup made (${problems.join(', ')}); nothing was changed`,
        `if it is one, run sudo sftp-setup init --adopt --user ${user}${chroot ? ` --root ${chroot}` : ''} first; otherwise remove sftp-setup's leftovers for it by hand`,
      );
    }
  }
  if (o.purge && chroot) await refuseUnsafePurge(user, chroot, blocks);

  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  let purged: { removed: number; skipped: string[] } | undefined;
  const tally: RevocationTally = { pending: [], revoked: [] };
  const applied = await applyPlan({
    subject: `upload account ${user}`, doing: 'Removing', already: 'removed', done: 'Removed.',
    lockPath: LOCK_PATH, journal, dryRun: o.dryRun, yes: o.yes, json: o.json, out,
    steps: async () => {
      if (!o.dryRun) await removeStaleRunScratch(['candidate']); // a killed run's, now that we hold the lock
      // Read again under the lock: a run that waited sees what the runs before it changed (blocks, limits).
      const now = o.dryRun ? sshd : await readSshdState();
      const ours = managedBlocksFrom(now.mainPath, now.mainText, now.directives);
      const t = {
        user, sshd: now, chroot,
        dropins: ours.filter((b) => b.user === user && b.file !== now.mainPath).map((b) => b.file),
        inMain: ours.some((b) => b.user === user && b.file === now.mainPath),
        remaining: ours.map((b) => b.user).filter((u) => u !== user),
      };
      // The certificates first: a run killed after this step still has the markers to finish the rest, and one
      // killed later never leaves a certificate valid for the name (a collector without a CA has no step).
      const certs = (await statPath(CA.issued)) ? [accountCertificatesStep(user, journal, tally)] : [];
      return [...certs, ...(await removalSteps(t, o.purge, journal, (r) => (purged = r)))];
    },
  });
  if (applied.declined) return EXIT.failed;
  if (!o.dryRun) await rememberSshdVersion();
  // init made these directories for the keys files; the last account's uninstall takes them away.
  if (!o.dryRun) await removeKeyDirsIfEmpty();
  const sessions = account ? await endOpenSessions(user, account.uid, o.dryRun, out) : 0;
  if (!o.purge && chroot && !o.dryRun) out(leftUploadsLine(printable(chroot), account?.uid ?? (await readRetired()).filter((r) => r.user === user && r.root === chroot).pop()?.uid));
  if (o.purge && !chroot && account) {
    out(paint.yellow(`No sftp-setup Match block names ${user}'s chroot any more: nothing was purged; check ${account.home} by hand.`));
  }
  if (purged?.skipped.length) {
    out(paint.yellow(`Left on other filesystems (mount points are never entered): ${purged.skipped.map((x) => printable(x)).join(', ')}`));
  }
  sayCertificates(user, tally, o.dryRun, out);
  if (o.json) printJson({ ok: true, dryRun: o.dryRun, steps: applied.reports, certificatesRevoked: tally.revoked.length, sessionsEnded: sessions });
  return EXIT.ok;
}

/**
 * A camera that connected before the uninstall keeps its SFTP session: sshd runs it as the account's uid in
 * the chroot, and userdel does not see it (shadow skips processes with another root). End those processes,
 * so that removing an account ends its access at once. Only when no account has that uid any more.
 */
async function endOpenSessions(user: string, uid: number, dryRun: boolean, out: (s: string) => void): Promise<number> {
  if (uid === 0 || (await listAccounts()).some((a) => a.uid === uid && a.name !== user)) return 0;
  const pids = await processesOfUid(uid);
  if (pids.length === 0) return 0;
  const what = (n: number) => `${n} process${n === 1 ? '' : 'es'} of ${user}'s open upload sessions (uid ${uid})`;
  if (dryRun) {
    out(`Would end ${what(pids.length)}.`);
    return pids.length;
  }
  const ended = await endProcesses(pids);
  if (ended.length) out(`Ended ${what(ended.length)}: a camera connected before the uninstall can upload no more.`);
  return ended.length;
}

/** How many certificates of the account went into the KRL (or would, in a dry run). */
function sayCertificates(user: string, tally: RevocationTally, dryRun: boolean, out: (s: string) => void): void {
  const n = dryRun ? tally.pending.length : tally.revoked.length;
  if (n === 0) return;
  const what = n === 1 ? '1 certificate' : `${n} certificates`;
  out(dryRun ? `Would revoke ${what} issued for ${user}.` : `Revoked ${what} issued for ${user}: no later account named ${user} accepts them (sshd reads the KRL at every login; no reload).`);
}

/** No account, block or keys file of ours: removing twice is not an error. */
async function alreadyGone(user: string, o: UninstallOptions, out: (s: string) => void): Promise<number> {
  // Certificates an earlier uninstall left valid are revoked now.
  const leftovers = await revokeLeftovers(user, o, out);
  if (leftovers?.declined) return EXIT.failed;
  if (o.json) printJson({ ok: true, dryRun: o.dryRun, steps: leftovers?.reports ?? [], certificatesRevoked: leftovers?.count ?? 0, note: `no upload account ${user} here` });
  else if (!leftovers) out(`Nothing to remove: there is no upload account ${user} made by sftp-setup here.`);
  if (!o.dryRun) {
    // A run killed after its last step converges here: its stale lock is taken over, empty key dirs go.
    const release = await acquireLock(LOCK_PATH);
    await removeStaleRunScratch(['candidate']);
    await removeKeyDirsIfEmpty();
    await release();
  }
  return EXIT.ok;
}

/**
 * The account is gone, but certificates issued for its name may still be valid (an uninstall from before
 * uninstall revoked them): revoke them through the apply path. undefined when there is nothing to revoke.
 */
async function revokeLeftovers(user: string, o: UninstallOptions, out: (s: string) => void): Promise<{ reports: StepReport[]; count: number; declined: boolean } | undefined> {
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  const tally: RevocationTally = { pending: [], revoked: [] };
  const step = accountCertificatesStep(user, journal, tally);
  if ((await step.check()) === null) return undefined;
  const applied = await applyPlan({
    subject: `the certificates of the removed account ${user}`, doing: 'Revoking', already: 'revoked', done: 'Done.',
    lockPath: LOCK_PATH, journal, dryRun: o.dryRun, yes: o.yes, json: o.json, out, steps: async () => [step],
  });
  if (applied.declined) return { reports: [], count: 0, declined: true };
  sayCertificates(user, tally, o.dryRun, out);
  return { reports: applied.reports, count: tally.revoked.length, declined: false };
}

/**
 * The removal, in order. The account goes first: a run killed after any step leaves the block or the keys
 * file, the markers that let the next run prove the rest is ours and finish.
 */
async function removalSteps(
  t: { user: string; sshd: SshdState; dropins: string[]; inMain: boolean; chroot?: string; remaining: string[] },
  purge: boolean,
  journal: Journal,
  onPurged: (r: { removed: number; skipped: string[] }) => void,
): Promise<Step[]> {
  const { user, sshd, dropins, inMain, chroot } = t;
  // The upload event service of the account (watch --install) first: it would fail without the account.
  const steps: Step[] = [...watchUninstallSteps(user, journal)];

  steps.push({
    id: 'account',
    title: `account ${user}`,
    async check() {
      return (await getAccount(user)) ? { summary: 'delete the account (its files stay)' } : null;
    },
    async apply() {
      // Its uploads stay (without --purge, or on a mount point --purge does not enter): no new account may get its uid.
      const gone = await getAccount(user);
      if (gone) await recordRetired(journal, { uid: gone.uid, gid: gone.gid, user, ...(chroot ? { root: chroot } : {}), at: new Date().toISOString() });
      await journal.record('/etc/passwd');
      await journal.record('/etc/shadow', { accounts: [user] });
      await journal.record('/etc/group');
      await journal.record('/etc/gshadow', { accounts: [user] });
      await deleteAccount(user);
    },
  });
  // The log socket's mount (init --log) sits inside the tree: it goes before the tree's own mount.
  if (chroot) steps.push(devLogOffStep(chroot, journal));
  // What init --protect-mount added (fstab lines, the bind mount), while the block still marks the account
  // as ours: before a purge, which cannot remove a mount point, and without one, since nothing of ours
  // should stay in /etc/fstab.
  if (chroot) steps.push(unprotectMountStep(chroot, journal));
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
      journal.afterRollback('reload sshd', reloadIfRunning);
      for (const f of dropins) await journal.remove(f);
      if (inMain) {
        const real = await resolveLinks(sshd.mainPath);
        const info = (await statPath(real))!;
        await journal.writeAtomic(real, removeMarkedBlock(sshd.mainText, user).text, info);
      }
      const t = await testConfig();
      if (!t.ok) throw new FailError(`sshd rejects the configuration without the block: ${t.message}`);
      if (await isRunning()) await reload();
    },
  });
  // sshd's connection limits follow the accounts that remain (none: our drop-in goes).
  steps.push((await buildLimitsStep({ sshd, journal, users: t.remaining, touched: () => {}, reloadAfter: true })).step);
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
    id: 'principals',
    title: `certificate principals ${principalsFileFor(user)}`,
    async check() {
      return (await statPath(principalsFileFor(user))) ? { summary: 'remove (backed up)' } : null;
    },
    async apply() {
      await journal.remove(principalsFileFor(user));
    },
  });
  if (purge && chroot) {
    steps.push({
      id: 'purge',
      title: `chroot tree ${chroot} and every uploaded file`,
      async check() {
        return (await statPath(chroot)) ? { summary: `delete ${chroot} recursively (no backup; links are removed, never followed)` } : null;
      },
      async apply() {
        onPurged(await removeTree(chroot));
      },
    });
  }

  return steps;
}

/** The directories init made for the keys files, once the last one is gone (never following a link). */
async function removeKeyDirsIfEmpty(): Promise<void> {
  const rel = KEYS_DIR.slice('/etc/ssh/'.length);
  await rmdirBeneath('/etc/ssh', rel);
  await rmdirBeneath('/etc/ssh', dirname(rel));
}

/**
 * --purge deletes the ChrootDirectory of our block: refused, before anything changes, when that is a system
 * directory, someone's home, a tree shared with another upload account, or a path reached through a link.
 */
async function refuseUnsafePurge(user: string, chroot: string, blocks: ManagedBlock[]): Promise<void> {
  const accounts = (await listAccounts()).map((a) => ({ user: a.name, home: a.home }));
  const others = blocks.filter((b): b is ManagedBlock & { chroot: string } => b.chroot !== undefined).map((b) => ({ user: b.user, chroot: b.chroot }));
  const fix = `run without --purge, then remove what you want from ${chroot} by hand`;
  const why = purgeProblem(chroot, accounts, others, user);
  if (why) throw new UsageError(`--purge would delete ${chroot}, the chroot in sftp-setup's Match block for ${user}, but ${why}; nothing was changed`, fix);
  const parent = await chrootProblem(chroot, { includeRoot: false });
  if (parent) throw new UsageError(`--purge would delete ${chroot}, but its path component ${parent.path} ${parent.problem}; nothing was changed`, fix);
  const own = await statPath(chroot);
  if (own && own.type !== 'dir') throw new UsageError(`--purge would delete ${chroot}, but it is a ${own.type === 'symlink' ? 'symbolic link' : 'file'}, not the directory init made; nothing was changed`, fix);
}

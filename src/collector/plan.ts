/**
 * The collector plan: the steps `init` checks and applies, in order. Each step looks at the host in
 * check() and changes it only in apply(), through the journal so that a failure can be rolled back.
 */
import { join } from 'node:path';
import { UsageError, FailError } from '../errors.js';
import { addKey, listKeys, parseAuthorizedKeys } from '../keys/authorized-keys.js';
import { fingerprintOfLine, type ParsedKey } from '../keys/parse.js';
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import { parseConfig } from '../sshd/parse.js';
import { compareEffective, parseEffective } from '../sshd/effective.js';
import { findConflicts } from '../sshd/conflicts.js';
import { findMarkedBlock, globMatch, planPlacement, upsertMarkedBlock, type Placement } from '../sshd/placement.js';
import { loadConfigDetailed } from '../sshd/includes.js';
import { renderMatchBlock, sftpProfileFlags, templateName } from '../sshd/render.js';
import { loadTemplate } from '../templates.js';
import {
  createUploadAccount, deleteAccount, fixUploadAccount, missingAccountPieces, repairAccount, restoreAccount, getAccount, groupsOf, listAccounts, NOLOGIN, passwordField, type Account,
} from '../system/accounts.js';
import {
  ensureDir, fileInfoOf, listDir, readText, removeEmptyDir, removeFile, resolveLinks, statPath, type Journal,
} from '../system/files.js';
import { isPlainDir } from './dirs.js';
import { shownPath } from '../text/printable.js';
import {
  ensureDirBeneath, lstatAt, lstatBeneath, readDirAt, readFileAt, rmdirBeneath, unlinkAt, withDir,
} from '../system/safe-fs.js';
import { effectiveConfig, reload, runningPid, isRunning } from '../system/sshd.js';
import { CA, KEYS_DIR, PROBE_KEYS_PATTERN, keysFileFor, principalsFileFor } from './layout.js';
import { chrootProblem, configIO, type SshdState } from './inspect.js';
import { setEnvVars } from './dotenv.js';
import { foreignEntries, homeProblem, normalizeDir, otherChrootProblem, systemDirProblem } from './root-rules.js';
import { listManagedBlocks, managedBlocksFrom } from './managed.js';
import { freshUploadUid } from '../system/upload-uids.js';
import { buildLimitsStep, confirmLimits } from './limits-step.js';
import { installValidated, RELOAD_PENDING } from './sshd-install.js';
import type { LimitsPlan } from '../sshd/limits.js';
import { refuseBadCollectorEnv } from './env-file.js';
import { caMaterialSteps, principalsStep, trustsUserCa } from './ca-steps.js';
import { refuseOrphanUploads, takeOverStep } from './take-over.js';

export interface CollectorSpec {
  user: string;
  root: string;
  /** every upload directory, parents included, relative to root */
  dirs: string[];
  keys: ParsedKey[];
  from?: string[];
  port?: number;
  profile: 'allsky' | 'dropbox';
  adopt: boolean;
  collectorEnv?: string;
  /** accept camera certificates from the user CA (init --ca): TrustedUserCAKeys, principals, RevokedKeys */
  ca?: boolean;
  /** internal-sftp logs every upload (-l INFO); the log socket in the chroot is devlog-step.ts's */
  log?: boolean;
  /** give uploads in root that no account owns (a removed account's) to this account, instead of refusing */
  takeOverUploads?: boolean;
}

export interface CollectorPlan {
  steps: Step[];
  placement: Placement;
  block: string;
  hostKeyFingerprints: string[];
  /**
   * set by the reload step once it has reloaded and confirmed: its sshd -T -C user=… of the reloaded files
   * (the self-test's target reads it; no later step changes sshd's files)
   */
  reloaded: { effective?: string };
}

const SHELLS_THAT_DENY = new Set([NOLOGIN, '/sbin/nologin', '/bin/false', '/usr/bin/false']);
const SKEL_FILES = ['.bashrc', '.profile', '.bash_logout', '.bash_history', '.selected_editor', '.sudo_as_admin_successful'];

/** Keywords of our block that `sshd -T -C user=…` must show with our values. */
const CONFIRMED = [
  'chrootdirectory', 'forcecommand', 'authorizedkeysfile', 'passwordauthentication', 'kbdinteractiveauthentication',
  'pubkeyauthentication', 'allowtcpforwarding', 'x11forwarding', 'permittty',
  // the second line of defence behind each key's `restrict` (issue 9)
  'disableforwarding', 'allowstreamlocalforwarding', 'allowagentforwarding', 'permittunnel', 'permituserrc',
  'permitopen', 'permitlisten',
  // certificates (init --ca): all three are allowed inside Match (sshd_config(5), OpenSSH 9.2 and 10)
  'trustedusercakeys', 'authorizedprincipalsfile', 'revokedkeys',
];

export function renderBlockFor(spec: Pick<CollectorSpec, 'user' | 'root' | 'profile' | 'ca' | 'log'>): string {
  return renderMatchBlock(loadTemplate(templateName), {
    user: spec.user,
    chroot: spec.root,
    authorizedKeysFile: [keysFileFor('%u'), PROBE_KEYS_PATTERN],
    sftpFlags: sftpProfileFlags(spec.profile, spec.log),
    header: `Managed by sftp-setup: upload account ${spec.user}. Change it with "sftp-setup init", not by hand.`,
    // RevokedKeys here, not global: a KRL sshd cannot read refuses every key it applies to, and inside the
    // Match that is only this account's (never the administrator's own login).
    certificates: spec.ca ? { trustedUserCaKeys: `${CA.userKey}.pub`, authorizedPrincipalsFile: principalsFileFor('%u'), revokedKeys: CA.krl } : undefined,
  });
}

/** What sshd -T must print for the user once our block applies, read back from the rendered block. */
export function expectedEffective(block: string): Record<string, string> {
  const want: Record<string, string> = {};
  for (const line of parseConfig(block, 'block')) {
    if (line.keyword && CONFIRMED.includes(line.keyword)) want[line.keyword] = line.args.join(' ');
  }
  return want;
}

/**
 * The refusals that follow from the command line and the host's files alone (the account, --root, the upload
 * directories, a removed account's uploads), nothing changed: init starts them while sshd -T runs. Resolves
 * to the account, null when there is none yet.
 */
export async function refuseBadTarget(spec: CollectorSpec): Promise<Account | null> {
  // Every account's home, for the --root check below: asked for now, while the files are read.
  listAccounts().catch(() => {});
  const account = await getAccount(spec.user);
  await refuseConflictingAccount(spec, account);
  await refuseBadChroot(spec);
  // Checked before any change: refusing half-way would leave a run to roll back.
  if (!spec.adopt && (await statPath(join(spec.root, '.ssh')))?.type === 'dir') {
    throw new UsageError(
      `${join(spec.root, '.ssh')} exists: keys inside the chroot can be rewritten by the upload account`,
      'run again with --adopt to move those keys to a root-owned file outside the chroot',
    );
  }
  // The tree is the upload account's: names reach paths only when plain, and nothing in it is followed.
  const bad = spec.dirs.find((d) => !isPlainDir(d));
  if (bad !== undefined) throw new UsageError(`upload directory ${JSON.stringify(bad)} is not a plain relative name`, 'use names made of letters, digits, ".", "_" and "-"');
  // Every directory looked at side by side (a re-run waits for them all); judged in the order given.
  const infos = await Promise.all(spec.dirs.map((d) => lstatBeneath(spec.root, d).catch(() => 'link' as const)));
  for (const [i, d] of spec.dirs.entries()) {
    const info = infos[i];
    if (info === 'link') {
      throw new UsageError(`a parent of ${join(spec.root, d)} is a symbolic link, not a directory, or on another filesystem`, 'look at it, move it away, then run again');
    }
    if (info && !info.isDirectory()) {
      throw new UsageError(`${join(spec.root, d)} exists and is not a directory`, 'move it away or choose other --dirs');
    }
  }
  // A removed account's uploads: this account would get their directories (take-over.ts).
  await refuseOrphanUploads(spec, account);
  return account;
}

/**
 * The plan for `given`: refused (UsageError, nothing changed) as refuseBadTarget and sshd's configuration say,
 * `target` being refuseBadTarget(given) when the caller started it already.
 */
export async function buildCollectorPlan(
  given: CollectorSpec,
  sshd: SshdState,
  journal: Journal,
  target: Promise<Account | null> = refuseBadTarget(given),
): Promise<CollectorPlan> {
  // An account that accepts certificates keeps doing so when init (or doctor --fix) runs again without --ca.
  const spec = given.ca || !trustsUserCa(sshd.directives, given.user) ? given : { ...given, ca: true };
  const account = await target;

  // Without a global `Subsystem sftp`, sshd refuses every sftp session ("subsystem not found") before
  // ForceCommand applies, and Subsystem is not allowed inside Match on older sshd: refuse, change nothing.
  if (!sshd.directives.some((d) => d.keyword === 'subsystem' && !d.match && d.args[0]?.toLowerCase() === 'sftp')) {
    throw new UsageError(
      `${sshd.mainPath} defines no "Subsystem sftp": sshd would refuse every SFTP session`,
      `add the line "Subsystem sftp /usr/lib/openssh/sftp-server" before any Match block in ${sshd.mainPath}, check with: sudo sshd -t, then run again`,
    );
  }
  const placement = planPlacement({ mainText: sshd.mainText, mainPath: sshd.mainPath, directives: sshd.directives, version: sshd.version, user: spec.user });
  const block = renderBlockFor(spec);
  // Group membership matters only to a `Match Group` somewhere; otherwise spare the look-up (a process).
  const byGroup = sshd.directives.some((d) => d.keyword === 'match' && d.args.some((a) => a.toLowerCase() === 'group'));
  const groups = account && byGroup ? await groupsOf(spec.user) : [spec.user];
  const conflicts = conflictsWithBlockInstalled(spec.user, groups, sshd, placement, block);
  if (conflicts.length > 0) {
    const c = conflicts[0]!;
    throw new UsageError(
      `${c.file} line ${c.match.lineNo} (Match ${c.match.criteria.join(' ')}) already sets ${c.keyword} for ${spec.user} before sftp-setup's block, and sshd uses the first value`,
      `remove or narrow that Match block (line ${c.lineNo}: ${c.raw.trim()}), or choose another --user`,
    );
  }

  const steps: Step[] = [];
  // Where uploads of other (or former) accounts may sit: a new account's uid must own nothing there.
  const uploadRoots = [spec.root, ...managedBlocksFrom(sshd.mainPath, sshd.mainText, sshd.directives).flatMap((b) => (b.chroot ? [b.chroot] : []))];
  steps.push(accountStep(spec, journal, uploadRoots));
  steps.push(chrootStep(spec, journal));
  steps.push(uploadDirsStep(spec, journal));
  if (spec.takeOverUploads) steps.push(takeOverStep(spec, journal));
  steps.push(keysFileStep(spec, journal, account?.home));
  steps.push(cleanupStep(spec, journal));
  // The CA's files, the empty KRL first of all, exist before sshd is told to read them.
  if (spec.ca) steps.push(...caMaterialSteps(journal), principalsStep(spec.user, journal));
  const { step: configStep, touched } = sshdConfigStep(spec, sshd, placement, block, journal);
  steps.push(configStep);
  // Sized for every account we manage once this one is in: the burst grows with each camera.
  const limits = await buildLimitsStep({
    sshd, journal,
    users: [...managedBlocksFrom(sshd.mainPath, sshd.mainText, sshd.directives).map((b) => b.user), spec.user],
    touched: () => {
      touched.value = true;
    },
  });
  steps.push(limits.step);
  const reloaded: CollectorPlan['reloaded'] = {};
  steps.push(reloadStep(spec, block, touched, limits.plan, reloaded));
  if (spec.collectorEnv) steps.push(collectorEnvStep(spec.collectorEnv, spec.root, journal));

  const hostKeyFingerprints: string[] = [];
  for (const t of ['ed25519', 'ecdsa', 'rsa']) {
    const pub = await readText(`/etc/ssh/ssh_host_${t}_key.pub`);
    const fp = pub ? fingerprintOfLine(pub.trim()) : undefined;
    if (fp) hostKeyFingerprints.push(`${fp} (${t.toUpperCase()})`);
  }
  return { steps, placement, block, hostKeyFingerprints, reloaded };
}

/**
 * Match blocks that would beat ours, judged on the configuration as sshd will read it once our block is
 * installed: a block that will come after our drop-in (the guide's, appended to the main file) loses to
 * ours and is no conflict; one read before it is.
 */
function conflictsWithBlockInstalled(user: string, groups: string[], sshd: SshdState, placement: Placement, block: string) {
  const io = configIO();
  if (placement.kind === 'dropin') {
    const target = placement.path;
    const directives = loadConfigDetailed(sshd.mainPath, {
      read: (p) => (p === target ? block : io.read(p)),
      glob: (pattern) => {
        const found = io.glob(pattern);
        return globMatch(pattern, target) && !found.includes(target) ? [...found, target].sort() : found;
      },
    }).directives;
    return findConflicts(directives, user, groups, { file: target });
  }
  const mainText = upsertMarkedBlock(sshd.mainText, user, block).text;
  const found = findMarkedBlock(mainText, user)!;
  const directives = loadConfigDetailed(sshd.mainPath, { read: (p) => (p === sshd.mainPath ? mainText : io.read(p)), glob: io.glob }).directives;
  return findConflicts(directives, user, groups, { file: sshd.mainPath, marker: true, range: found });
}

async function refuseConflictingAccount(spec: CollectorSpec, acc: Account | null): Promise<void> {
  if (!acc || spec.adopt) return;
  if (acc.uid === 0) throw new UsageError(`${spec.user} has uid 0`, 'choose another --user');
  const problems: string[] = [];
  if (!SHELLS_THAT_DENY.has(acc.shell)) problems.push(`its shell is ${acc.shell}`);
  if (acc.home.replace(/\/+$/, '') !== spec.root) problems.push(`its home is ${acc.home}, not ${spec.root}`);
  if (problems.length > 0) {
    throw new UsageError(
      `account ${spec.user} already exists and is not an upload account (${problems.join(', ')})`,
      `if it was set up by hand for uploads, run again with --adopt to migrate it; otherwise choose another --user`,
    );
  }
}

async function refuseBadChroot(spec: CollectorSpec): Promise<void> {
  const choose = 'give a directory of its own for the uploads, such as /var/lib/allsky-uploads or /srv/sftp/allsky';
  const system = systemDirProblem(spec.root);
  if (system) throw new UsageError(`--root ${spec.root}: ${system}`, choose);
  const homes = (await listAccounts()).map((a) => ({ user: a.name, home: a.home }));
  const home = homeProblem(spec.root, homes, spec.user);
  if (home) throw new UsageError(`--root ${spec.root}: ${home}; the upload account would be chrooted into it`, choose);
  const blocks = listManagedBlocks();
  const chroots = blocks.filter((b): b is typeof b & { chroot: string } => b.chroot !== undefined).map((b) => ({ user: b.user, chroot: b.chroot }));
  const shared = otherChrootProblem(spec.root, chroots, spec.user);
  if (shared) throw new UsageError(`--root ${spec.root}: ${shared}; each upload account needs a tree of its own`, choose);
  const parent = await chrootProblem(spec.root, { includeRoot: false });
  if (parent) {
    throw new UsageError(
      `chroot path component ${parent.path} ${parent.problem}; sshd refuses such a chroot`,
      `choose a --root whose parents are root-owned and not group/world-writable, or fix it yourself: sudo chown root:root ${parent.path} && sudo chmod go-w ${parent.path}`,
    );
  }
  const own = await statPath(spec.root);
  if (!own) return;
  if (own.type !== 'dir') throw new UsageError(`--root ${spec.root} exists and is not a directory`, 'choose another --root');
  if ((own.uid !== 0 || own.mode & 0o022) && !spec.adopt) {
    throw new UsageError(
      `--root ${spec.root} is owned by uid ${own.uid} with mode ${own.mode.toString(8)}; a chroot must be root-owned and not writable by others`,
      'run again with --adopt to take over a directory made by hand (it becomes root:root 0755; uploads move into the upload directories untouched), or choose another --root',
    );
  }
  // A tree our own block already names for this user is ours (a re-run); any other must hold only what init makes.
  const ours = chroots.some((c) => c.user === spec.user && normalizeDir(c.chroot) === spec.root);
  if (!spec.adopt && !ours) {
    // .ssh has its own refusal below, which names the keys inside it.
    const foreign = foreignEntries((await listDir(spec.root)).filter((n) => n !== '.ssh'), spec.dirs);
    if (foreign.length) {
      const shown = foreign.slice(0, 5).map((n) => JSON.stringify(n)).join(', ') + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : '');
      throw new UsageError(
        `--root ${spec.root} already holds entries sftp-setup did not make (${shown}); the upload account would be chrooted over them`,
        'choose an empty or new --root, or run again with --adopt if this is an upload tree set up by hand',
      );
    }
  }
}

function accountStep(spec: CollectorSpec, journal: Journal, uploadRoots: string[]): Step {
  // Chosen once, in the first check (a dry run shows it), used by apply.
  let uid: Promise<number> | undefined;
  const freshUid = () => (uid ??= freshUploadUid(uploadRoots));
  return {
    id: 'account',
    title: `account ${spec.user} (system, shell ${NOLOGIN}, home ${spec.root})`,
    async check() {
      const acc = await getAccount(spec.user);
      if (!acc) return { summary: `create system account ${spec.user} (uid ${await freshUid()}, owning no uploads left behind), password locked with '*'` };
      const fixes: string[] = [];
      if (acc.home.replace(/\/+$/, '') !== spec.root) fixes.push(`home ${acc.home} -> ${spec.root}`);
      if (acc.shell !== NOLOGIN) fixes.push(`shell ${acc.shell} -> ${NOLOGIN}`);
      const missing = await missingAccountPieces(acc);
      if (missing.length) fixes.push(`restore ${missing.join(' and ')} (a run killed during useradd)`);
      if ((await passwordField(spec.user)) !== '*') fixes.push(`password field -> '*' (locked, key login works with UsePAM yes or no)`);
      return fixes.length ? { summary: fixes.join(', ') } : null;
    },
    async apply() {
      const before = await getAccount(spec.user);
      if (!before) {
        journal.onRollback(() => deleteAccount(spec.user)); // first: useradd may succeed and usermod fail
        await createUploadAccount(spec.user, spec.root, await freshUid());
        return;
      }
      if ((await missingAccountPieces(before)).length) {
        for (const f of ['/etc/group', '/etc/gshadow', '/etc/shadow']) await journal.record(f, { accounts: [spec.user] });
        await repairAccount(before);
      }
      const pw = await passwordField(spec.user);
      await fixUploadAccount(spec.user, spec.root);
      journal.onRollback(() => restoreAccount(before, pw));
    },
  };
}

/** rmdir on rollback: only directories this run made, and only while empty (uploads are never removed). */
function undoMkdir(journal: Journal, path: string): void {
  journal.onRollback(() => removeEmptyDir(path));
}

function chrootStep(spec: CollectorSpec, journal: Journal): Step {
  return {
    id: 'chroot',
    title: `chroot ${spec.root} (root:root 0755)`,
    async check() {
      const info = await statPath(spec.root);
      if (!info) return { summary: `create ${spec.root}` };
      if (info.uid !== 0 || info.gid !== 0 || info.mode !== 0o755) {
        return { summary: `owner ${info.uid}:${info.gid} mode ${info.mode.toString(8)} -> root:root 0755` };
      }
      return null;
    },
    async apply() {
      const missing: string[] = [];
      for (let p = spec.root; p !== '/' && !(await statPath(p)); p = p.slice(0, p.lastIndexOf('/')) || '/') missing.unshift(p);
      for (const p of missing) {
        undoMkdir(journal, p);
        await ensureDir(p, 0o755, 0, 0);
      }
      await ensureDir(spec.root, 0o755, 0, 0);
    },
  };
}

function uploadDirsStep(spec: CollectorSpec, journal: Journal): Step {
  const want = async () => {
    const acc = await getAccount(spec.user);
    return acc ? { uid: acc.uid, gid: acc.gid } : undefined;
  };
  return {
    id: 'upload-dirs',
    title: `upload directories (${spec.dirs.length}, owned by ${spec.user}, 0755)`,
    async check() {
      const owner = await want();
      const todo: string[] = [];
      for (const d of spec.dirs) {
        // Through descriptors: a parent swapped for a link is looked at, never through.
        const info = await lstatBeneath(spec.root, d).catch(() => null);
        if (!info) todo.push(`create ${d}`);
        else if (!owner || !info.isDirectory() || info.uid !== owner.uid || info.gid !== owner.gid || (info.mode & 0o7777) !== 0o755) todo.push(`fix ${d}`);
      }
      return todo.length ? { summary: todo.join(', ') } : null;
    },
    async apply() {
      const owner = await want();
      if (!owner) throw new FailError(`account ${spec.user} does not exist`);
      const wanted = { mode: 0o755, ...owner };
      for (const d of spec.dirs) {
        // An existing directory given to this account: a rollback gives it back to whoever had it (the
        // files of a removed account stay under its old, retired uid), the same way, through descriptors.
        const was = await lstatBeneath(spec.root, d).catch(() => null);
        if (was?.isDirectory() && (was.uid !== owner.uid || was.gid !== owner.gid || (was.mode & 0o7777) !== 0o755)) {
          const back = { mode: was.mode & 0o7777, uid: was.uid, gid: was.gid };
          journal.onRollback(async () => void (await ensureDirBeneath(spec.root, d, back)));
        }
        // Created, owned and moded through the directory we hold (O_NOFOLLOW): a directory swapped for a
        // link to /etc since the check fails here with ELOOP/ENOTDIR, and /etc is never chowned.
        const made = await ensureDirBeneath(spec.root, d, wanted).catch((err: NodeJS.ErrnoException) => {
          throw new FailError(`cannot make ${join(spec.root, d)} an upload directory: ${err.code === 'ELOOP' || err.code === 'ENOTDIR' ? 'it or a parent is a symbolic link or not a directory' : err.code === 'EXDEV' ? 'it is on another filesystem' : err.message}`, 'look at it, move it away, then run again');
        });
        for (const path of made) {
          const rel = path.slice(spec.root.length + 1);
          journal.onRollback(async () => {
            await rmdirBeneath(spec.root, rel);
          });
        }
      }
    },
  };
}

/** Where the guide's layout keeps keys (inside the chroot, or the old home): --adopt moves them out. */
function legacyKeyDirs(spec: CollectorSpec, home: string | undefined): string[] {
  const bases = [spec.root];
  if (home && home.replace(/\/+$/, '') !== spec.root) bases.push(home.replace(/\/+$/, '') || '/');
  return bases;
}

/**
 * The keys in `<base>/.ssh/authorized_keys{,2}` (sshd's default AuthorizedKeysFile: both names), read
 * through descriptors: a `.ssh` or key file that is a link (to /root/.ssh, say), a FIFO or a device is
 * refused, never read. Those directories belong to the upload account.
 */
async function readLegacyKeys(base: string): Promise<string[]> {
  const texts: string[] = [];
  const refuse = (what: string, err: NodeJS.ErrnoException): never => {
    throw new UsageError(
      `${what} is not a plain directory or file (${err.code ?? err.message}): sftp-setup does not read keys through links or special files`,
      'look at it; copy the keys you trust into a file and pass it with --key, then remove that .ssh',
    );
  };
  const st = await lstatBeneath(base, '.ssh').catch((e: NodeJS.ErrnoException) => refuse(join(base, '.ssh'), e));
  if (!st) return texts;
  if (!st.isDirectory()) refuse(join(base, '.ssh'), Object.assign(new Error('not a directory'), { code: st.isSymbolicLink() ? 'ELOOP' : 'ENOTDIR' }));
  await withDir(base, '.ssh', async (dir) => {
    for (const name of ['authorized_keys', 'authorized_keys2']) {
      const buf = await readFileAt(dir, name).catch((e: NodeJS.ErrnoException) => refuse(join(base, '.ssh', name), e));
      if (buf) texts.push(buf.toString('utf8'));
    }
  }).catch((e: NodeJS.ErrnoException) => {
    if (e instanceof UsageError) throw e;
    refuse(join(base, '.ssh'), e);
  });
  return texts;
}

/** `originalHome`: the account's home before this run (the account step may move it to the chroot). */
function keysFileStep(spec: CollectorSpec, journal: Journal, originalHome: string | undefined): Step {
  const path = keysFileFor(spec.user);
  const wanted = async (): Promise<{ before: string | null; after: string; added: number }> => {
    const before = await readText(path);
    let text = before ?? '';
    let added = 0;
    const now = new Date();
    const apply = (k: ParsedKey) => {
      const r = addKey(text, k, { from: spec.from, now });
      if (r.changed) added++;
      text = r.text;
    };
    if (spec.adopt) {
      for (const base of legacyKeyDirs(spec, originalHome)) {
        for (const old of await readLegacyKeys(base)) for (const l of parseAuthorizedKeys(old).lines) if (l.kind === 'key') apply(l.entry.key);
      }
    }
    for (const k of spec.keys) apply(k);
    return { before, after: text, added };
  };
  return {
    id: 'keys',
    title: `authorized keys in ${path} (root:root 0644, outside the chroot)`,
    async check() {
      const { before, after, added } = await wanted();
      const info = await statPath(path);
      if (before === after && info && info.uid === 0 && info.gid === 0 && info.mode === 0o644) return null;
      const summary = before === null ? `create with ${listKeys(after).entries.length} key(s)` : added ? `add ${added} key(s)` : 'fix owner/mode or options';
      return { summary, diff: unifiedDiff(before ?? '', after, path) };
    },
    async apply() {
      const { after } = await wanted();
      for (const dir of ['/etc/ssh/sftp-setup', KEYS_DIR]) {
        if (!(await statPath(dir))) journal.onRollback(() => removeEmptyDir(dir));
        await ensureDir(dir, 0o755, 0, 0);
      }
      await journal.writeAtomic(path, after, { mode: 0o644, uid: 0, gid: 0 });
    },
  };
}

/**
 * Remove `name` from the directory `rel` below `root`, through its descriptor: a regular file is backed
 * up first (read with O_NOFOLLOW, no FIFO hang), a link or special file is removed as itself (unlink never
 * follows), a directory is refused.
 */
async function removeBackedUp(journal: Journal, root: string, rel: string, name: string): Promise<void> {
  await withDir(root, rel, async (dir) => {
    const s = await lstatAt(dir, name);
    if (!s) return;
    const path = join(root, rel, name);
    // The name is whoever owned .ssh's: quoted and escaped in the message.
    if (s.isDirectory()) throw new FailError(`${shownPath(path)} is a directory`, 'move it out of the chroot by hand, then run again');
    if (s.isFile()) {
      const content = await readFileAt(dir, name, 16 << 20);
      if (content) await journal.recordContent(path, content, fileInfoOf(s));
    }
    await unlinkAt(dir, name);
  });
}

/** /etc/skel files (useradd -m) and the guide's .ssh inside the chroot: visible to uploads, or a security hole. */
function cleanupStep(spec: CollectorSpec, journal: Journal): Step {
  const leftovers = async () => {
    const found: string[] = [];
    for (const f of SKEL_FILES) if ((await statPath(join(spec.root, f)))?.type === 'file') found.push(f);
    if ((await statPath(join(spec.root, '.ssh')))?.type === 'dir') found.push('.ssh');
    return found;
  };
  return {
    id: 'cleanup',
    title: 'no shell start-up files or .ssh inside the chroot',
    async check() {
      const found = await leftovers();
      return found.length ? { summary: `remove ${found.map((f) => join(spec.root, f)).join(', ')} (backed up)` } : null;
    },
    async apply() {
      for (const f of await leftovers()) {
        if (f !== '.ssh') {
          await removeBackedUp(journal, spec.root, '', f);
          continue;
        }
        const path = join(spec.root, '.ssh');
        const info = (await statPath(path))!;
        // Names inside come from whoever owned .ssh: they are used only as names inside the directory held.
        const names = await withDir(spec.root, '.ssh', async (dir) => (await readDirAt(dir)).map((e) => e.name));
        for (const name of names) await removeBackedUp(journal, spec.root, '.ssh', name);
        if (!(await rmdirBeneath(spec.root, '.ssh'))) throw new FailError(`cannot remove ${path}`, 'look at what it still holds, move it out of the chroot, then run again');
        journal.onRollback(async () => ensureDir(path, info.mode, info.uid, info.gid));
      }
    },
  };
}

function sshdConfigStep(
  spec: CollectorSpec,
  sshd: SshdState,
  placement: Placement,
  block: string,
  journal: Journal,
): { step: Step; touched: { value: boolean } } {
  const touched = { value: false };
  const target = placement.kind === 'dropin' ? placement.path : sshd.mainPath;
  const desired = async (): Promise<{ before: string | null; after: string; realPath: string }> => {
    if (placement.kind === 'dropin') return { before: await readText(target), after: block, realPath: target };
    const realPath = await resolveLinks(sshd.mainPath); // keep a symlinked sshd_config a symlink
    const before = sshd.mainText;
    return { before, after: upsertMarkedBlock(before, spec.user, block).text, realPath };
  };
  const step: Step = {
    id: 'sshd-config',
    title: placement.kind === 'dropin' ? `Match block in ${target}` : `Match block at the end of ${sshd.mainPath}`,
    async check() {
      const { before, after } = await desired();
      if (before === after) return null;
      return { summary: `${before === null ? 'create' : 'update'} (${placement.reason})`, diff: unifiedDiff(before ?? '', after, target) };
    },
    async apply() {
      const { after, realPath } = await desired();
      await installValidated(
        { kind: placement.kind, target, realPath, after },
        {
          mainPath: sshd.mainPath, mainText: sshd.mainText, journal, note: spec.user,
          confirm: async (candidateMain) => void (await confirmEffective(spec.user, block, candidateMain)),
          touched: () => {
            touched.value = true;
          },
        },
      );
    },
  };
  return { step, touched };
}

/**
 * sshd -T -C user=… must show our values: the authority on what applies, whatever the files say. Returns
 * what sshd -T printed.
 */
export async function confirmEffective(user: string, block: string, configPath?: string): Promise<string> {
  const text = await effectiveConfig({ user }, configPath);
  const eff = parseEffective(text);
  const wrong = compareEffective(eff, expectedEffective(block));
  if (wrong.length > 0) {
    const w = wrong[0]!;
    throw new FailError(
      `sshd would apply ${w.keyword} ${w.actual ?? '(unset)'} to ${user}, not ${w.expected}: another setting wins over sftp-setup's Match block`,
      `see which file sets it: sudo sshd -T -C user=${user} | grep -i ${w.keyword}; then run sudo sftp-setup doctor`,
    );
  }
  return text;
}

function reloadStep(
  spec: CollectorSpec, block: string, touched: { value: boolean }, limits: LimitsPlan | null, reloaded: CollectorPlan['reloaded'],
): Step {
  return {
    id: 'reload',
    title: 'sshd reloaded and applying the block (sshd -T)',
    async check() {
      const pending = (await readText(RELOAD_PENDING)) !== null;
      if (!touched.value && !pending) return null;
      if (!(await isRunning())) return null; // nothing to reload; init reports that sshd is stopped
      return { summary: touched.value ? 'reload (never restart): open sessions stay up' : 'finish the reload an interrupted run left pending' };
    },
    async apply() {
      await reload();
      // Two sshd -T of the reloaded files, side by side; the block's verdict first.
      const checks = await Promise.allSettled([confirmEffective(spec.user, block), limits?.text ? confirmLimits(limits) : undefined]);
      for (const c of checks) if (c.status === 'rejected') throw c.reason;
      if (checks[0].status === 'fulfilled') reloaded.effective = checks[0].value;
      await removeFile(RELOAD_PENDING);
      if (!(await runningPid())) throw new FailError('sshd is not running after the reload');
    },
  };
}

function collectorEnvStep(file: string, root: string, journal: Journal): Step {
  const vars = { ALLSKY_IMAGE_PATH: join(root, 'images', 'image.jpg'), ALLSKY_IMAGE_URL: '' };
  return {
    id: 'collector-env',
    title: `collector application settings in ${file}`,
    async check() {
      const before = await readText(file);
      const after = setEnvVars(before ?? '', vars);
      return before === after ? null : { summary: 'point ALLSKY_IMAGE_PATH at the uploaded image', diff: unifiedDiff(before ?? '', after, file) };
    },
    async apply() {
      await refuseBadCollectorEnv(file); // again, right before writing: init checked it before the plan
      const before = await readText(file);
      const info = await statPath(file);
      const parent = await statPath(join(file, '..'));
      if (!parent) throw new UsageError(`--collector-env ${file}: its directory does not exist`, 'give the path of the collector application\'s .env file');
      await journal.writeAtomic(file, setEnvVars(before ?? '', vars), {
        mode: info?.mode ?? 0o644, uid: info?.uid ?? parent.uid, gid: info?.gid ?? parent.gid,
      });
    },
  };
}

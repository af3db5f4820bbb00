/**
 * `sftp-setup allsky-config`: the camera side. Find the Allsky install and its owner, make or reuse the
 * upload key, pin the collector's host key, write lftp's rc and Allsky's settings (as the owner's files),
 * hand the key to the collector (printed, or done over the admin's SSH with --via), and prove the result with
 * the exact lftp sequence Allsky's upload.sh runs, into every directory Allsky writes to.
 */
import chalk from 'chalk';
import { promises as fs, constants as C } from 'node:fs';
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { FailError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { remoteDirs, type AllskyGeneration } from '../allsky/detect.js';
import { currentGenerationChanges, updateJsonObject, DUMMY_PASSWORD } from '../allsky/settings-json.js';
import { legacyChanges, updateShellVars } from '../allsky/ftp-settings.js';
import { connectProgramSetLine } from '../lftp/connect-program.js';
import { mergeLftpRc, readConnectProgram, splitWords } from '../lftp/rc.js';
import { sha256Fingerprint } from '../keys/wire.js';
import { fingerprintOfLine } from '../keys/parse.js';
import { runPlan, PlanFailed } from '../plan/runner.js';
import type { Step, StepReport } from '../plan/step.js';
import { formatStep, printJson } from '../report.js';
import { printable } from '../text/printable.js';
import { confirm } from '../prompt.js';
import { acquireLock, backupDirFor, Journal, readText, statPath, type FileInfo } from '../system/files.js';
import { runLftpFile, withScratchDir } from '../system/lftp.js';
import { cameraLockPath } from '../system/lock.js';
import { checkSftpLogin, scanHostKeys, sshHashesKnownHosts, viaSsh, type RunAs } from '../system/ssh-client.js';
import { validateAdminTarget, validateFingerprint, validateHostName, validatePort, validateUserName, show } from '../validate.js';
import { hostPattern, parseHostKeyLines, planKnownHosts, preferredHostKey, type HostKey } from '../camera/known-hosts.js';
import { allskyUploadScript, classifyUploadFailure, tempName, type UploadFailure } from '../camera/upload-script.js';
import { handoffLine, remoteCommand, splitViaOutput, sudoWantsPassword, viaRemoteScript } from '../camera/handoff.js';
import { locateAllsky } from '../camera/read.js';
import { dirStep, fileStep } from '../camera/plan.js';
import type { Account } from '../system/accounts.js';
import { DEFAULT_USER } from '../collector/layout.js';

export interface AllskyConfigOptions {
  collector?: string;
  port: string;
  user: string;
  hostKey?: string;
  /** replace a pinned host key that differs from what the collector presents (without --host-key) */
  replaceHostKey?: boolean;
  key?: string;
  allskyDir?: string;
  allsky: boolean;
  imageDir: string;
  via?: string;
  multiplex: boolean;
  test: boolean;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
}

/** Exit status when the camera is configured but the collector does not accept its key yet (documented). */
export const EXIT_KEY_NOT_AUTHORIZED = EXIT.keyNotAuthorized;

// root: /run/sftp-setup/camera.lock; another user: a directory of its own (never the world-writable /run/lock)
const LOCK = cameraLockPath();
const ROOT_BACKUPS = '/var/backups/sftp-setup';
/** Directory of the multiplexing sockets, relative to the owner's home. */
export const CONTROL_DIR = '.ssh/sftp-setup-cm';

interface Inputs {
  host: string;
  port: number;
  user: string;
  pinned?: string;
  via?: { user: string; host: string };
  imageDir: string;
}

function parseInputs(o: AllskyConfigOptions): Inputs {
  const via = o.via !== undefined ? validateAdminTarget(o.via, '--via') : undefined;
  if (o.collector === undefined && !via) {
    throw new UsageError('--collector is missing', 'give the collector\'s name or address, e.g. --collector collector.local');
  }
  const host = o.collector !== undefined ? validateHostName(o.collector, '--collector') : via!.host;
  const port = validatePort(o.port ?? '22', '--port');
  const user = validateUserName(o.user ?? DEFAULT_USER, '--user');
  const pinned = o.hostKey !== undefined ? validateFingerprint(o.hostKey, '--host-key') : undefined;
  const imageDir = (o.imageDir ?? 'images').replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(imageDir) || imageDir.split('/').some((c) => c === '.' || c === '..')) {
    throw new UsageError(
      `--image-dir ${show(o.imageDir)} is not a plain relative directory`,
      'give a directory below the upload account\'s login directory, e.g. images (letters, digits, . _ - and /)',
    );
  }
  return { host, port, user, pinned, via, imageDir };
}

const fp = (k: HostKey) => sha256Fingerprint(Buffer.from(k.base64, 'base64'));
const label = (k: HostKey) => `${fp(k)} (${k.type.replace(/^ssh-/, '').replace(/-sha2-.*$/, '').toUpperCase()})`;

/** The key lftp will use: reuse a valid one, refuse a passphrase, or make a new ed25519 key. */
async function planKey(keyPath: string, owner: Account) {
  const [privText, pubText, privInfo, pubInfo] = await Promise.all([
    readText(keyPath), readText(`${keyPath}.pub`), statPath(keyPath), statPath(`${keyPath}.pub`),
  ]);
  if (privText !== null) {
    const { inspectPrivateKey } = await import('../keys/private.js');
    const info = inspectPrivateKey(privText, `upload key ${keyPath}`);
    if (info.encrypted) {
      throw new UsageError(
        `upload key ${keyPath} is protected by a passphrase: lftp would ask for it at every upload; nothing was changed`,
        `remove the passphrase (ssh-keygen -p -N '' -f ${keyPath}) or give another key with --key`,
      );
    }
    const pubFp = pubText !== null ? fingerprintOfLine(pubText.trim()) : undefined;
    const publicLine = pubFp === info.fingerprint ? pubText!.trim() : info.publicLine!;
    return { generated: false, privText, pubText, privInfo, pubInfo, privWant: privText, publicLine, fingerprint: info.fingerprint! };
  }
  const { generateEd25519 } = await import('../keys/generate.js');
  const g = generateEd25519(`${owner.name}@${hostname()}`);
  return { generated: true, privText, pubText, privInfo, pubInfo, privWant: g.privateKey, publicLine: g.publicLine, fingerprint: g.fingerprint };
}

/** Refuse, before changing anything, to write a file that cannot or must not be written. */
async function checkWritable(path: string, info: FileInfo | null): Promise<void> {
  if (!info) return;
  const denied = await fs.access(path, C.W_OK).then(() => false, () => true);
  // Root can write anything; a file with no write bit at all was made read-only on purpose.
  if (denied || (info.mode & 0o222) === 0) {
    throw new UsageError(
      `${path} is read-only (mode ${info.mode.toString(8).padStart(4, '0')}); nothing was changed`,
      `make it writable (chmod u+w ${path}), then run again`,
    );
  }
}

interface UploadResult {
  dir: string;
  ok: boolean;
  ms: number;
  failure?: UploadFailure;
}

/** One Allsky-style upload per remote directory (Allsky runs one lftp per upload), all at once, cleaned up after. */
async function testUploads(asOwner: RunAs | undefined, spec: { host: string; port: number; user: string; lftpCommands: string; password: string; dirs: string[] }): Promise<UploadResult[]> {
  return withScratchDir(asOwner, 'sftp-setup-test-', async (put) => {
    const dest = 'sftp-setup-test.txt';
    const file = await put(dest, `sftp-setup test upload from ${hostname()} at ${new Date().toISOString()}\n`);
    const scripts = await Promise.all(spec.dirs.map(async (dir, i) => ({
      dir,
      path: await put(`upload-${i}.lftp`, allskyUploadScript({ ...spec, dirs: [dir], file, dest, temp: tempName('test'), after: [`rm -f ${dest}`], failExit: true })),
    })));
    return Promise.all(
      scripts.map(async (s) => {
        const r = await runLftpFile(asOwner, s.path, spec.password);
        const ok = r.exitCode === 0;
        return { dir: s.dir === '' ? '.' : s.dir, ok, ms: Math.round(r.ms), ...(ok ? {} : { failure: classifyUploadFailure(r.output) }) };
      }),
    );
  });
}

export async function allskyConfigCommand(o: AllskyConfigOptions): Promise<number> {
  const inp = parseInputs(o);
  // The admin's sshd is the upload sshd when --via names the collector: the same --port.
  const viaPort = inp.via?.host === inp.host ? inp.port : undefined;
  const out = (s: string) => {
    if (!o.json) process.stdout.write(s + '\n');
  };
  const warn = (s: string) => process.stderr.write(chalk.yellow(s) + '\n');
  const install = await locateAllsky({ allskyDir: o.allskyDir, allsky: o.allsky });
  const owner = install.owner;
  const generation: AllskyGeneration = install.classification.generation;
  const asOwner: RunAs | undefined = process.getuid?.() === owner.uid ? undefined : owner;
  const home = owner.home.replace(/\/+$/, '') || '/';
  const inHome = (p: string) => posix.join(home, p);

  // The key path ends up in the connect-program: connectProgramSetLine refuses unsafe ones.
  const keyArg = o.key ?? '~/.ssh/allsky_upload';
  const keyPath = keyArg.startsWith('~/') ? inHome(keyArg.slice(2)) : keyArg;
  if (!keyPath.startsWith('/')) throw new UsageError(`--key ${show(keyArg)} is not an absolute path`, 'give an absolute path, or ~/… for the Allsky owner\'s home');
  const controlDir = o.multiplex ? inHome(CONTROL_DIR) : undefined;
  const setLine = connectProgramSetLine({ keyPath, controlDir });
  const keyDir = posix.dirname(keyPath);
  if (keyDir !== inHome('.ssh') && (await statPath(keyDir))?.type !== 'dir') {
    throw new UsageError(`--key ${keyPath}: directory ${keyDir} does not exist`, 'create it first or choose another --key');
  }

  // Read everything and compute every new file before touching anything: bad files stop the run here.
  const key = await planKey(keyPath, owner);
  const khPath = inHome('.ssh/known_hosts');
  const rcPath = inHome('.lftp/rc');
  const [khText, khInfo, rcText, rcInfo] = await Promise.all([readText(khPath), statPath(khPath), readText(rcPath), statPath(rcPath)]);
  const rc = mergeLftpRc(rcText ?? '', setLine);
  const remote = { host: inp.host, port: inp.port, user: inp.user, imageDir: inp.imageDir, lftpCommands: setLine };
  const allskyFiles: { path: string; label: string; before: string; want: string; info: FileInfo; hardLinked: boolean }[] = [];
  let password = DUMMY_PASSWORD;
  const p = install.paths;
  if (p && generation === 'current') {
    const [sText, eText, sInfo, eInfo] = await Promise.all([readText(p.settingsJson), readText(p.envJson), statPath(p.settingsJson), statPath(p.envJson)]);
    const ch = currentGenerationChanges(remote, eText!);
    const s = updateJsonObject(sText!, ch.settings, p.settingsJson);
    const e = updateJsonObject(eText!, ch.env, p.envJson);
    password = String(ch.env.REMOTESERVER_PASSWORD);
    allskyFiles.push({ path: p.settingsJson, label: 'Allsky settings.json: remote server over sftp', before: sText!, want: s.text, info: sInfo!, hardLinked: true });
    allskyFiles.push({ path: p.envJson, label: 'Allsky env.json: collector address, user and lftp commands', before: eText!, want: e.text, info: eInfo!, hardLinked: eInfo!.nlink > 1 });
  } else if (p && generation === 'legacy') {
    const [fText, fInfo] = await Promise.all([readText(p.ftpSettings), statPath(p.ftpSettings)]);
    const vars = legacyChanges(remote, fText!);
    const f = updateShellVars(fText!, vars, p.ftpSettings);
    password = vars.REMOTE_PASSWORD!;
    allskyFiles.push({ path: p.ftpSettings, label: 'Allsky ftp-settings.sh: sftp to the collector', before: fText!, want: f.text, info: fInfo!, hardLinked: fInfo!.nlink > 1 });
  }
  for (const f of allskyFiles) if (f.before !== f.want) await checkWritable(f.path, f.info);

  // The collector's host key: read over the admin's session (--via), or scanned and then pinned,
  // confirmed by the person, or trusted on first use with --yes.
  let hostKeys: HostKey[];
  let trust: 'via' | 'pinned' | 'confirmed' | 'first-use';
  if (inp.via) {
    const r = await viaSsh(inp.via, viaRemoteScript({ admin: inp.via.user, user: inp.user, remoteCommand: remoteCommand(), addKey: false }), { port: viaPort });
    const split = splitViaOutput(r.stdout);
    hostKeys = split ? parseHostKeyLines(split.hostKeys) : [];
    if (r.exitCode !== 0 || hostKeys.length === 0) {
      throw new FailError(
        `cannot read the collector's host keys over ssh ${inp.via.user}@${inp.via.host}: ${(r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.exitCode}`}; nothing was changed`,
        `check that "ssh ${inp.via.user}@${inp.via.host}" works from this account, or leave out --via and pin with --host-key`,
      );
    }
    trust = 'via';
  } else {
    // ed25519 first: one connection. The other types only when it is missing or does not match the pin.
    const first = await scanHostKeys(inp.host, inp.port, 'ed25519').catch(() => '');
    hostKeys = parseHostKeyLines(first);
    if (hostKeys.length === 0 || (inp.pinned && !hostKeys.some((k) => fp(k) === inp.pinned))) {
      hostKeys.push(...parseHostKeyLines(await scanHostKeys(inp.host, inp.port, first ? 'ecdsa,rsa' : 'ed25519,ecdsa,rsa').catch((err) => {
        if (first) return '';
        throw err;
      })));
    }
    trust = inp.pinned ? 'pinned' : o.yes ? 'first-use' : 'confirmed';
  }
  let pinnedKey: HostKey | undefined;
  if (inp.pinned) {
    pinnedKey = hostKeys.find((k) => fp(k) === inp.pinned);
    if (!pinnedKey) {
      throw new UsageError(
        `the collector ${inp.host} port ${inp.port} presents ${hostKeys.map(label).join(', ')}, not the pinned --host-key ${inp.pinned}; nothing was changed`,
        'compare with the "Host key of this collector" line init printed on the collector; if the collector was reinstalled, give its new fingerprint',
      );
    }
  } else {
    pinnedKey = preferredHostKey(hostKeys)!;
  }

  const pattern = hostPattern(inp.host, inp.port);
  const hash = /^\|1\|/m.test(khText ?? '') || (await sshHashesKnownHosts(asOwner ?? owner, inp.host, inp.port));
  const kh = planKnownHosts(khText ?? '', pattern, pinnedKey, hostKeys, { hash });
  // A pinned key is never replaced on trust: not by --yes, not by an interactive yes, not over --via. Only
  // a --host-key the collector proves it holds, or a flag that says so, replaces it. Refused before any prompt.
  if (kh.stale.length > 0 && !inp.pinned && !o.replaceHostKey) {
    throw new UsageError(
      `${khPath} pins another host key for ${pattern} than the one the collector presents now (${label(pinnedKey)}): the collector may be an impostor; nothing was changed`,
      `if the collector was really reinstalled, compare ${fp(pinnedKey)} with the "Host key of this collector" line init printed there, then run again with --host-key ${fp(pinnedKey)}, or with --replace-host-key`,
    );
  }
  if (!inp.pinned) {
    if (trust === 'confirmed') {
      out(`The collector ${inp.host} port ${inp.port} presents host key ${chalk.bold(label(pinnedKey))}.`);
      if (!process.stdin.isTTY) {
        throw new UsageError(
          `the collector's host key is not pinned; nothing was changed`,
          `compare ${fp(pinnedKey)} with what init printed on the collector, then run again with --host-key ${fp(pinnedKey)} (or --yes to trust it unchecked)`,
        );
      }
      if (!(await confirm('Is this the fingerprint init printed on the collector ("Host key of this collector")?'))) {
        out('Nothing changed.');
        return 1;
      }
    } else if (trust === 'first-use') {
      warn(kh.stale.length
        ? `WARNING: replacing the pinned host key of ${inp.host} with ${label(pinnedKey)} unchecked (--replace-host-key without --host-key).`
        : `WARNING: trusting the collector's host key ${label(pinnedKey)} on first use (--yes without --host-key).`);
      warn(`WARNING: if ${inp.host} is not really your collector, uploads go to an impostor. Compare it with what init printed.`);
    }
  }
  if (kh.stale.length > 0) {
    out(chalk.yellow(`${khPath} holds a different host key for ${pattern}:`));
    for (const s of kh.stale) out(`  ${printable(s.length > 100 ? s.slice(0, 100) + '…' : s)}`);
    out(chalk.yellow('The collector was reinstalled or changed its keys, or this is not your collector.'));
    if (inp.pinned && !o.yes && !o.dryRun) {
      if (!process.stdin.isTTY) {
        throw new UsageError(
          `${khPath} has a stale host key for ${pattern}; nothing was changed`,
          'if the collector was reinstalled, run again with --yes to replace the entry (a backup is kept)',
        );
      }
      if (!(await confirm(`Replace the stale entry with ${fp(pinnedKey)} (a backup is kept)?`))) {
        out('Nothing changed.');
        return 1;
      }
    }
  }

  // The plan: every file in the owner's home belongs to the owner.
  const root = process.getuid?.() === 0;
  const journal = new Journal(backupDirFor(root ? ROOT_BACKUPS : inHome('.local/state/sftp-setup/backups')));
  const mine = { uid: owner.uid, gid: owner.gid };
  const steps: Step[] = [];
  steps.push(dirStep({ id: 'ssh-dir', title: `${inHome('.ssh')} exists`, path: inHome('.ssh'), mode: 0o700, ...mine }, journal));
  steps.push(fileStep({
    id: 'key', title: `upload key ${keyPath} (${key.generated ? 'new ed25519' : 'existing'}, ${key.fingerprint})`, path: keyPath,
    before: key.privText, info: key.privInfo, want: key.privWant, mode: 0o600, ...mine, secret: true,
  }, journal));
  steps.push(fileStep({
    id: 'key-pub', title: `public key ${keyPath}.pub`, path: `${keyPath}.pub`, before: key.pubText, info: key.pubInfo,
    want: key.publicLine + '\n', mode: key.pubInfo?.mode ?? 0o644, ...mine,
  }, journal));
  if (key.pubText !== null && fingerprintOfLine(key.pubText.trim()) === key.fingerprint) {
    // Keep the user's own .pub text (comment, spacing) when it is the right key.
    steps[steps.length - 1] = fileStep({ id: 'key-pub', title: `public key ${keyPath}.pub`, path: `${keyPath}.pub`, before: key.pubText, info: key.pubInfo, want: key.pubText, mode: key.pubInfo!.mode, ...mine }, journal);
  }
  steps.push(fileStep({
    id: 'known-hosts', title: `collector host key pinned in ${khPath} (${pattern})`, path: khPath, before: khText, info: khInfo,
    want: kh.text, mode: khInfo?.mode ?? 0o600, ...mine,
    summary: kh.stale.length ? `stale entry for ${pattern} replaced by ${fp(pinnedKey)}` : `${pattern} ${fp(pinnedKey)} added`,
  }, journal));
  if (controlDir) steps.push(dirStep({ id: 'control-dir', title: `${controlDir} for shared connections`, path: controlDir, mode: 0o700, ...mine }, journal));
  steps.push(dirStep({ id: 'lftp-dir', title: `${inHome('.lftp')} exists`, path: inHome('.lftp'), mode: 0o755, ...mine }, journal));
  steps.push(fileStep({
    id: 'lftp-rc', title: `lftp connect-program in ${rcPath}`, path: rcPath, before: rcText, info: rcInfo, want: rc.text,
    mode: rcInfo?.mode ?? 0o644, ...mine,
  }, journal));
  for (const f of allskyFiles) {
    // settings.json is a hard link Allsky keeps: rewrite its inode. Others atomically, unless only an
    // in-place write can keep a group we may not give (env.json is group www-data).
    const inPlace = f.hardLinked || (!root && f.info.gid !== owner.gid);
    steps.push(fileStep({
      id: posix.basename(f.path), title: f.label, path: f.path, before: f.before, info: f.info, want: f.want,
      mode: f.info.mode, uid: f.info.uid, gid: f.info.gid, inPlace,
    }, journal));
  }

  out(chalk.bold(`${o.dryRun ? 'Plan (dry run, nothing will change)' : 'Configuring'} uploads as ${owner.name} to ${inp.user}@${inp.host}:${inp.port}`) +
    chalk.dim(` — Allsky: ${generation === 'none' ? 'not configured (--no-allsky)' : `${generation} generation${install.classification.version ? ` (${install.classification.version})` : ''} in ${p!.home}`}`));

  const release = o.dryRun ? async () => {} : await acquireLock(LOCK);
  let reports: StepReport[] = [];
  try {
    if (!o.dryRun && !o.yes && process.stdin.isTTY) {
      const pending = (await runPlan(steps, { dryRun: true })).filter((r) => r.status === 'would-change');
      if (pending.length > 0) {
        for (const r of pending) out(formatStep(r, true));
        if (!(await confirm('Apply these changes?'))) {
          out('Nothing changed.');
          return 1;
        }
      }
    }
    reports = await runPlan(steps, { dryRun: o.dryRun, onReport: (r) => out(formatStep(r, o.dryRun)) });
  } catch (err) {
    if (err instanceof PlanFailed) reports = err.reports;
    const problems = o.dryRun ? [] : await journal.rollback();
    const cause = err instanceof PlanFailed ? err.failure : err;
    if (o.json) printJson({ ok: false, steps: reports, error: (cause as Error).message, rollbackProblems: problems });
    if (problems.length) {
      throw new FailError(`${(cause as Error).message}; rolling back also failed: ${problems.join('; ')}`, `restore by hand from ${journal.backupDirPath}`);
    }
    if (journal.changedPaths.length) out(chalk.yellow('Every change of this run was rolled back.'));
    throw cause;
  } finally {
    await release();
  }
  const changed = reports.some((r) => r.status === 'changed');
  if (o.dryRun) out(reports.some((r) => r.status === 'would-change') ? 'Dry run: nothing was changed.' : 'Already configured: nothing would change.');
  else out(changed ? chalk.green('Camera configured.') + (journal.backedUp.length ? ` Backups in ${journal.backupDirPath}` : '') : 'Already configured: nothing changed.');

  const handoff = handoffLine(inp.user, key.publicLine);
  const summary = {
    owner: owner.name, generation, keyPath, keyFingerprint: key.fingerprint, publicKey: key.publicLine,
    collector: { host: inp.host, port: inp.port, user: inp.user, hostKey: fp(pinnedKey), trust },
    multiplex: o.multiplex, handoff,
  };

  // --via: authorize the key on the collector over the admin's session (collector-side keys add).
  let viaOutput: string | undefined;
  if (inp.via && !o.dryRun) {
    const script = viaRemoteScript({ admin: inp.via.user, user: inp.user, remoteCommand: remoteCommand(), addKey: true });
    const r = await viaSsh(inp.via, script, { input: key.publicLine + '\n', port: viaPort });
    const split = splitViaOutput(r.stdout);
    viaOutput = `${split?.rest ?? r.stdout}${r.stderr}`.trim();
    if (r.exitCode !== 0) {
      if (o.json) printJson({ ok: false, dryRun: false, ...summary, steps: reports, error: viaOutput });
      out(`Run this on the collector instead:\n  ${chalk.cyan(handoff)}`);
      if (sudoWantsPassword(r.stderr)) {
        throw new FailError(
          `authorizing the key on ${inp.via.host} failed: sudo there asks ${inp.via.user} for a password, which cannot be typed through --via`,
          `use --via root@${inp.via.host}, allow ${inp.via.user} to run sftp-setup with sudo NOPASSWD, or run the line above on the collector`,
        );
      }
      throw new FailError(
        `authorizing the key on ${inp.via.host} failed (exit ${r.exitCode}): ${viaOutput.split('\n').pop()}`,
        inp.via.user === 'root' ? 'check that sftp-setup is installed on the collector' : `check that ${inp.via.user} may run "sudo sftp-setup" on the collector`,
      );
    }
    out(`  ${chalk.green('changed  ')} key authorized on the collector via ${inp.via.user}@${inp.via.host}` + (viaOutput ? ` — ${printable(viaOutput.split('\n').pop())}` : ''));
  }

  let uploads: UploadResult[] | undefined;
  if (!o.dryRun && o.test) {
    const dirs = generation === 'none' ? [inp.imageDir] : remoteDirs(inp.imageDir, generation);
    out(chalk.bold(`Test upload as ${owner.name}, the way Allsky's upload.sh does it, into ${dirs.join(', ')}`));
    // One plain login first: a refused key shows in one connection, where lftp would retry for seconds.
    const login = await checkSftpLogin(asOwner, splitWords(readConnectProgram(setLine)!), inp.user, inp.port, inp.host);
    if (login.exitCode !== 0) {
      const failure = classifyUploadFailure(login.stderr || login.stdout);
      uploads = [{ dir: dirs.join(', '), ok: false, ms: 0, failure }];
    } else {
      uploads = await testUploads(asOwner, {
        host: inp.host, port: inp.port, user: inp.user, lftpCommands: generation === 'none' ? '' : setLine, password, dirs,
      });
    }
    for (const u of uploads) {
      out(`  ${u.ok ? chalk.green('pass') : chalk.red('FAIL')}  ${printable(u.dir)}/ — ${u.ok ? `put, rm -f, mv and clean-up in ${u.ms} ms` : printable(u.failure!.detail)}`);
    }
  }

  const failures = (uploads ?? []).filter((u) => !u.ok).map((u) => u.failure!);
  const refused = failures.some((f) => f.kind === 'key-refused');
  const result = { ok: failures.length === 0, dryRun: o.dryRun, ...summary, steps: reports, uploads: uploads ?? null };
  if (o.json) printJson(result);
  if (refused || (!inp.via && !uploads)) {
    out('');
    out(`On the collector, authorize this camera's key${refused ? ' (it is not accepted yet)' : ''}:`);
    out(`  ${chalk.cyan(handoff)}`);
    out(`Collector host key pinned here: ${chalk.bold(fp(pinnedKey))} — it must match what init printed on the collector.`);
    if (refused) {
      out(`Then run ${chalk.cyan('sftp-setup allsky-config')} again to test the upload.`);
      return EXIT_KEY_NOT_AUTHORIZED;
    }
    return 0;
  }
  if (failures.length > 0) {
    const f = failures[0]!;
    const fix =
      f.kind === 'host-key' ? `the collector's host key does not match the pinned one: the collector may be an impostor; if it was reinstalled, compare its fingerprint with what init printed there and run again with --host-key SHA256:… (or --replace-host-key)`
      : f.kind === 'missing-dir' ? `create the directories on the collector: sudo sftp-setup init --user ${inp.user} (its default tree has them)`
      : f.kind === 'unreachable' ? 'check that the collector is on and sshd runs (sudo sftp-setup doctor on the collector)'
      : f.kind === 'denied' ? `the account may not write there: sudo sftp-setup doctor --user ${inp.user} on the collector`
      : 'run sudo sftp-setup doctor on the collector, and sftp-setup doctor here';
    throw new FailError(`the test upload failed: ${f.detail}`, fix);
  }
  if (uploads) out(chalk.green(`Uploads work: Allsky will send its images to ${inp.user}@${inp.host}.`));
  return 0;
}

/**
 * `sftp-setup init`: the collector side. Gather and validate inputs, read the host, build the plan, show it,
 * apply it under a lock with backups, validate sshd before and after the reload, and prove the result with
 * a real SFTP session.
 */
import { paint } from '../text/color.js';
import { requireRoot, UsageError } from '../errors.js';
import { DEFAULT_DIRS, DEFAULT_ROOT, DEFAULT_USER, LOCK_PATH, BACKUP_ROOT, expandDirs, keysFileFor } from '../collector/layout.js';
import { parseDirList } from '../collector/dirs.js';
import { buildCollectorPlan, refuseBadTarget, type CollectorPlan, type CollectorSpec } from '../collector/plan.js';
import { readSshdState } from '../collector/inspect.js';
import { applyPlan } from '../plan/apply.js';
import { parseEffective } from '../sshd/effective.js';
import { EXIT } from '../exit-codes.js';
import { formatCheck, printJson } from '../report.js';
import { backupDirFor, Journal } from '../system/files.js';
import { readKeyArg } from '../system/key-input.js';
import { getAccount } from '../system/accounts.js';
import { cleanStaleProbeFiles, cleanStaleProbeKey, preloadProbeKey, probeAccount, startProbe, type ProbeResult, type ProbeTarget, type StartedProbe } from '../system/probe.js';
import { enableAndStart, isRunning, rememberSshdVersion, startHint, systemdRuns } from '../system/sshd.js';
import { parseCidrList, validateAbsPath, validatePort, validateUserName } from '../validate.js';
import { probeTargetFor, probeTargetFromEffective, probeTargetFromSettings } from '../collector/probe-target.js';
import { systemDirProblem } from '../collector/root-rules.js';
import { envPathProblem, refuseBadCollectorEnv } from '../collector/env-file.js';
import { protectMountStep } from '../collector/mount-step.js';
import { devLogDetachStep, devLogOffStep, devLogStep } from '../collector/devlog-step.js';
import type { LogSocket } from '../collector/devlog.js';
import { hostLogSocket } from '../system/devlog.js';
import { confirm } from '../prompt.js';
import { writeOut } from '../system/stdout.js';

export interface InitOptions {
  user: string;
  root: string;
  dirs?: string;
  key: string[];
  from?: string;
  profile: 'allsky' | 'dropbox';
  port?: string;
  adopt: boolean;
  /** give uploads a removed account left in --root to this account (refused without it) */
  takeOverUploads?: boolean;
  verify: boolean;
  collectorEnv?: string;
  /** also mount the upload tree nosuid,nodev,noexec (fstab + now) */
  protectMount?: boolean;
  /** accept camera certificates from the user CA (made here when missing) */
  ca?: boolean;
  /** upload logging: true (--log), false (--no-log), undefined: on where the host has a log socket */
  log?: boolean;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
}

export function parseInitInputs(o: InitOptions): CollectorSpec {
  const user = validateUserName(o.user ?? DEFAULT_USER, '--user');
  const root = validateAbsPath(o.root ?? DEFAULT_ROOT, '--root');
  const system = systemDirProblem(root);
  if (system) {
    throw new UsageError(
      `--root ${root}: ${system}, and the upload account would be chrooted into it with upload directories made inside`,
      'give a directory of its own for the uploads, such as /var/lib/allsky-uploads or /srv/sftp/allsky',
    );
  }
  const from = o.from !== undefined ? parseCidrList(o.from, '--from') : undefined;
  const port = o.port !== undefined ? validatePort(o.port, '--port') : undefined;
  const dirs = expandDirs(o.dirs !== undefined ? parseDirList(o.dirs, '--dirs') : DEFAULT_DIRS);
  const collectorEnv = o.collectorEnv !== undefined ? validateAbsPath(o.collectorEnv, '--collector-env') : undefined;
  const envProblem = collectorEnv !== undefined ? envPathProblem(collectorEnv) : null;
  if (envProblem) {
    throw new UsageError(`--collector-env ${collectorEnv} ${envProblem}; nothing was changed`, 'give the path of the collector application\'s own .env file, e.g. /opt/collector-app/.env');
  }
  const keys = o.key.flatMap((k) => readKeyArg(k, '--key'));
  return { user, root, dirs, keys, from, port, profile: o.profile, adopt: o.adopt, collectorEnv, ca: Boolean(o.ca), takeOverUploads: Boolean(o.takeOverUploads) };
}

export async function initCommand(o: InitOptions): Promise<number> {
  const spec = parseInitInputs(o);
  requireRoot('init changes accounts and sshd');
  const out = (s: string) => {
    if (!o.json) writeOut(s + '\n');
  };
  if (spec.collectorEnv) await refuseBadCollectorEnv(spec.collectorEnv);
  const socket = await hostLogSocket();
  spec.log = logDecision(o.log, socket);
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  let plan: CollectorPlan | undefined;
  let mainPath = '';
  let probe: ProbeResult[] | undefined;
  let early: Promise<{ target: ProbeTarget; probe: StartedProbe }> | undefined;
  // Where the self-test connects, from an sshd -T -C of the configuration as it now is: the reload step's
  // own when it reloaded, else a new one. (A run that changed nothing uses the early self-test instead.)
  const selfTestTarget = (): Promise<ProbeTarget> => {
    const reloaded = plan?.reloaded.effective;
    return reloaded !== undefined ? probeTargetFromEffective(spec, parseEffective(reloaded)) : probeTargetFor(spec, mainPath);
  };
  // Once finished, cancel does nothing; on every other way out it closes the connection and removes the key.
  const cancelEarly = async () => {
    await early?.then((e) => e.probe.cancel(), () => {});
  };
  const applied = await applyPlan({
    subject: `upload account ${spec.user} in ${spec.root}`, doing: 'Setting up', already: 'set up', done: 'Done.',
    lockPath: LOCK_PATH, journal, dryRun: o.dryRun, yes: o.yes, json: o.json, out,
    steps: async () => {
      // Read under the lock: a run that waited sees the accounts the run before it added (the limits count them).
      const reading = readSshdState();
      // While sshd -T runs: the refusals that need no sshd settings (they start the account listing, getent
      // where NSS has more than the files), and loading the probe key's crypto.
      const target = refuseBadTarget(spec);
      target.catch(() => {});
      if (!o.dryRun && o.verify) preloadProbeKey();
      // sshd's own verdict first, as when one ran after the other.
      const sshd = await reading;
      mainPath = sshd.mainPath;
      // The plan refuses a bad --root before anything is touched, the stale-probe clean-up included.
      plan = await buildCollectorPlan(spec, sshd, journal, target);
      // Holding the lock, anything a crashed probe left behind is stale: its key first, then the early
      // login starts, while the tree's leftovers go.
      if (!o.dryRun) await cleanStaleProbeKey(spec.user);
      // A re-run usually changes nothing: the self-test's login (most of its time) starts now, beside the
      // checks, where sshd's settings just read say (no sshd -T -C of its own). It is used when no step
      // changed anything and sshd ran all along; else the connection is closed and the self-test starts
      // afresh on the new configuration. Nothing in the upload tree is touched before the checks have run
      // (startProbe).
      if (!o.dryRun && o.verify && (await getAccount(spec.user))) {
        early = probeTargetFromSettings(spec, sshd.globalSettings, plan.block).then((t) => ({ target: t, probe: startProbe(t) }));
        early.catch(() => {});
        // Its ssh is started before the steps' checks take the event loop (they run during the login).
        await early.then((e) => e.probe.connecting, () => {});
      }
      if (!o.dryRun) await cleanStaleProbeFiles(spec.root, spec.dirs);
      // Once the tree exists: what the SFTP allow-list cannot bound (modes carried by OPEN and MKDIR).
      const steps = [...plan.steps];
      // The log socket's mount sits inside the tree: off while --protect-mount binds the tree onto itself
      // (it would end up hidden below that bind), on again after it.
      if (o.protectMount && spec.log && socket) steps.push(devLogDetachStep(spec.root, socket, journal));
      if (o.protectMount) steps.push(protectMountStep(spec.root, journal));
      steps.push(spec.log && socket ? devLogStep(spec.root, socket, journal) : devLogOffStep(spec.root, journal));
      return steps;
    },
    // Still under the lock, and rolled back if it throws: the self-test needs a running sshd.
    after: async (reports) => {
      if (o.dryRun) return;
      const wasRunning = await isRunning();
      if (!wasRunning && !(await offerToStartSshd(o))) return;
      if (!o.verify) return;
      const unchanged = wasRunning && !reports.some((r) => r.status === 'changed');
      const started = unchanged ? await early : undefined;
      // The early connection is of the configuration before the run: closed before a new probe writes the
      // same key file.
      if (!started) await cancelEarly();
      const target = started?.target ?? (await selfTestTarget());
      out(paint.bold(`Self-test: a real SFTP session as ${spec.user} on port ${target.port}`));
      probe = await (started ? started.probe.finish(target.dirs) : probeAccount(target));
      for (const p of probe) out(formatCheck(p));
    },
  }).finally(cancelEarly);
  if (applied.declined) return EXIT.failed;
  if (!o.dryRun) await rememberSshdVersion();
  if (!o.dryRun && !(await isRunning())) {
    // The files are right, but nobody can log in: that is not success, with or without the self-test.
    const why = `sshd is not running: the account is set up, but no upload can log in until it runs${o.verify ? ' (self-test skipped)' : ''}`;
    if (o.json) printJson({ ok: false, dryRun: false, steps: applied.reports, selfTest: null, error: why, fix: startHint() });
    else process.stderr.write(`${paint.yellow(`sftp-setup: ${why}`)} — start it with: ${startHint()}\n`);
    return EXIT.failed;
  }
  const ok = !probe || probe.every((p) => p.ok);
  const log = { enabled: Boolean(spec.log), socket: spec.log ? socket?.path ?? null : null };
  if (o.json) printJson({ ok, dryRun: o.dryRun, steps: applied.reports, selfTest: probe ?? null, keysFile: keysFileFor(spec.user), log });
  if (o.log === undefined && !socket && (applied.changed || o.dryRun)) out(paint.yellow(`Upload logging is off: this host has no log socket (no journald, no syslog daemon at /dev/log), so internal-sftp's lines would be lost. Start one, then run init again.`));
  if (!ok) {
    out(paint.red('The self-test failed: the account is set up but does not behave as it should. Run: sudo sftp-setup doctor'));
    return EXIT.failed;
  }
  if (!o.dryRun && spec.keys.length === 0 && applied.changed) {
    out(`Next: on the camera run ${paint.cyan(`sftp-setup allsky-config --collector <this host> --user ${spec.user}`)}`);
  }
  if (!o.dryRun) for (const fp of plan?.hostKeyFingerprints ?? []) out(`Host key of this collector: ${fp}`);
  return EXIT.ok;
}

/**
 * --log on a host without a log socket is bad input (the lines would go nowhere); without either option,
 * logging is on exactly where it can reach a log.
 */
function logDecision(wanted: boolean | undefined, socket: LogSocket | null): boolean {
  if (wanted === true && !socket) {
    throw new UsageError(
      '--log: this host has no log socket (neither journald\'s /run/systemd/journal/dev-log nor a syslog daemon\'s /dev/log), so internal-sftp\'s lines would be lost; nothing was changed',
      'start a syslog daemon (e.g. apt-get install rsyslog) and run again, or leave out --log',
    );
  }
  return wanted ?? socket !== null;
}

/** sshd is stopped: on a systemd host, offer to enable and start it (a terminal only). Is it running now? */
async function offerToStartSshd(o: InitOptions): Promise<boolean> {
  if (o.json || !systemdRuns()) return false;
  if (!(await confirm('sshd is not running. Enable and start it now (systemctl enable --now ssh)?'))) return false;
  await enableAndStart();
  return isRunning();
}

/**
 * `sftp-setup sync`: deliver the camera's Allsky archive (dated image folders with their keograms,
 * startrails, timelapses and thumbnails) to `archive/` on the collector, with the key, pinned host key and
 * connect-program allsky-config set up. Runs as the Allsky owner; root acting for the owner re-runs it as the
 * owner, so that nothing of the owner's tree is ever read, or deleted, with root's rights.
 * `--install` / `--uninstall`: the systemd timer that runs it (through the one apply path).
 */
import { paint } from '../text/color.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailError, UsageError, requireRoot } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { applyPlan } from '../plan/apply.js';
import { printJson } from '../report.js';
import { shownPath, printable } from '../text/printable.js';
import { readCameraSetup, type CameraSetup } from '../camera/read.js';
import { runAttached } from '../system/exec.js';
import { backupDirFor, Journal, readText, statPath } from '../system/files.js';
import { cameraLockPath } from '../system/lock.js';
import { runAsUser } from '../system/ssh-client.js';
import { insideArchive, readInterface } from '../system/sync-local.js';
import { readLink, verifyUnits } from '../system/systemd.js';
import { ConnectProgramProblem, sftpArgsFromConnectProgram } from '../sync/connect.js';
import { installSteps, uninstallSteps, type UnitFiles } from '../sync/install-plan.js';
import { interfaceVerdict } from '../sync/interface.js';
import { kbitOf, onCalendar, parseCount, parseEvery, parseInterface, parseRate, parseRemoteDir } from '../sync/options.js';
import { humanBytes, progressLine, summaryLine, type Counts } from '../sync/progress.js';
import { runSync, type SyncReport, type SyncUi } from '../sync/run.js';
import { isOurUnit, renderService, renderTimer, SERVICE_PATH, TIMER_PATH, UNIT_NAME, WANTS_LINK } from '../sync/units.js';
import { show, validateAbsPath, validateHostName, validatePort } from '../validate.js';
import { systemdRuns } from '../system/sshd.js';
import { stdoutIsTerminal, writeOut } from '../system/stdout.js';

export interface SyncOptions {
  allskyDir?: string;
  from?: string;
  remoteDir: string;
  collector?: string;
  port?: string;
  user?: string;
  onlyWhenInterface?: string;
  limitRate?: string;
  retries: string;
  minAge: string;
  deleteAfterUpload?: string;
  install: boolean;
  uninstall: boolean;
  every: string;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
}

interface Inputs {
  remoteDir: string;
  host?: string;
  port?: number;
  user?: string;
  iface?: string;
  rate?: number;
  retries: number;
  minAge: number;
  from?: string;
  deleteDir?: string;
  every: number;
}

/** Wait before the first retry (3×, 9× … after it); tests shorten it. */
const BACKOFF_MS = Number(process.env.SFTP_SETUP_SYNC_BACKOFF_MS ?? 15_000);
const REMOTE_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;

function parseInputs(o: SyncOptions): Inputs {
  if (o.install && o.uninstall) throw new UsageError('--install and --uninstall exclude each other', 'give one of them');
  if (o.user !== undefined && !REMOTE_USER.test(o.user)) {
    throw new UsageError(`--user ${show(o.user)} is not an account name`, 'give the upload account on the collector, e.g. --user allsky-upload');
  }
  return {
    remoteDir: parseRemoteDir(o.remoteDir ?? 'archive'),
    host: o.collector !== undefined ? validateHostName(o.collector, '--collector') : undefined,
    port: o.port !== undefined ? validatePort(o.port, '--port') : undefined,
    user: o.user,
    iface: o.onlyWhenInterface !== undefined ? parseInterface(o.onlyWhenInterface) : undefined,
    rate: o.limitRate !== undefined ? parseRate(o.limitRate) : undefined,
    retries: parseCount(o.retries ?? '3', '--retries', 20),
    minAge: parseCount(o.minAge ?? '120', '--min-age', 86_400),
    from: o.from !== undefined ? validateAbsPath(o.from, '--from') : undefined,
    deleteDir: o.deleteAfterUpload !== undefined ? validateAbsPath(o.deleteAfterUpload, '--delete-after-upload') : undefined,
    every: parseEvery(o.every ?? '15'),
  };
}

/** Where and how to connect, from Allsky's settings and the connect-program, or the flags. */
function connection(setup: CameraSetup, inp: Inputs) {
  const rerun = 'sftp-setup allsky-config --collector HOST (it writes the key, the pinned host key and the connect-program sync uses)';
  if (!setup.connectProgram) throw new UsageError(`no sftp:connect-program in Allsky's LFTP commands or ${setup.owner.home}/.lftp/rc; nothing was sent`, `run ${rerun}`);
  try {
    sftpArgsFromConnectProgram(setup.connectProgram);
  } catch (e) {
    if (e instanceof ConnectProgramProblem) throw new UsageError(`${e.message} (${setup.connectFrom}); nothing was sent`, `run ${rerun}`);
    throw e;
  }
  const host = inp.host ?? setup.remote.host;
  const user = inp.user ?? setup.remote.user;
  if (!host || !user) throw new UsageError(`no collector ${host ? 'user' : 'host'} in Allsky's settings; nothing was sent`, `give --collector HOST and --user NAME, or run ${rerun}`);
  const port = inp.port ?? setup.remote.port ?? 22;
  if (inp.host === undefined) validateHostName(host, `the collector host in ${setup.settingsFile}`);
  if (!REMOTE_USER.test(user)) throw new UsageError(`the collector user ${show(user)} in ${setup.settingsFile} is not an account name`, 'give --user NAME');
  validatePort(port, `the collector port in ${setup.settingsFile}`);
  return { connectProgram: setup.connectProgram, host, port, user };
}

async function archiveOf(setup: CameraSetup, inp: Inputs): Promise<{ root: string; deletePrefix?: string }> {
  const root = inp.from ?? (setup.allskyDir ? join(setup.allskyDir, 'images') : undefined);
  if (!root) throw new UsageError(`no Allsky install found${setup.allskyProblem ? ` (${setup.allskyProblem})` : ''}; nothing was sent`, 'give --allsky-dir DIR, or the archive with --from DIR');
  const st = await statPath(root);
  if (st?.type !== 'dir' && !(st?.type === 'symlink' && (await statPath(`${root}/.`))?.type === 'dir')) {
    throw new UsageError(`the archive ${root} ${st ? 'is not a directory' : 'does not exist'}; nothing was sent`, 'give the directory holding the dated folders with --from DIR');
  }
  if (inp.deleteDir === undefined) return { root };
  const deletePrefix = await insideArchive(root, inp.deleteDir);
  if (deletePrefix === undefined) {
    throw new UsageError(`--delete-after-upload ${inp.deleteDir} is not a directory inside the archive being delivered (${root}); nothing was sent`, `name the archive or one of its folders, e.g. --delete-after-upload ${root}`);
  }
  return { root, deletePrefix };
}

export async function syncCommand(o: SyncOptions): Promise<number> {
  const inp = parseInputs(o);
  if (o.uninstall) return uninstallTimer(o);
  const setup = await readCameraSetup({ allskyDir: o.allskyDir });
  if (o.install) return installTimer(setup, inp, o);
  const conn = connection(setup, inp);
  const archive = await archiveOf(setup, inp);
  // Root acting for the owner: the whole run as the owner (reading, sending, deleting, the state file).
  if (process.getuid?.() === 0 && setup.owner.uid !== 0) return asOwner(setup, o);
  const home = setup.owner.home;
  const ui = terminalUi(o);
  const report = await runSync({
    archiveRoot: archive.root, home, remoteDir: inp.remoteDir, connect: conn, limitKbit: inp.rate ? kbitOf(inp.rate) : undefined,
    retries: inp.retries, backoffBaseMs: BACKOFF_MS, minAgeMs: inp.minAge * 1000, deletePrefix: archive.deletePrefix,
    onlyWhenInterface: inp.iface, dryRun: o.dryRun, ui,
  });
  ui.done();
  return finish(report, o, `${conn.user}@${conn.host}:${inp.remoteDir}/`);
}

/** Re-run this very command as the Allsky owner, on our terminal. */
async function asOwner(setup: CameraSetup, o: SyncOptions): Promise<number> {
  const cli = process.argv[1]!;
  // This module's own file: the code the owner's run loads (the dist tree, or the .deb's single bundle).
  const code = fileURLToPath(import.meta.url);
  for (const p of [cli, code]) {
    if ((await runAsUser(setup.owner, 'test', ['-r', p])).exitCode !== 0) {
      throw new FailError(`${setup.owner.name} cannot read ${p}, so sync cannot run as the Allsky owner`, `install sftp-setup where every user can read it (npm install -g, or the .deb), or run sync as ${setup.owner.name}`);
    }
  }
  const args = process.argv.slice(2);
  if (o.allskyDir === undefined && setup.allskyDir) args.push('--allsky-dir', setup.allskyDir);
  const who = setup.owner;
  return runAttached('setpriv', [`--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups', '--', process.execPath, cli, ...args], {
    env: { HOME: who.home, USER: who.name, LOGNAME: who.name, XDG_RUNTIME_DIR: undefined },
  });
}

interface Ui extends SyncUi {
  done(): void;
}

/** On a terminal one line rewritten in place, a few times a second; elsewhere nothing until the summary. */
function terminalUi(o: SyncOptions): Ui {
  const live = !o.json && stdoutIsTerminal();
  const started = performance.now();
  let total: Counts = { files: 0, bytes: 0 };
  let last = 0;
  let shown = false;
  const draw = (done: Counts, force = false) => {
    const t = performance.now();
    if (!live || (!force && t - last < 250)) return;
    last = t;
    shown = true;
    writeOut(`\r${progressLine({ done, total, elapsedMs: t - started })}\x1b[K`);
  };
  const clear = () => {
    if (shown) writeOut('\r\x1b[K');
    shown = false;
  };
  return {
    start: (t) => {
      total = t;
      if (t.files) draw({ files: 0, bytes: 0 }, true);
    },
    progress: (done) => draw(done),
    note: (line) => {
      clear();
      if (!o.json) writeOut(`${printable(line)}\n`);
    },
    done: clear,
  };
}

function finish(r: SyncReport, o: SyncOptions, where: string): number {
  const refused = r.refused.map((s) => ({ path: s.path, why: s.why }));
  if (o.json) {
    printJson({
      ok: r.ok, dryRun: r.dryRun, skipped: r.skipped ?? null, destination: where, delivered: r.delivered, resumed: r.resumed, present: r.present,
      wouldSend: r.wouldSend ?? null, deleted: r.deleted, waiting: r.waiting, backlog: r.backlog, refused, attempts: r.attempts,
      elapsedMs: Math.round(r.elapsedMs), error: r.failure?.reason ?? null, fix: r.failure?.fix ?? null,
    });
  } else {
    const out = (s: string) => writeOut(s + '\n');
    for (const s of r.refused.slice(0, 20)) out(`  ${paint.yellow('skipped')}  ${shownPath(s.path)} — ${s.why}`);
    if (r.refused.length > 20) out(`  ${paint.yellow('skipped')}  … and ${r.refused.length - 20} more (--json lists them all)`);
    if (r.skipped) {
      out(`Not syncing: ${printable(r.skipped)} (no connection made). Backlog about ${r.backlog.files} files (${humanBytes(r.backlog.bytes)}).`);
      return EXIT.ok;
    }
    if (r.wouldSend) {
      for (const p of r.wouldSend.paths.slice(0, 20)) out(`  ${paint.yellow('would')}  ${p}`);
      if (r.wouldSend.paths.length > 20) out(`  ${paint.yellow('would')}  … and ${r.wouldSend.paths.length - 20} more`);
      out(`Dry run: would send ${r.wouldSend.files} files (${humanBytes(r.wouldSend.bytes)}) to ${where}; ${r.present.files} already there. Nothing was sent.`);
      return EXIT.ok;
    }
    const line = summaryLine({ delivered: r.delivered, present: r.present, backlog: r.backlog, deleted: r.deleted.length, skipped: r.refused.length, waiting: r.waiting.files, elapsedMs: r.elapsedMs });
    out(r.ok ? line : paint.yellow(line));
  }
  if (r.failure) throw new FailError(r.failure.reason, r.failure.fix);
  return EXIT.ok;
}

async function unitFiles(): Promise<UnitFiles & { foreign?: string }> {
  const [s, t, si, ti, link, systemd] = await Promise.all([
    readText(SERVICE_PATH), readText(TIMER_PATH), statPath(SERVICE_PATH), statPath(TIMER_PATH), readLink(WANTS_LINK), systemdRuns(),
  ]);
  const foreign = [[SERVICE_PATH, s], [TIMER_PATH, t]].find(([, text]) => text !== null && !isOurUnit(text!))?.[0] ?? undefined;
  return { service: { before: s, info: si, want: '' }, timer: { before: t, info: ti, want: '' }, link, systemd, foreign: foreign ?? undefined };
}

function refuseForeign(f: { foreign?: string }): void {
  if (f.foreign) throw new UsageError(`${f.foreign} exists and was not written by sftp-setup; nothing was changed`, `move it away first (it may be someone else's ${UNIT_NAME} unit)`);
}

async function installTimer(setup: CameraSetup, inp: Inputs, o: SyncOptions): Promise<number> {
  requireRoot('sync --install writes a systemd service and timer');
  if (setup.owner.uid === 0) throw new UsageError('the Allsky install belongs to root; the timer runs sync as the install\'s owner, never as root', 'install Allsky as a normal user (Allsky\'s own installer refuses root too)');
  connection(setup, inp);
  const archive = await archiveOf(setup, inp);
  if (inp.iface !== undefined) {
    const why = interfaceVerdict(inp.iface, await readInterface(inp.iface));
    if (why?.endsWith('does not exist') && !o.json) process.stderr.write(paint.yellow(`note: ${why} now: the timer will skip every run until it appears\n`));
  }
  const command = [process.execPath, process.argv[1]!, 'sync', ...(setup.allskyDir ? ['--allsky-dir', setup.allskyDir] : []), ...runArgs(inp, archive.root, o)];
  const spec = { owner: setup.owner.name, command, everyCalendar: onCalendar(inp.every), description: `Deliver the Allsky archive of ${setup.owner.name} to the collector (sftp-setup sync)` };
  const service = renderService(spec);
  const timer = renderTimer(spec);
  const journal = new Journal(backupDirFor('/var/backups/sftp-setup'));
  let systemd = false;
  const applied = await applyPlan({
    subject: `the sync timer: sftp-setup sync as ${setup.owner.name}, ${spec.everyCalendar}`,
    doing: 'Installing', already: 'installed', done: 'Sync timer installed.',
    lockPath: cameraLockPath(), journal, dryRun: o.dryRun, yes: o.yes, json: o.json,
    steps: async () => {
      const f = await unitFiles();
      refuseForeign(f);
      const bad = await verifyUnits({ [`${UNIT_NAME}.service`]: service, [`${UNIT_NAME}.timer`]: timer });
      if (bad) throw new FailError(`systemd-analyze verify refuses the new units: ${bad}; nothing was changed`);
      systemd = f.systemd;
      return installSteps({ ...f, service: { ...f.service, want: service }, timer: { ...f.timer, want: timer } }, journal);
    },
  });
  if (applied.declined) return EXIT.failed;
  if (o.json) printJson({ ok: true, dryRun: o.dryRun, service: SERVICE_PATH, timer: TIMER_PATH, command, schedule: spec.everyCalendar, systemdRunning: systemd, steps: applied.reports });
  else if (!o.dryRun && !systemd) writeOut('systemd is not running here: the timer starts at the next boot.\n');
  return EXIT.ok;
}

/** The options a timer run repeats (validated already; they only hold words systemd reads back unchanged). */
function runArgs(inp: Inputs, root: string, o: SyncOptions): string[] {
  const a: string[] = [];
  if (inp.from !== undefined) a.push('--from', root);
  if (inp.remoteDir !== 'archive') a.push('--remote-dir', inp.remoteDir);
  if (inp.host !== undefined) a.push('--collector', inp.host);
  if (inp.port !== undefined) a.push('--port', String(inp.port));
  if (inp.user !== undefined) a.push('--user', inp.user);
  if (inp.iface !== undefined) a.push('--only-when-interface', inp.iface);
  if (o.limitRate !== undefined) a.push('--limit-rate', o.limitRate.trim());
  if (o.retries !== undefined && inp.retries !== 3) a.push('--retries', String(inp.retries));
  if (o.minAge !== undefined && inp.minAge !== 120) a.push('--min-age', String(inp.minAge));
  if (inp.deleteDir !== undefined) a.push('--delete-after-upload', inp.deleteDir);
  return a;
}

async function uninstallTimer(o: SyncOptions): Promise<number> {
  requireRoot('sync --uninstall removes the systemd service and timer');
  const journal = new Journal(backupDirFor('/var/backups/sftp-setup'));
  const applied = await applyPlan({
    subject: 'the sync timer', doing: 'Removing', already: 'removed', done: 'Sync timer removed.',
    lockPath: cameraLockPath(), journal, dryRun: o.dryRun, yes: o.yes, json: o.json,
    steps: async () => {
      const f = await unitFiles();
      refuseForeign(f);
      return uninstallSteps(f, journal);
    },
  });
  if (applied.declined) return EXIT.failed;
  if (o.json) printJson({ ok: true, dryRun: o.dryRun, steps: applied.reports });
  return EXIT.ok;
}

/**
 * `sftp-setup allsky-config`: the camera side, in init's shape — inputs, trust (which collector host key to
 * pin: camera/host-trust), plan (key, known_hosts, lftp rc, Allsky's files: camera/config-plan), apply (the
 * one apply path), then hand the key to the collector (printed, or done over the admin's SSH with --via:
 * camera/authorize-via) and verify with the exact lftp sequence Allsky's upload.sh runs, into every
 * directory Allsky writes to (camera/verify-uploads).
 */
import { paint } from '../text/color.js';
import { posix } from 'node:path';
import { FailError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { remoteDirs } from '../allsky/detect.js';
import { connectProgramSetLine } from '../lftp/connect-program.js';
import { applyPlan } from '../plan/apply.js';
import { printJson } from '../report.js';
import { printable } from '../text/printable.js';
import { backupDirFor, Journal, statPath } from '../system/files.js';
import { cameraLockPath } from '../system/lock.js';
import type { RunAs } from '../system/ssh-client.js';
import { validateAdminTarget, validateFingerprint, validateHostName, validatePort, validateUserName, show } from '../validate.js';
import { handoffLine, signLine } from '../camera/handoff.js';
import { certStep, enrollOverVia } from '../camera/cert-enroll.js';
import { locateAllsky, type AllskyInstall } from '../camera/read.js';
import { decideHostTrust, fp, type Collector, type HostTrust } from '../camera/host-trust.js';
import { cameraSteps, CONTROL_DIR, readCameraFiles, type Camera, type CameraFiles } from '../camera/config-plan.js';
import { authorizeOverVia } from '../camera/authorize-via.js';
import { uploadFailureFix, verifyUploads, type UploadResult } from '../camera/verify-uploads.js';
import { DEFAULT_USER } from '../collector/layout.js';
import { DEFAULT_LOCK_WAIT_SECONDS } from '../lock.js';
import { writeOut } from '../system/stdout.js';

export { CONTROL_DIR };

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
  /** certify the key with the collector's CA over --via, and trust its host CA (no authorized_keys entry) */
  cert?: boolean;
  multiplex: boolean;
  test: boolean;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
  /** --wait: for the camera's lock, and passed on to the collector's run over --via */
  wait?: number;
}

/** Exit status when the camera is configured but the collector does not accept its key yet (documented). */
export const EXIT_KEY_NOT_AUTHORIZED = EXIT.keyNotAuthorized;

// root: /run/sftp-setup/camera.lock; another user: a directory of its own (never the world-writable /run/lock)
const LOCK = cameraLockPath();
const ROOT_BACKUPS = '/var/backups/sftp-setup';

interface Inputs extends Collector {
  imageDir: string;
}

function parseInputs(o: AllskyConfigOptions): Inputs {
  const via = o.via !== undefined ? { ...validateAdminTarget(o.via, '--via'), wait: o.wait ?? DEFAULT_LOCK_WAIT_SECONDS } : undefined;
  if (o.collector === undefined && !via) {
    throw new UsageError('--collector is missing', 'give the collector\'s name or address, e.g. --collector collector.local');
  }
  if (o.cert && !via) throw new UsageError('--cert needs --via ADMIN@COLLECTOR: the collector signs the key over your own SSH access', 'add --via, e.g. --via root@collector.local');
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
  // The admin's sshd is the upload sshd when --via names the collector: the same --port.
  const viaPort = via?.host === host ? port : undefined;
  return { host, port, user, pinned, via, viaPort, imageDir };
}

/** The Allsky owner, its home and the key: the key path ends up in the connect-program, which refuses unsafe ones. */
async function cameraFor(install: AllskyInstall, o: AllskyConfigOptions): Promise<Camera> {
  const owner = install.owner;
  const home = owner.home.replace(/\/+$/, '') || '/';
  const inHome = (p: string) => posix.join(home, p);
  const keyArg = o.key ?? '~/.ssh/allsky_upload';
  const keyPath = keyArg.startsWith('~/') ? inHome(keyArg.slice(2)) : keyArg;
  if (!keyPath.startsWith('/')) throw new UsageError(`--key ${show(keyArg)} is not an absolute path`, 'give an absolute path, or ~/… for the Allsky owner\'s home');
  const controlDir = o.multiplex ? inHome(CONTROL_DIR) : undefined;
  const setLine = connectProgramSetLine({ keyPath, controlDir });
  const keyDir = posix.dirname(keyPath);
  if (keyDir !== inHome('.ssh') && (await statPath(keyDir))?.type !== 'dir') {
    throw new UsageError(`--key ${keyPath}: directory ${keyDir} does not exist`, 'create it first or choose another --key');
  }
  return { owner, generation: install.classification.generation, install, inHome, keyPath, controlDir, setLine };
}

export async function allskyConfigCommand(o: AllskyConfigOptions): Promise<number> {
  const inp = parseInputs(o);
  const out = (s: string) => void (o.json || writeOut(s + '\n'));
  const warn = (s: string) => void process.stderr.write(paint.yellow(s) + '\n');
  const cam = await cameraFor(await locateAllsky({ allskyDir: o.allskyDir, allsky: o.allsky }), o);
  const asOwner: RunAs | undefined = process.getuid?.() === cam.owner.uid ? undefined : cam.owner;
  // Read everything and compute every new file before touching anything: bad files stop the run here.
  const files = await readCameraFiles(cam, inp);
  const enrolled = o.cert && inp.via
    ? await enrollOverVia({ ...inp, via: inp.via }, { keyPath: cam.keyPath, publicLine: files.key.publicLine, fingerprint: files.key.fingerprint, dryRun: o.dryRun, khText: files.khText })
    : undefined;
  // Without a host certificate of the collector's CA, --cert still pins its host key (read over --via).
  const host = enrolled?.host ?? await decideHostTrust(inp, {
    yes: o.yes, dryRun: o.dryRun, replaceHostKey: o.replaceHostKey, khPath: files.khPath, khText: files.khText, owner: asOwner ?? cam.owner, out, warn,
  });
  if (host === 'declined') {
    out('Nothing changed.');
    return EXIT.failed;
  }
  const asRoot = process.getuid?.() === 0;
  const journal = new Journal(backupDirFor(asRoot ? ROOT_BACKUPS : cam.inHome('.local/state/sftp-setup/backups')));
  const i = cam.install;
  const applied = await applyPlan({
    subject: `uploads as ${cam.owner.name} to ${inp.user}@${inp.host}:${inp.port}` +
      paint.dim(` — Allsky: ${cam.generation === 'none' ? 'not configured (--no-allsky)' : `${cam.generation} generation${i.classification.version ? ` (${i.classification.version})` : ''} in ${i.paths!.home}`}`),
    doing: 'Configuring', already: 'configured', done: 'Camera configured.',
    lockPath: LOCK, journal, steps: cameraSteps(cam, files, host, journal, asRoot, enrolled && certStep(enrolled.cert, { uid: cam.owner.uid, gid: cam.owner.gid }, journal)),
    dryRun: o.dryRun, yes: o.yes, json: o.json, out,
  });
  if (applied.declined) return EXIT.failed;
  const summary = summaryOf(cam, files, inp, host, o.multiplex, Boolean(enrolled));
  // A certified key needs no authorized_keys entry on the collector.
  if (inp.via && !o.dryRun && !enrolled) {
    const via = await authorizeOverVia(inp.via, inp.user, files.key.publicLine, inp.viaPort);
    if (!via.ok) {
      if (o.json) printJson({ ok: false, dryRun: false, ...summary, steps: applied.reports, error: via.output });
      out(`Run this on the collector instead:\n  ${paint.cyan(summary.handoff)}`);
      throw via.error!;
    }
    out(`  ${paint.green('changed  ')} key authorized on the collector via ${inp.via.user}@${inp.via.host}` + (via.output ? ` — ${printable(via.output.split('\n').pop())}` : ''));
  }
  let uploads: UploadResult[] | undefined;
  if (!o.dryRun && o.test) {
    const dirs = cam.generation === 'none' ? [inp.imageDir] : remoteDirs(inp.imageDir, cam.generation);
    out(paint.bold(`Test upload as ${cam.owner.name}, the way Allsky's upload.sh does it, into ${dirs.join(', ')}`));
    uploads = await verifyUploads(asOwner, cam.setLine, {
      host: inp.host, port: inp.port, user: inp.user, lftpCommands: cam.generation === 'none' ? '' : cam.setLine, password: files.password, dirs,
    });
    for (const u of uploads) {
      out(`  ${u.ok ? paint.green('pass') : paint.red('FAIL')}  ${printable(u.dir)}/ — ${u.ok ? `put, rm -f, mv and clean-up in ${u.ms} ms` : printable(u.failure!.detail)}`);
    }
  }
  if (o.json) printJson({ ok: (uploads ?? []).every((u) => u.ok), dryRun: o.dryRun, ...summary, steps: applied.reports, uploads: uploads ?? null });
  return finish(inp, summary, uploads, out);
}

function summaryOf(cam: Camera, files: CameraFiles, inp: Inputs, host: HostTrust, multiplex: boolean, certificate: boolean) {
  return {
    owner: cam.owner.name, generation: cam.generation, keyPath: cam.keyPath, keyFingerprint: files.key.fingerprint, publicKey: files.key.publicLine,
    collector: { host: inp.host, port: inp.port, user: inp.user, hostKey: fp(host.pinnedKey), trust: host.trust, ...(host.certAuthority ? { hostCertificateAuthority: true } : {}) },
    multiplex, handoff: certificate ? signLine(inp.user, files.key.publicLine) : handoffLine(inp.user, files.key.publicLine),
    ...(certificate ? { certificate: `${cam.keyPath}-cert.pub` } : {}),
  };
}

/** The last words: the handoff when the collector does not know the key yet, the fix of a failed upload, or success. */
function finish(inp: Inputs, summary: ReturnType<typeof summaryOf>, uploads: UploadResult[] | undefined, out: (s: string) => void): number {
  const failures = (uploads ?? []).filter((u) => !u.ok).map((u) => u.failure!);
  const refused = failures.some((f) => f.kind === 'key-refused');
  if (refused || (!inp.via && !uploads)) {
    out('');
    out(`On the collector, authorize this camera's key${refused ? ' (it is not accepted yet)' : ''}:`);
    out(`  ${paint.cyan(summary.handoff)}`);
    out(`Collector host key pinned here: ${paint.bold(summary.collector.hostKey)} — it must match what init printed on the collector.`);
    if (!refused) return EXIT.ok;
    out(`Then run ${paint.cyan('sftp-setup allsky-config')} again to test the upload.`);
    return EXIT_KEY_NOT_AUTHORIZED;
  }
  const f = failures[0];
  if (f) throw new FailError(`the test upload failed: ${f.detail}`, uploadFailureFix(f, inp.user));
  if (uploads) out(paint.green(`Uploads work: Allsky will send its images to ${inp.user}@${inp.host}.`));
  return EXIT.ok;
}

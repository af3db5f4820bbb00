/**
 * `keys rotate`: the five steps, each recorded in the state file once done, so that any interruption is
 * continued by the next run. Before the switch the camera never stops using its old key; after it, a
 * failure puts the old key back while the collector still accepts it.
 */
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { EXIT } from '../exit-codes.js';
import { FailError, UsageError } from '../errors.js';
import { inspectPrivateKey } from '../keys/private.js';
import { splitKeyLine } from '../keys/parse.js';
import { acquireLock, backupDirFor, Journal, readText, resolveLinks, statPath } from '../system/files.js';
import { applyPlan } from '../plan/apply.js';
import type { Step } from '../plan/step.js';
import { fileStep } from '../camera/plan.js';
import { cameraLockPath } from '../system/lock.js';
import { readCamera, type Camera } from './camera.js';
import { collectorLine } from '../camera/handoff.js';
import { viewConnect } from '../lftp/rc.js';
import { editEnvJson, editFtpSettings, editRc } from './connect.js';
import { removeFiles, switchKeys, unswitchKeys, writeNewCert, writeNewKey } from './keyfiles.js';
import { certifyOverVia, type ViaCollector } from '../camera/cert-enroll.js';
import { showValidity } from '../ca/cert-info.js';
import { readCertificate } from '../system/ssh-keygen.js';
import { allskyStyleUpload, closeShared, probeKey, viaCollector } from './ssh.js';
import { newKeyComment, parseState, reached, renderState, rotatePaths, type RotatePaths, type RotateState, type RotateStep } from './state.js';
import { writeOut } from '../system/stdout.js';

export interface RotateOptions {
  via?: string;
  allskyDir?: string;
  key?: string;
  dryRun?: boolean;
  json?: boolean;
  yes?: boolean;
  /** --wait: for the camera's lock, and passed on to the collector's runs over --via */
  wait?: number;
}

export interface RotateEvent {
  step: string;
  status: 'done' | 'already' | 'would' | 'waiting' | 'failed' | 'warning' | 'rolled-back';
  detail: string;
}

export interface RotateReport {
  keyPath: string;
  collector: string;
  via?: string;
  oldFingerprint?: string;
  newFingerprint?: string;
  step?: RotateStep | 'done';
  events: RotateEvent[];
  /** the line to run on the collector when the rotation waits for a person */
  collectorCommand?: string;
  exitCode: number;
}

/** Test seam: SFTP_SETUP_ROTATE_STOP_AFTER=<step> kills the run right after that point, like a power cut. */
function stopPoint(name: string): void {
  if (process.env.SFTP_SETUP_ROTATE_STOP_AFTER === name) process.kill(process.pid, 'SIGKILL');
}

class Waiting extends Error {
  constructor(readonly command: string) {
    super('waiting for the collector');
  }
}

export async function rotate(opts: RotateOptions, emit: (e: RotateEvent) => void): Promise<RotateReport> {
  const cam = await readCamera(opts);
  const p = rotatePaths(cam.keyPath);
  const report: RotateReport = {
    keyPath: cam.keyPath,
    collector: `${cam.user}@${cam.host}:${cam.port}`,
    ...(opts.via ? { via: opts.via } : {}),
    events: [],
    exitCode: EXIT.ok,
  };
  const log = (step: string, status: RotateEvent['status'], detail: string) => {
    const e = { step, status, detail };
    report.events.push(e);
    emit(e);
  };

  // The camera's lock, shared with allsky-config: both change the upload key and lftp's settings.
  const release = opts.dryRun ? async () => {} : await acquireLock(cameraLockPath());
  try {
    let state = await loadState(p);
    if (state === null) {
      const old = await currentKey(p);
      report.oldFingerprint = old.fingerprint;
      for (const f of [p.oldKey, p.oldCert]) {
        if (await statPath(f)) throw new UsageError(`${f} exists but no rotation is under way`, `move ${f} away (it is not sftp-setup's), then run again`);
      }
      const certificate = await certificateCamera(p, old.fingerprint, cam);
      if (opts.dryRun) {
        log('generate', 'would', `generate a new ed25519 key in ${p.newKey}`);
        log('authorize', 'would', certificate ? `have the collector's CA certify it for ${cam.user} as ${cam.via!.user}@${cam.via!.host}, into ${p.newCert} (no authorized_keys entry)`
          : cam.via ? `add it on the collector as ${cam.via.user}@${cam.via.host}` : `ask you to run: ${addLine(cam, '<new key>')}`);
        log('prove', 'would', `upload with only the new key into ${cam.imageDir || '/'} on ${cam.host}`);
        log('switch', 'would', `move the new key${certificate ? ' and its certificate' : ''} to ${p.key}, keep the old one as ${p.oldKey}${cam.controlPath ? ', close the shared SSH connection' : ''}`);
        log('revoke', 'would', certificate ? `revoke ${old.fingerprint} and its certificates in the collector's KRL, prove it is refused and the new key works`
          : `remove ${old.fingerprint} on the collector, prove it is refused and the new key works`);
        report.step = undefined;
        return report;
      }
      await removeFiles([p.newKey, p.newPub, p.newCert]); // left by a run stopped before it recorded anything
      const gen = (await import('../keys/generate.js')).generateEd25519(newKeyComment(old.comment, `${cam.owner.name}@${hostname()}`, new Date()));
      await writeNewKey(p, gen.privateKey, gen.publicLine, cam.owner);
      state = {
        version: 1, step: 'generated', startedAt: new Date().toISOString(), keyPath: p.key,
        oldFingerprint: old.fingerprint, oldPublicLine: old.publicLine, newFingerprint: gen.fingerprint, newPublicLine: gen.publicLine,
        ...(certificate ? { certificate } : {}),
      };
      await saveState(p, state, cam);
      log('generate', 'done', `new key ${gen.fingerprint} in ${p.newKey}`);
      stopPoint('generated');
    } else {
      if (state.certificate) needVia(cam, p);
      log('resume', 'already', `continuing the rotation started ${state.startedAt} (step reached: ${state.step})`);
    }
    report.oldFingerprint = state.oldFingerprint;
    report.newFingerprint = state.newFingerprint;
    report.step = state.step;
    if (opts.dryRun) {
      describeRest(state, cam, log);
      return report;
    }

    try {
      // A certificate that went missing before the switch is asked for again (a new serial, for the same key).
      const lostCert = state.certificate === true && !reached(state, 'switching') && !(await statPath(p.newCert));
      if (!reached(state, 'authorized') || lostCert) {
        await authorize(cam, state, opts, log);
        if (!reached(state, 'authorized')) state = await advance(p, state, 'authorized', cam);
      }
      if (!reached(state, 'proven')) {
        const probe = await probeKey(cam, p.newKey);
        if (!probe.ok) {
          throw new FailError(
            `the new key does not work on the collector: ${probe.detail}; the camera still uses its old key`,
            !probe.refused ? 'fix the connection, then run this again (it continues where it stopped)'
              : state.certificate ? `check that ${cam.user} accepts certificates (on the collector: sudo sftp-setup doctor), then run this again`
                : `authorize it: ${addLine(cam, state.newPublicLine)} — then run this again`,
          );
        }
        log('prove', 'done', `only the new key, pinned host key: ${probe.detail}`);
        state = await advance(p, state, 'proven', cam);
      }
      if (!reached(state, 'switched')) {
        if (state.step !== 'switching') state = await advance(p, state, 'switching', cam);
        await switchKeys(p, state.oldFingerprint, () => stopPoint('half-switched'));
        const edited = await editConfigs(cam, log);
        const closed = await closeShared(cam);
        log('switch', 'done', `new key in ${p.key}, old kept as ${p.oldKey}${edited ? `, ${edited}` : ''}${closed ? ', shared SSH connection closed' : ''}`);
        state = await advance(p, state, 'switched', cam);
      }
    } catch (err) {
      if (err instanceof Waiting) return waiting(report, err, log);
      throw err;
    }

    if (!reached(state, 'old-removed')) {
      const upload = await allskyStyleUpload(cam);
      if (!upload.ok) {
        await rollBack(cam, p, state, log);
        throw new FailError(
          `the camera's upload configuration failed with the new key (${upload.detail}); the old key is back in ${p.key} and still authorized`,
          `run sftp-setup doctor on the camera, then rotate again`,
        );
      }
      log('check', 'done', `Allsky-style upload with the camera's configuration: ${upload.detail}`);
      try {
        await revoke(cam, p, state, opts, log);
      } catch (err) {
        if (err instanceof Waiting) return waiting(report, err, log);
        throw err;
      }
      const after = await probeKey(cam, p.key);
      if (!after.ok) throw new FailError(`the new key stopped working after the old one was removed: ${after.detail}`, 'run sftp-setup doctor on both Pis');
      log('verify', 'done', `old key refused, new key ${state.newFingerprint} works`);
      state = await advance(p, state, 'old-removed', cam);
    }
    await removeFiles([p.oldKey, p.oldPub, p.oldCert]);
    await removeFiles([p.state]);
    report.step = 'done';
    log('done', 'done', `the camera uploads with ${state.newFingerprint}; the old key ${state.oldFingerprint} is revoked`);
    return report;
  } finally {
    await release();
  }
}

function waiting(report: RotateReport, w: Waiting, log: (s: string, st: RotateEvent['status'], d: string) => void): RotateReport {
  report.collectorCommand = w.command;
  report.exitCode = EXIT.resumable;
  log('wait', 'waiting', `run on the collector: ${w.command} — then run this command again; the camera keeps uploading with a working key meanwhile`);
  return report;
}

function addLine(cam: Camera, publicLine: string): string {
  return collectorLine(['keys', 'add', '--user', cam.user, publicLine]);
}

function removeLine(cam: Camera, fp: string): string {
  return collectorLine(['keys', 'remove', '--user', cam.user, fp]);
}

/** The collector as allsky-config --cert --via asks it, trusting the host key the camera pinned too. */
function viaTarget(cam: Camera): ViaCollector {
  const via = cam.via!;
  return { host: cam.host, port: cam.port, user: cam.user, via, viaPort: via.host === cam.host ? cam.port : undefined, knownHosts: cam.knownHosts };
}

function lastLine(r: { stdout: string; stderr: string; exitCode: number }): string {
  return (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] || `exit ${r.exitCode}`;
}

/** A certificate camera's new key is signed over --via: without it there is no way to get its certificate. */
function needVia(cam: Camera, p: RotatePaths): void {
  if (cam.via) return;
  throw new UsageError(
    `${p.key} logs in with a certificate (${p.cert}): the new key needs one from the collector's CA`,
    'run again with --via ADMIN@COLLECTOR: it signs the new key there and revokes the old one',
  );
}

/**
 * Does the camera log in with a certificate? Its KEY-cert.pub, when there is one, must certify the current
 * key: ssh would pair any other with the key and be refused.
 */
async function certificateCamera(p: RotatePaths, fingerprint: string, cam: Camera): Promise<boolean> {
  const text = await readText(p.cert);
  if (text === null) return false;
  const info = await readCertificate(text.trim());
  if (info?.kind !== 'user' || info.keyFingerprint !== fingerprint) {
    throw new UsageError(`${p.cert} is not a certificate of the key in ${p.key}`, 'renew it first: sftp-setup allsky-config --cert --via ADMIN@COLLECTOR, then rotate');
  }
  needVia(cam, p);
  return true;
}

async function currentKey(p: RotatePaths): Promise<{ fingerprint: string; publicLine: string; comment: string }> {
  const text = await readText(p.key);
  if (text === null) throw new UsageError(`no upload key at ${p.key}`, 'run sftp-setup allsky-config first, or give --key with the key the camera uses');
  const info = inspectPrivateKey(text, p.key);
  if (info.encrypted) throw new UsageError(`${p.key} has a passphrase, which lftp cannot use`, 'run sftp-setup allsky-config to make a key without one');
  const pub = (await readText(p.pub))?.trim();
  const comment = pub ? (splitKeyLine(pub)?.comment ?? '') : '';
  return { fingerprint: info.fingerprint!, publicLine: info.publicLine!, comment };
}

async function loadState(p: RotatePaths): Promise<RotateState | null> {
  const text = await readText(p.state);
  return text === null ? null : parseState(text, p.state);
}

async function saveState(p: RotatePaths, s: RotateState, cam: Camera): Promise<void> {
  const { writeFileAtomic } = await import('../system/files.js');
  await writeFileAtomic(p.state, renderState(s), { mode: 0o600, uid: cam.owner.uid, gid: cam.owner.gid });
}

async function advance(p: RotatePaths, s: RotateState, step: RotateStep, cam: Camera): Promise<RotateState> {
  const next = { ...s, step };
  await saveState(p, next, cam);
  stopPoint(step);
  return next;
}

/** Step 2: the collector authorizes the new key (over --via), or a person does it with the printed line. */
async function authorize(cam: Camera, s: RotateState, opts: RotateOptions, log: (s: string, st: RotateEvent['status'], d: string) => void): Promise<void> {
  const p = rotatePaths(cam.keyPath);
  if (s.certificate) {
    // The signing allsky-config --cert --via does: `keys sign` on the collector, the answer checked here.
    const { certificate, info } = await certifyOverVia(viaTarget(cam), { publicLine: s.newPublicLine, fingerprint: s.newFingerprint });
    await writeNewCert(p, certificate, cam.owner);
    log('authorize', 'done', `certificate serial ${info.serial} for ${cam.user}, ${showValidity(info)}, signed on the collector as ${cam.via!.user}@${cam.via!.host} into ${p.newCert}; no authorized_keys entry`);
    return;
  }
  if (cam.via) {
    const r = await viaCollector(cam, ['keys', 'add', '--user', cam.user, '-'], s.newPublicLine + '\n');
    if (r.exitCode !== 0) {
      throw new FailError(
        `the collector did not add the new key (${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] || `exit ${r.exitCode}`}); the camera still uses its old key`,
        `fix that on the collector, or run there: ${addLine(cam, s.newPublicLine)} — then run this again`,
      );
    }
    log('authorize', 'done', `added on the collector as ${cam.via.user}@${cam.via.host}`);
    return;
  }
  const line = addLine(cam, s.newPublicLine);
  await waitFor(cam, opts, line, async () => {
    const probe = await probeKey(cam, p.newKey);
    if (probe.ok) return true;
    if (probe.refused) return false;
    throw new FailError(`cannot check the new key on the collector: ${probe.detail}; the camera still uses its old key`, 'fix the connection, then run this again');
  });
  log('authorize', 'done', 'the collector accepts the new key');
}

/** Step 5: the collector forgets the old key, then the old key must be refused. */
async function revoke(cam: Camera, p: RotatePaths, s: RotateState, opts: RotateOptions, log: (s: string, st: RotateEvent['status'], d: string) => void): Promise<void> {
  const oldRefused = async (): Promise<boolean> => {
    const probe = await probeKey(cam, p.oldKey);
    if (probe.refused) return true;
    if (probe.ok) return false;
    throw new FailError(`cannot check the old key on the collector: ${probe.detail}; the camera uploads with the new key`, 'fix the connection, then run this again to finish');
  };
  const haveOld = (await statPath(p.oldKey)) !== null;
  if (s.certificate) {
    // In the KRL, the key itself: every certificate ever issued for it is refused, not just the current one.
    const r = await viaCollector(cam, ['keys', 'revoke', '-'], s.oldPublicLine + '\n');
    if (r.exitCode !== 0 && !(haveOld && (await oldRefused()))) {
      throw new FailError(
        `the collector did not revoke the old key (${lastLine(r)}); the camera uploads with the new key`,
        `run there: ${collectorLine(['keys', 'revoke', s.oldPublicLine])} — then run this again to finish`,
      );
    }
    if (!haveOld) {
      log('revoke', 'warning', `revoked ${s.oldFingerprint} in the collector's KRL; ${p.oldKey} is gone, so its refusal is not proven`);
      return;
    }
    if (!(await oldRefused())) {
      throw new FailError(`the collector still accepts the old key's certificate after revoking ${s.oldFingerprint}`, 'check that the account\'s RevokedKeys is the CA\'s list (on the collector: sudo sftp-setup doctor)');
    }
    log('revoke', 'done', `revoked ${s.oldFingerprint} and its certificates in the collector's KRL (no reload); it is refused now`);
    return;
  }
  if (!haveOld) {
    log('revoke', 'warning', `${p.oldKey} is gone; cannot prove the old key is refused`);
    return;
  }
  if (cam.via) {
    const r = await viaCollector(cam, ['keys', 'remove', '--user', cam.user, s.oldFingerprint]);
    if (r.exitCode !== 0 && !(await oldRefused())) {
      throw new FailError(
        `the collector did not remove the old key (${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] || `exit ${r.exitCode}`}); the camera uploads with the new key`,
        `run there: ${removeLine(cam, s.oldFingerprint)} — then run this again to finish`,
      );
    }
    if (!(await oldRefused())) {
      throw new FailError(`the collector still accepts the old key ${s.oldFingerprint} after removing it`, 'check for a copy of it in another authorized_keys file on the collector (sftp-setup doctor)');
    }
    log('revoke', 'done', `removed ${s.oldFingerprint} on the collector; it is refused now`);
    return;
  }
  await waitFor(cam, opts, removeLine(cam, s.oldFingerprint), oldRefused);
  log('revoke', 'done', `the collector refuses the old key ${s.oldFingerprint}`);
}

/** Without --via: check first (a person may already have done it), then ask and wait, or stop with exit 4. */
async function waitFor(cam: Camera, opts: RotateOptions, line: string, done: () => Promise<boolean>): Promise<void> {
  if (await done()) return;
  const interactive = !opts.yes && !opts.json && process.stdin.isTTY;
  if (!interactive) throw new Waiting(line);
  const { confirm } = await import('../prompt.js');
  writeOut(`\nRun this on the collector (${cam.host}):\n\n  ${line}\n\n`);
  for (;;) {
    if (!(await confirm('Done? (No stops here; run the same command later to continue)', true))) throw new Waiting(line);
    if (await done()) return;
    writeOut('The collector does not show it yet.\n');
  }
}

/**
 * Point configs that name the same key file by another spelling at the key's path, through the one apply
 * path (this run already holds the camera lock): backed up, and all put back if one write fails.
 */
async function editConfigs(cam: Camera, log: (s: string, st: RotateEvent['status'], d: string) => void): Promise<string> {
  const real = async (x: string) => resolveLinks(x).catch(() => x);
  const target = cam.keyPath;
  const targetDir = await real(dirname(target));
  const journal = new Journal(backupDirFor(join(cam.owner.home, '.sftp-setup', 'backups')));
  const steps: Step[] = [];
  for (const f of cam.files) {
    const named = viewConnect(f.commands).keyPath;
    if (named === undefined || named === target) continue;
    const expanded = named.startsWith('~/') ? join(cam.owner.home, named.slice(2)) : named;
    const same = expanded === target || (await real(expanded)) === join(targetDir, target.split('/').pop()!)
      || (await real(expanded)) === (await real(target));
    if (!same) {
      log('switch', 'warning', `${f.path} uploads with ${named}, not the rotated key ${target}; left as it is`);
      continue;
    }
    const edit = f.kind === 'rc' ? editRc(f.text, named, target) : f.kind === 'env' ? editEnvJson(f.text, named, target) : editFtpSettings(f.text, named, target);
    if (!edit.changed) continue;
    const info = (await statPath(f.path))!;
    steps.push(fileStep({
      id: `name-${f.kind}`, title: `${f.path} names ${target}`, path: f.path, before: f.text, info, want: edit.text,
      mode: info.mode, uid: info.uid, gid: info.gid, summary: `${named} -> ${target}`,
    }, journal));
  }
  if (steps.length === 0) return '';
  await applyPlan({
    subject: 'key names', doing: 'Renaming', already: 'named', done: 'Renamed.', lockPath: null, journal, steps,
    dryRun: false, yes: true, json: false, out: () => {},
  });
  return `${steps.map((st) => st.title.slice(0, st.title.indexOf(' names '))).join(', ')} now name ${target}`;
}

/** After the switch, something failed before the old key was revoked: put it back while it still works. */
async function rollBack(cam: Camera, p: RotatePaths, s: RotateState, log: (s: string, st: RotateEvent['status'], d: string) => void): Promise<void> {
  await unswitchKeys(p, s.newFingerprint);
  await closeShared(cam);
  const back = await probeKey(cam, p.key);
  let revoked = '';
  if (s.certificate) {
    // Its private half is deleted below; revoking the new key leaves no certificate of it valid either.
    const r = await viaCollector(cam, ['keys', 'revoke', '-'], s.newPublicLine + '\n').catch(() => undefined);
    revoked = r?.exitCode === 0 ? '; the new key was revoked on the collector' : `; revoke the new key on the collector: ${collectorLine(['keys', 'revoke', s.newPublicLine])}`;
  } else if (cam.via) {
    const r = await viaCollector(cam, ['keys', 'remove', '--user', cam.user, s.newFingerprint]).catch(() => undefined);
    revoked = r?.exitCode === 0 ? '; the new key was removed on the collector' : '';
  }
  if (!revoked) revoked = `; remove the new key on the collector: ${removeLine(cam, s.newFingerprint)}`;
  await removeFiles([p.newKey, p.newPub, p.newCert, p.state]);
  log('rollback', 'rolled-back', `old key ${s.oldFingerprint} back in ${p.key} (${back.ok ? 'works' : back.detail})${revoked}`);
}

function describeRest(s: RotateState, cam: Camera, log: (s: string, st: RotateEvent['status'], d: string) => void): void {
  const p = rotatePaths(cam.keyPath);
  if (!reached(s, 'authorized')) {
    log('authorize', 'would', s.certificate ? `have the collector's CA certify ${s.newFingerprint} into ${p.newCert}` : cam.via ? `add ${s.newFingerprint} on the collector` : `check, or ask you to run: ${addLine(cam, s.newPublicLine)}`);
  }
  if (!reached(s, 'proven')) log('prove', 'would', `upload with only ${p.newKey}`);
  if (!reached(s, 'switched')) log('switch', 'would', `move the new key to ${p.key}, keep the old one as ${p.oldKey}`);
  if (!reached(s, 'old-removed')) {
    log('revoke', 'would', s.certificate ? `revoke ${s.oldFingerprint} and its certificates in the collector's KRL` : cam.via ? `remove ${s.oldFingerprint} on the collector` : `check, or ask you to run: ${removeLine(cam, s.oldFingerprint)}`);
  }
  log('cleanup', 'would', `remove ${p.oldKey} and ${p.state}`);
}

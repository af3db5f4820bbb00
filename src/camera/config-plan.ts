/**
 * allsky-config's plan: read everything the camera needs changed and compute every new file before
 * touching anything (bad files stop the run here), then the Steps — the upload key, known_hosts, lftp's rc
 * and Allsky's own settings, each file staying the owner's.
 */
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { UsageError } from '../errors.js';
import { currentGenerationChanges, updateJsonObject, DUMMY_PASSWORD } from '../allsky/settings-json.js';
import { legacyChanges, updateShellVars } from '../allsky/ftp-settings.js';
import type { AllskyGeneration } from '../allsky/detect.js';
import { fingerprintOfLine } from '../keys/parse.js';
import { mergeLftpRc } from '../lftp/rc.js';
import type { Step } from '../plan/step.js';
import type { Account } from '../system/accounts.js';
import { isWritable, readText, statPath, type FileInfo, type Journal } from '../system/files.js';
import { fp, type HostTrust } from './host-trust.js';
import { dirStep, fileStep } from './plan.js';
import type { AllskyInstall } from './read.js';

/** Directory of the multiplexing sockets, relative to the owner's home. */
export const CONTROL_DIR = '.ssh/sftp-setup-cm';

/** Who uploads and with what: the Allsky owner, its home, the key and the lftp connect-program. */
export interface Camera {
  owner: Account;
  generation: AllskyGeneration;
  install: AllskyInstall;
  inHome: (p: string) => string;
  keyPath: string;
  controlDir?: string;
  /** lftp's `set sftp:connect-program …` line */
  setLine: string;
}

export interface UploadKey {
  generated: boolean;
  privText: string | null;
  pubText: string | null;
  privInfo: FileInfo | null;
  pubInfo: FileInfo | null;
  privWant: string;
  publicLine: string;
  fingerprint: string;
}

interface AllskyFile {
  path: string;
  label: string;
  before: string;
  want: string;
  info: FileInfo;
  hardLinked: boolean;
}

export interface CameraFiles {
  key: UploadKey;
  khPath: string;
  khText: string | null;
  khInfo: FileInfo | null;
  rcPath: string;
  rcText: string | null;
  rcInfo: FileInfo | null;
  rcWant: string;
  allsky: AllskyFile[];
  /** what Allsky's settings keep as the password (lftp needs one; key authentication ignores it) */
  password: string;
}

/** The key lftp will use: reuse a valid one, refuse a passphrase, or make a new ed25519 key. */
async function planKey(keyPath: string, owner: Account): Promise<UploadKey> {
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
async function refuseReadOnly(path: string, info: FileInfo | null): Promise<void> {
  if (!info) return;
  // Root can write anything; a file with no write bit at all was made read-only on purpose.
  if (!(await isWritable(path)) || (info.mode & 0o222) === 0) {
    throw new UsageError(
      `${path} is read-only (mode ${info.mode.toString(8).padStart(4, '0')}); nothing was changed`,
      `make it writable (chmod u+w ${path}), then run again`,
    );
  }
}

/** Allsky's own settings pointed at the collector: settings.json and env.json, or the legacy ftp-settings.sh. */
async function planAllskyFiles(cam: Camera, remote: { host: string; port: number; user: string; imageDir: string; lftpCommands: string }): Promise<{ files: AllskyFile[]; password: string }> {
  const p = cam.install.paths;
  if (p && cam.generation === 'current') {
    const [sText, eText, sInfo, eInfo] = await Promise.all([readText(p.settingsJson), readText(p.envJson), statPath(p.settingsJson), statPath(p.envJson)]);
    const ch = currentGenerationChanges(remote, eText!);
    const s = updateJsonObject(sText!, ch.settings, p.settingsJson);
    const e = updateJsonObject(eText!, ch.env, p.envJson);
    return {
      password: String(ch.env.REMOTESERVER_PASSWORD),
      files: [
        { path: p.settingsJson, label: 'Allsky settings.json: remote server over sftp', before: sText!, want: s.text, info: sInfo!, hardLinked: true },
        { path: p.envJson, label: 'Allsky env.json: collector address, user and lftp commands', before: eText!, want: e.text, info: eInfo!, hardLinked: eInfo!.nlink > 1 },
      ],
    };
  }
  if (p && cam.generation === 'legacy') {
    const [fText, fInfo] = await Promise.all([readText(p.ftpSettings), statPath(p.ftpSettings)]);
    const vars = legacyChanges(remote, fText!);
    const f = updateShellVars(fText!, vars, p.ftpSettings);
    return {
      password: vars.REMOTE_PASSWORD!,
      files: [{ path: p.ftpSettings, label: 'Allsky ftp-settings.sh: sftp to the collector', before: fText!, want: f.text, info: fInfo!, hardLinked: fInfo!.nlink > 1 }],
    };
  }
  return { files: [], password: DUMMY_PASSWORD };
}

/** Read every file the plan changes and compute its new content. */
export async function readCameraFiles(cam: Camera, remote: { host: string; port: number; user: string; imageDir: string }): Promise<CameraFiles> {
  const key = await planKey(cam.keyPath, cam.owner);
  const khPath = cam.inHome('.ssh/known_hosts');
  const rcPath = cam.inHome('.lftp/rc');
  const [khText, khInfo, rcText, rcInfo] = await Promise.all([readText(khPath), statPath(khPath), readText(rcPath), statPath(rcPath)]);
  const rcWant = mergeLftpRc(rcText ?? '', cam.setLine).text;
  const { files, password } = await planAllskyFiles(cam, { ...remote, lftpCommands: cam.setLine });
  for (const f of files) if (f.before !== f.want) await refuseReadOnly(f.path, f.info);
  return { key, khPath, khText, khInfo, rcPath, rcText, rcInfo, rcWant, allsky: files, password };
}

/** The Steps, in order: every file in the owner's home belongs to the owner; Allsky's keep their owners. */
export function cameraSteps(cam: Camera, f: CameraFiles, host: HostTrust, journal: Journal, asRoot: boolean, certificate?: Step): Step[] {
  const mine = { uid: cam.owner.uid, gid: cam.owner.gid };
  const { key } = f;
  const steps: Step[] = [];
  steps.push(dirStep({ id: 'ssh-dir', title: `${cam.inHome('.ssh')} exists`, path: cam.inHome('.ssh'), mode: 0o700, ...mine }, journal));
  steps.push(fileStep({
    id: 'key', title: `upload key ${cam.keyPath} (${key.generated ? 'new ed25519' : 'existing'}, ${key.fingerprint})`, path: cam.keyPath,
    before: key.privText, info: key.privInfo, want: key.privWant, mode: 0o600, ...mine, secret: true,
  }, journal));
  // Keep the user's own .pub text (comment, spacing) when it is the right key.
  const ownPub = key.pubText !== null && fingerprintOfLine(key.pubText.trim()) === key.fingerprint;
  steps.push(fileStep({
    id: 'key-pub', title: `public key ${cam.keyPath}.pub`, path: `${cam.keyPath}.pub`, before: key.pubText, info: key.pubInfo,
    want: ownPub ? key.pubText! : key.publicLine + '\n', mode: key.pubInfo?.mode ?? 0o644, ...mine,
  }, journal));
  // ssh (and so lftp) loads KEY-cert.pub beside KEY by itself.
  if (certificate) steps.push(certificate);
  const what = host.certAuthority ? `collector host CA pinned in ${f.khPath} (@cert-authority ${host.pattern})` : `collector host key pinned in ${f.khPath} (${host.pattern})`;
  steps.push(fileStep({
    id: 'known-hosts', title: what, path: f.khPath, before: f.khText, info: f.khInfo,
    want: host.kh.text, mode: f.khInfo?.mode ?? 0o600, ...mine,
    summary: host.kh.stale.length
      ? (host.certAuthority ? `${host.kh.stale.length} pinned entr${host.kh.stale.length === 1 ? 'y' : 'ies'} for ${host.pattern} replaced by the host CA ${fp(host.pinnedKey)}` : `stale entry for ${host.pattern} replaced by ${fp(host.pinnedKey)}`)
      : `${host.pattern} ${fp(host.pinnedKey)} added`,
  }, journal));
  if (cam.controlDir) steps.push(dirStep({ id: 'control-dir', title: `${cam.controlDir} for shared connections`, path: cam.controlDir, mode: 0o700, ...mine }, journal));
  steps.push(dirStep({ id: 'lftp-dir', title: `${cam.inHome('.lftp')} exists`, path: cam.inHome('.lftp'), mode: 0o755, ...mine }, journal));
  steps.push(fileStep({
    id: 'lftp-rc', title: `lftp connect-program in ${f.rcPath}`, path: f.rcPath, before: f.rcText, info: f.rcInfo, want: f.rcWant,
    mode: f.rcInfo?.mode ?? 0o644, ...mine,
  }, journal));
  for (const a of f.allsky) {
    // settings.json is a hard link Allsky keeps: rewrite its inode. Others atomically, unless only an
    // in-place write can keep a group we may not give (env.json is group www-data).
    const inPlace = a.hardLinked || (!asRoot && a.info.gid !== cam.owner.gid);
    steps.push(fileStep({
      id: posix.basename(a.path), title: a.label, path: a.path, before: a.before, info: a.info, want: a.want,
      mode: a.info.mode, uid: a.info.uid, gid: a.info.gid, inPlace,
    }, journal));
  }
  return steps;
}

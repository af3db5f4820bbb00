/**
 * The camera a rotation works on: what camera/read.ts reads (install, owner, settings, connect-programs),
 * plus the key to rotate and the collector to talk to, with the rotation's defaults. Reads only; the
 * rotation's writes are in rotate/keyfiles.ts and rotate/run.ts.
 */
import { join } from 'node:path';
import { readCameraSetup, readUploadSetup, inHome, type CameraFile } from '../camera/read.js';
import { UsageError } from '../errors.js';
import type { AllskyGeneration } from '../allsky/detect.js';
import { getAccount, type Account } from '../system/accounts.js';
import { statPath } from '../system/files.js';
import { validateAbsPath, validateAdminTarget } from '../validate.js';
import { DEFAULT_USER } from '../collector/layout.js';
import { DEFAULT_LOCK_WAIT_SECONDS } from '../lock.js';
import type { ViaTarget } from '../camera/handoff.js';

export type { CameraFile };

export interface Camera {
  owner: Account;
  allskyDir?: string;
  generation: AllskyGeneration;
  keyPath: string;
  host: string;
  port: number;
  user: string;
  imageDir: string;
  knownHosts: string;
  /** The files holding a connect-program: the owner's lftp rc and Allsky's env.json or ftp-settings.sh. */
  files: CameraFile[];
  /** ControlPath of the connect-program in force, when it shares connections. */
  controlPath?: string;
  /** LFTP commands as Allsky prepends them to every upload ('' when none). */
  lftpCommands: string;
  via?: ViaTarget;
}

export interface CameraOptions {
  allskyDir?: string;
  key?: string;
  via?: string;
  /** --wait: passed on to the collector's runs over --via */
  wait?: number;
}

async function ownerOf(path: string): Promise<Account> {
  const st = await statPath(path);
  const acct = st ? await getAccount(String(st.uid)) : null;
  if (!acct) throw new UsageError(`the owner of ${path} is not a known user`, 'give --allsky-dir of an install owned by the Allsky user');
  return acct;
}

export async function readCamera(opts: CameraOptions): Promise<Camera> {
  const via = opts.via !== undefined ? { ...validateAdminTarget(opts.via), wait: opts.wait ?? DEFAULT_LOCK_WAIT_SECONDS } : undefined;
  let allskyDir: string | undefined;
  if (opts.allskyDir !== undefined) {
    allskyDir = validateAbsPath(opts.allskyDir, '--allsky-dir').replace(/(.)\/+$/, '$1');
    if ((await statPath(allskyDir))?.type !== 'dir') {
      throw new UsageError(`--allsky-dir ${allskyDir}: no such directory`, 'give the Allsky install, usually /home/pi/allsky');
    }
  }
  let setup = await readCameraSetup({ allskyDir });
  if (setup.allskyDir === undefined && process.getuid?.() === 0 && setup.owner.uid === 0) {
    // Root with no Allsky install: the key's owner is the one who uploads.
    if (!opts.key) throw new UsageError('no Allsky install found in /home/*/allsky', 'give --allsky-dir, or --key with the upload key of the camera');
    const owner = await ownerOf(opts.key.startsWith('/') ? opts.key : '/nonexistent');
    setup = { ...(await readUploadSetup({ owner, classification: { generation: 'none' } })), allskyProblem: setup.allskyProblem };
  }
  const owner = setup.owner;

  const keyPath = validateAbsPath(inHome(owner, opts.key ?? join(owner.home, '.ssh', 'allsky_upload')), '--key');
  if (keyPath.endsWith('.pub')) throw new UsageError(`--key ${keyPath} is a public key`, 'give the private key file (without .pub)');

  const r = setup.remote;
  const host = r.host || via?.host;
  if (!host) {
    throw new UsageError(
      'the camera has no collector configured (no Allsky remote server settings found)',
      'run sftp-setup allsky-config first, or give --via ADMIN@COLLECTOR',
    );
  }
  const port = r.port ?? 22;
  return {
    owner,
    allskyDir: setup.allskyDir,
    generation: setup.generation,
    keyPath,
    host,
    port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 22,
    user: r.user || DEFAULT_USER,
    imageDir: (r.imageDir ?? 'images').replace(/^\/+|\/+$/g, ''),
    knownHosts: setup.knownHosts,
    files: setup.files,
    controlPath: setup.controlPath,
    lftpCommands: r.lftpCommands ?? '',
    via,
  };
}

/**
 * The rotation's conversations with the collector, on top of system/ssh-client.ts and system/lftp.ts: SFTP
 * sessions with one given key (run as the Allsky owner, so that the key's ownership and modes are tested
 * too), an Allsky-style lftp upload, closing a shared connection, and the admin's own SSH for `--via`.
 */
import { sudoWantsPassword, viaCommand } from '../camera/handoff.js';
import { allskyUploadScript, describeSshFailure } from '../camera/upload-script.js';
import { FailError } from '../errors.js';
import type { RunResult } from '../system/exec.js';
import { runLftpFile, withScratchDir } from '../system/lftp.js';
import { closeSharedConnection, sftpWithKey, viaSsh } from '../system/ssh-client.js';
import type { Camera } from './camera.js';

const PROBE = '.sftp-setup-rotate';
const PAYLOAD = 'sftp-setup key rotation probe\n';

export interface KeyProbe {
  /** the key logged in and the write/rename/remove probe passed */
  ok: boolean;
  /** the collector refused the key itself (Permission denied (publickey)) */
  refused: boolean;
  detail: string;
}

/**
 * A real SFTP session with only `key`: put to a temporary name, rename, remove — what an Allsky upload
 * needs — in the image directory.
 */
export async function probeKey(cam: Camera, key: string): Promise<KeyProbe> {
  return withScratchDir(cam.owner, 'sftp-setup-rotate-', async (put, dir) => {
    await put('payload', PAYLOAD);
    const d = cam.imageDir ? `${cam.imageDir}/` : '';
    const batch = [`put payload ${d}${PROBE}.tmp`, `-rm ${d}${PROBE}`, `rename ${d}${PROBE}.tmp ${d}${PROBE}`, `rm ${d}${PROBE}`].join('\n') + '\n';
    const r = await sftpWithKey(cam.owner, { key, knownHosts: cam.knownHosts, host: cam.host, port: cam.port, user: cam.user }, batch, dir);
    const refused = r.exitCode !== 0 && /Permission denied \(publickey/.test(r.stderr);
    return { ok: r.exitCode === 0, refused, detail: r.exitCode === 0 ? 'put, rename and remove accepted' : describeSshFailure(r) };
  });
}

/** Close a shared connection (ControlMaster) so that no upload keeps using the old key's authentication. */
export async function closeShared(cam: Camera): Promise<boolean> {
  if (!cam.controlPath) return false;
  return closeSharedConnection(cam.owner, { controlPath: cam.controlPath, host: cam.host, port: cam.port, user: cam.user });
}

/**
 * Allsky's own upload sequence (scripts/upload.sh), as the owner, with the camera's LFTP commands and
 * ~/.lftp/rc: proves that the camera's real configuration uploads with the key now in place.
 */
export async function allskyStyleUpload(cam: Camera): Promise<{ ok: boolean; detail: string }> {
  return withScratchDir(cam.owner, 'sftp-setup-rotate-', async (put) => {
    const name = `${PROBE}-upload`;
    const file = await put('payload', PAYLOAD);
    const script = await put('upload.lftp', allskyUploadScript({
      lftpCommands: cam.lftpCommands, host: cam.host, port: cam.port, user: cam.user, dir: cam.imageDir,
      file, dest: name, temp: `${name}.tmp`, after: [`rm ${name}`], failExit: true,
    }));
    const r = await runLftpFile(cam.owner, script, 'n/a');
    return { ok: r.exitCode === 0, detail: r.exitCode === 0 ? 'put, rm -f, mv accepted' : r.output.trim().split('\n').slice(-2).join(' / ') };
  });
}

/**
 * Run `sftp-setup ARGS` on the collector over the admin's own SSH (sudo unless the admin is root). The
 * collector's host key must be known to the admin or pinned for the camera (both files are consulted).
 */
export async function viaCollector(cam: Camera, args: string[], input?: string): Promise<RunResult> {
  const via = cam.via!;
  const r = await viaSsh(via, viaCommand(via.user, args, via.wait), {
    input, knownHosts: cam.knownHosts, port: via.host === cam.host ? cam.port : undefined, lockWaitSeconds: via.wait,
  });
  if (r.exitCode === 255) {
    throw new FailError(
      `cannot reach the collector as ${via.user}@${via.host}: ${describeSshFailure(r)}`,
      'check the network and that your SSH login to the collector works, then run the same command again (the rotation continues where it stopped)',
    );
  }
  if (r.exitCode !== 0 && sudoWantsPassword(r.stderr)) {
    throw new FailError(
      `sudo on ${via.host} asks ${via.user} for a password, which cannot be typed through --via`,
      `use --via root@${via.host}, allow ${via.user} to run sftp-setup with sudo NOPASSWD, or leave out --via and run the printed line on the collector`,
    );
  }
  return r;
}

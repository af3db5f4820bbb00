/**
 * allsky-config --via: authorize the camera's key on the collector over the admin's own SSH session, by
 * running the collector's `sftp-setup keys add` there with the key on stdin (never in a command line).
 */
import { FailError } from '../errors.js';
import { viaSsh } from '../system/ssh-client.js';
import { remoteCommand, splitViaOutput, sudoWantsPassword, viaRemoteScript, type ViaTarget } from './handoff.js';

export interface ViaAuthorization {
  ok: boolean;
  /** what the collector printed (remote output: escape before printing) */
  output: string;
  exitCode: number;
  /** the one-line error to raise when !ok */
  error?: FailError;
}

export async function authorizeOverVia(via: ViaTarget, user: string, publicLine: string, port?: number): Promise<ViaAuthorization> {
  const script = viaRemoteScript({ admin: via.user, user, remoteCommand: remoteCommand(), addKey: true, wait: via.wait });
  const r = await viaSsh(via, script, { input: publicLine + '\n', port, lockWaitSeconds: via.wait });
  const split = splitViaOutput(r.stdout);
  const output = `${split?.rest ?? r.stdout}${r.stderr}`.trim();
  if (r.exitCode === 0) return { ok: true, output, exitCode: 0 };
  const error = sudoWantsPassword(r.stderr)
    ? new FailError(
        `authorizing the key on ${via.host} failed: sudo there asks ${via.user} for a password, which cannot be typed through --via`,
        `use --via root@${via.host}, allow ${via.user} to run sftp-setup with sudo NOPASSWD, or run the line above on the collector`,
      )
    : new FailError(
        `authorizing the key on ${via.host} failed (exit ${r.exitCode}): ${output.split('\n').pop()}`,
        via.user === 'root' ? 'check that sftp-setup is installed on the collector' : `check that ${via.user} may run "sudo sftp-setup" on the collector`,
      );
  return { ok: false, output, exitCode: r.exitCode, error };
}

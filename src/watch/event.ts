/**
 * An upload event: one per file that an upload completed in the tree. Everything in it but `account` comes
 * from the upload tree, which the camera's key holder names: in JSON and in the environment it is data, for
 * a terminal it is escaped (humanLine). Pure.
 */
import { printable } from '../text/printable.js';

export type UploadKind = 'image' | 'keogram' | 'startrails' | 'timelapse' | 'thumbnail' | 'file';

export interface UploadEvent {
  account: string;
  /** path relative to the chroot, '/'-separated (as the account sees it, without the leading '/') */
  path: string;
  /** the path's bytes in base64, only when they are not UTF-8 (then `path` has U+FFFD in their place) */
  pathBase64?: string;
  /** the same file on this host */
  file: string;
  size: number;
  /** when the upload was seen complete (ISO 8601) */
  time: string;
  /** the file's modification time (ISO 8601) */
  mtime: string;
  kind: UploadKind;
  sha256?: string;
}

/**
 * What Allsky uploads where (current Allsky, below its image directory): keograms/, startrails/, videos/
 * (timelapse) and videos/thumbnails/; the image itself and the mini-timelapse in the image directory.
 */
export function kindOf(path: string): UploadKind {
  const parts = path.split('/');
  const dir = parts[parts.length - 2] ?? '';
  const ext = /\.([A-Za-z0-9]+)$/.exec(parts[parts.length - 1] ?? '')?.[1]?.toLowerCase() ?? '';
  if (dir === 'thumbnails') return 'thumbnail';
  if (dir === 'keograms') return 'keogram';
  if (dir === 'startrails') return 'startrails';
  if (['mp4', 'webm', 'mkv', 'mov'].includes(ext)) return 'timelapse';
  if (['jpg', 'jpeg', 'png', 'webp', 'gif'].includes(ext)) return 'image';
  return 'file';
}

/**
 * Names an upload uses before its final one, which never make an event: Allsky's upload.sh puts to
 * `TYPE-RANDOM` (e.g. SaveImage-server-12345, Keogram-981; sftp-setup's own test uploads use hex), lftp's
 * xfer:use-temp-file to `.in.NAME.`, our probe to `.sftp-setup-probe-…`; any hidden name, `*.tmp`, `*.part`.
 */
export function isTemporaryName(name: string): boolean {
  if (name.startsWith('.')) return true;
  if (/\.(tmp|part|partial)$/i.test(name) || name.endsWith('~')) return true;
  // No extension, and a random tail after the last dash: bash's $RANDOM (0-32767) or 6 random bytes in hex.
  return !name.includes('.') && /^[A-Za-z][A-Za-z0-9_-]*-(\d{1,5}|[0-9a-f]{12})$/.test(name);
}

/** The event for a program's environment: every field as SFTP_SETUP_<NAME>, values as they are. */
export function eventEnv(e: UploadEvent): Record<string, string> {
  const env: Record<string, string> = {
    SFTP_SETUP_ACCOUNT: e.account,
    SFTP_SETUP_PATH: e.path,
    SFTP_SETUP_FILE: e.file,
    SFTP_SETUP_SIZE: String(e.size),
    SFTP_SETUP_TIME: e.time,
    SFTP_SETUP_MTIME: e.mtime,
    SFTP_SETUP_KIND: e.kind,
  };
  if (e.sha256) env.SFTP_SETUP_SHA256 = e.sha256;
  if (e.pathBase64) env.SFTP_SETUP_PATH_BASE64 = e.pathBase64;
  // An environment value cannot hold NUL; a name cannot either, but say so rather than trust it.
  for (const [k, v] of Object.entries(env)) if (v.includes('\0')) env[k] = v.replace(/\0/g, '\uFFFD');
  return env;
}

/** One line for a person: the name quoted and escaped when it is not plain. */
export function humanLine(e: UploadEvent): string {
  const plain = /^[A-Za-z0-9_@%+=:,./-]+$/.test(e.path);
  const shown = plain ? e.path : printable(JSON.stringify(e.path));
  return `${e.time} ${e.account} ${e.kind} ${shown} ${e.size} bytes${e.sha256 ? ` sha256 ${e.sha256}` : ''}`;
}

/** A path's bytes as the event carries them: UTF-8 text, and base64 when the bytes are not UTF-8. */
export function pathFields(bytes: Buffer): { path: string; pathBase64?: string } {
  const path = bytes.toString('utf8');
  return Buffer.from(path, 'utf8').equals(bytes) ? { path } : { path, pathBase64: bytes.toString('base64') };
}

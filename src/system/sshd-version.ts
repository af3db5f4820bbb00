/**
 * `sshd -V`'s text, remembered per sshd binary in root's /run/sftp-setup: init, uninstall and doctor all need
 * the version, and a program started costs a run a few milliseconds of its own thread besides the program's
 * own time. The remembered text is used only for the very binary it was read from (its device, inode, size,
 * modification and change times: an upgrade renames a new file over it, and no one can set a change time
 * back) and only from a file root wrote. /run is emptied at boot.
 */
import { closeSync, constants as C, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { ensureDir, writeFileAtomic } from './files.js';
import { RUN_DIR } from '../collector/layout.js';

const DIR = RUN_DIR;
const REMEMBERED = `${DIR}/sshd-version`;
/** One printable line, as sshd -V prints it: "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024". */
const VERSION_LINE = /^OpenSSH_\d+\.\d+[\x20-\x7e]{0,200}$/;

/** The binary's identity, or null when it is not a regular file (then nothing is remembered). */
export function binaryIdentity(path: string): string | null {
  try {
    const s = lstatSync(path, { bigint: true });
    return s.isFile() ? [s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(':') : null;
  } catch {
    return null;
  }
}

/** The text remembered for a binary of this identity; undefined when none is, or the file is not root's alone. */
export function rememberedVersion(identity: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(REMEMBERED, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile() || s.uid !== 0 || s.mode & 0o022 || s.size > 1024) return undefined;
    const [id, text] = readFileSync(fd, 'latin1').split('\n');
    return id === identity && text !== undefined && VERSION_LINE.test(text) ? text : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Remember what sshd -V printed (root only; a text that is not a version line is not kept). */
export async function rememberVersion(identity: string, text: string): Promise<void> {
  if (process.geteuid?.() !== 0 || !VERSION_LINE.test(text)) return;
  await ensureDir(DIR, 0o755, 0, 0);
  await writeFileAtomic(REMEMBERED, `${identity}\n${text}\n`, { mode: 0o644, uid: 0, gid: 0 });
}

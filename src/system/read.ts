/**
 * Reading a file root trusts (sshd's configuration, an account's keys file, the CA's records): a link is
 * followed only when root's or the running user's, a FIFO or a device is refused (safe-fs.ts). A module of
 * its own, so that a run that only reads (keys list) does not load the journal, backups and lock of
 * files.ts, which re-exports these for the commands that write.
 */
import { fileError } from './file-error.js';
import { readFileTrustedSync } from './safe-fs.js';

/** A regular file's bytes (a binary file such as a KRL), or null when it does not exist. */
export async function readBytes(path: string): Promise<Buffer | null> {
  try {
    return readFileTrustedSync(path);
  } catch (err) {
    throw fileError('read', path, err);
  }
}

/** A text file's content, or null when it does not exist. */
export async function readText(path: string): Promise<string | null> {
  return (await readBytes(path))?.toString('utf8') ?? null;
}

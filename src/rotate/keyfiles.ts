/**
 * The key files on the camera. The switch is a sequence of links and renames, each atomic, ordered so that at
 * every instant the key path holds a complete key that the collector accepts (both keys are authorized
 * while it runs), and its .pub either matches it or is absent (ssh offers the .pub's key when it exists).
 * A certificate camera has no authorized key: its KEY-cert.pub is renamed right after the key, and between
 * those two renames (microseconds) an ssh starting up would pair the new key with the old certificate and be
 * refused; a stop there is finished by the next run like any other. Every operation checks what is already done, so a switch stopped half-way is finished by running it again.
 */
import { inspectPrivateKey } from '../keys/private.js';
import { fingerprintOfLine } from '../keys/parse.js';
import { readCertificate } from '../system/ssh-keygen.js';
import { linkFile, readText, removeFile, renameFile, statPath, writeFileAtomic } from '../system/files.js';
import type { RotatePaths } from './state.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** Fingerprint of a private key file or a .pub file; undefined when absent or unreadable. */
export async function fingerprintOf(path: string): Promise<string | undefined> {
  const text = await readText(path);
  if (text === null) return undefined;
  try {
    if (path.endsWith('.pub')) return fingerprintOfLine(text.trim());
    return inspectPrivateKey(text, path).fingerprint;
  } catch {
    return undefined;
  }
}

/** Fingerprint of the key a certificate file certifies; undefined when absent or not a certificate. */
async function certifiedKey(path: string): Promise<string | undefined> {
  const text = await readText(path);
  return text === null ? undefined : (await readCertificate(text.trim()))?.keyFingerprint;
}

async function exists(p: string): Promise<boolean> {
  return (await statPath(p)) !== null;
}

/** Write the new key beside the current one: private 0600 and public 0644, owned by the Allsky owner. */
export async function writeNewKey(p: RotatePaths, privateKey: string, publicLine: string, owner: Owner): Promise<void> {
  await writeFileAtomic(p.newKey, privateKey, { mode: 0o600, uid: owner.uid, gid: owner.gid });
  await writeFileAtomic(p.newPub, publicLine + '\n', { mode: 0o644, uid: owner.uid, gid: owner.gid });
}

/** The new key's certificate beside it (ssh -i KEY.new loads KEY.new-cert.pub), the owner's like the key. */
export async function writeNewCert(p: RotatePaths, certificate: string, owner: Owner): Promise<void> {
  await writeFileAtomic(p.newCert, `${certificate.trim()}\n`, { mode: 0o644, uid: owner.uid, gid: owner.gid });
}

/** Put the new key at the key's path, keeping the old one as .old. */
export async function switchKeys(p: RotatePaths, oldFp: string, between: () => void = () => {}): Promise<void> {
  if (!(await exists(p.oldPub)) && (await fingerprintOf(p.pub)) === oldFp) await linkFile(p.pub, p.oldPub);
  if (!(await exists(p.oldCert)) && (await certifiedKey(p.cert)) === oldFp) await linkFile(p.cert, p.oldCert);
  if (await exists(p.newKey)) {
    if ((await fingerprintOf(p.pub)) === oldFp) await removeFile(p.pub);
    if (!(await exists(p.oldKey)) && (await fingerprintOf(p.key)) === oldFp) await linkFile(p.key, p.oldKey);
    const withCert = await exists(p.newCert);
    await renameFile(p.newKey, p.key);
    if (withCert) await renameFile(p.newCert, p.cert);
    between();
  }
  if (await exists(p.newCert)) await renameFile(p.newCert, p.cert);
  if (await exists(p.newPub)) await renameFile(p.newPub, p.pub);
}

/** The reverse: the old key back at the key's path, the new one back to .new. Same care, same idempotence. */
export async function unswitchKeys(p: RotatePaths, newFp: string): Promise<void> {
  if (!(await exists(p.newPub)) && (await fingerprintOf(p.pub)) === newFp) await linkFile(p.pub, p.newPub);
  if (!(await exists(p.newCert)) && (await certifiedKey(p.cert)) === newFp) await linkFile(p.cert, p.newCert);
  if (await exists(p.oldKey)) {
    if ((await fingerprintOf(p.pub)) === newFp) await removeFile(p.pub);
    if (!(await exists(p.newKey)) && (await fingerprintOf(p.key)) === newFp) await linkFile(p.key, p.newKey);
    const withCert = await exists(p.oldCert);
    await renameFile(p.oldKey, p.key);
    if (withCert) await renameFile(p.oldCert, p.cert);
  }
  if (await exists(p.oldCert)) await renameFile(p.oldCert, p.cert);
  // The new certificate never stays beside the old key (it is kept as .new-cert.pub above).
  else if ((await certifiedKey(p.cert)) === newFp) await removeFile(p.cert);
  if (await exists(p.oldPub)) await renameFile(p.oldPub, p.pub);
}

export async function removeFiles(paths: string[]): Promise<void> {
  for (const f of paths) await removeFile(f);
}

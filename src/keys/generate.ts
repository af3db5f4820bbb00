/** Key generation for the camera's upload key (ed25519, no passphrase: lftp runs unattended). */
import sshpk from 'sshpk';
import { UsageError } from '../errors.js';
import { publicLineOf } from './parse.js';
import { sha256Fingerprint } from './wire.js';

export interface GeneratedKey {
  /** OpenSSH private key format, unencrypted, ends with "\n". */
  privateKey: string;
  /** "ssh-ed25519 AAAA… comment" */
  publicLine: string;
  fingerprint: string;
}

export function generateEd25519(comment: string): GeneratedKey {
  // The comment ends up on a single authorized_keys line.
  if (/[\r\n\0]/.test(comment)) {
    throw new UsageError(`key comment ${JSON.stringify(comment)} contains a line break`, 'give a one-line comment');
  }
  const key = sshpk.generatePrivateKey('ed25519');
  key.comment = comment.trim();
  let privateKey = key.toString('ssh');
  if (!privateKey.endsWith('\n')) privateKey += '\n';
  const pub = key.toPublic();
  const base64 = pub.toString('ssh').split(' ')[1]!;
  return {
    privateKey,
    publicLine: publicLineOf({ type: 'ssh-ed25519', base64, comment: comment.trim() }),
    fingerprint: sha256Fingerprint(Buffer.from(base64, 'base64')),
  };
}

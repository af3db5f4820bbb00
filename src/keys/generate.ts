/**
 * Key generation: ed25519, no passphrase (lftp and the self-test run unattended), made by Node's crypto and
 * written in OpenSSH's own private key format, as `ssh-keygen -t ed25519 -N ''` writes it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
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

/** An RFC 4251 string: uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * PROTOCOL.key: "openssh-key-v1\0", cipher and kdf "none", one key; the private section holds a repeated
 * check number, the key (public point, then seed and public point) and the comment, padded 1, 2, 3, … to
 * the cipher's block size (8 without a cipher).
 */
export function opensshEd25519PrivateKey(seed: Buffer, pub: Buffer, comment: string, check = randomBytes(4)): string {
  const type = sshString('ssh-ed25519');
  const publicBlob = Buffer.concat([type, sshString(pub)]);
  const body = Buffer.concat([check, check, type, sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad = Buffer.from(Array.from({ length: (8 - (body.length % 8)) % 8 }, (_, i) => i + 1));
  const blob = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'), sshString('none'), sshString(''),
    Buffer.from([0, 0, 0, 1]), sshString(publicBlob), sshString(Buffer.concat([body, pad])),
  ]);
  const lines = blob.toString('base64').match(/.{1,70}/g)!;
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

export function generateEd25519(comment: string): GeneratedKey {
  // The comment ends up on a single authorized_keys line.
  if (/[\r\n\0]/.test(comment)) {
    throw new UsageError(`key comment ${JSON.stringify(comment)} contains a line break`, 'give a one-line comment');
  }
  const c = comment.trim();
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  return {
    privateKey: opensshEd25519PrivateKey(seed, pub, c),
    publicLine: publicLineOf({ type: 'ssh-ed25519', base64: blob.toString('base64'), comment: c }),
    fingerprint: sha256Fingerprint(blob),
  };
}

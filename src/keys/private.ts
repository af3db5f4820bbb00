/**
 * Looking at a private key without its passphrase: is it encrypted (lftp cannot use it unattended), and
 * which public key belongs to it (to compare with the collector's authorized_keys).
 */
import { UsageError } from '../errors.js';
import { publicLineOf } from './parse.js';
import { sshpk } from './sshpk.js';
import { decodeBase64Strict, sha256Fingerprint, WireReader } from './wire.js';

export interface PrivateKeyInfo {
  encrypted: boolean;
  type?: string;
  publicLine?: string;
  fingerprint?: string;
}

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const FIX = 'give an OpenSSH private key file such as ~/.ssh/id_ed25519 (not the .pub file)';

function fromPublicBlob(blob: Buffer, comment = ''): Omit<PrivateKeyInfo, 'encrypted'> {
  const type = new WireReader(blob).string();
  if (!type) return {};
  return {
    type,
    publicLine: publicLineOf({ type, base64: blob.toString('base64'), comment }),
    fingerprint: sha256Fingerprint(blob),
  };
}

export function inspectPrivateKey(text: string, source: string): PrivateKeyInfo {
  const bad = (why: string, fix = FIX): never => {
    throw new UsageError(`${source} ${why}`, fix);
  };
  const t = text.trim();
  if (t === '') bad('is empty');

  const openssh = /^-----BEGIN OPENSSH PRIVATE KEY-----\r?\n([\s\S]*?)\r?\n-----END OPENSSH PRIVATE KEY-----$/.exec(t);
  if (openssh) {
    const data = decodeBase64Strict(openssh[1]!.replace(/\s+/g, ''));
    if (!data || !data.subarray(0, MAGIC.length).equals(MAGIC)) bad('is not a readable OpenSSH private key');
    // The header (cipher, kdf, public key) is stored in clear even when the private part is encrypted.
    const r = new WireReader(data!.subarray(MAGIC.length));
    const cipher = r.string();
    const kdf = r.string();
    const kdfOptions = r.bytes();
    const count = r.uint32();
    const publicBlob = r.bytes();
    if (cipher === undefined || kdf === undefined || !kdfOptions || count !== 1 || !publicBlob) {
      bad('is not a readable OpenSSH private key');
    }
    if (cipher !== 'none') return { encrypted: true, ...fromPublicBlob(publicBlob!) };
    try {
      // Unencrypted: read the whole key, so a damaged private part is caught here and not at upload time.
      const key = sshpk().parsePrivateKey(t, 'ssh');
      return { encrypted: false, ...fromPublicBlob(key.toPublic().toBuffer('rfc4253'), key.comment ?? '') };
    } catch {
      // sshpk does not know security-key types; their private part lives on the token anyway.
      if (new WireReader(publicBlob!).string()?.startsWith('sk-')) return { encrypted: false, ...fromPublicBlob(publicBlob!) };
      return bad('is a damaged OpenSSH private key');
    }
  }

  if (/^-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(t)) return { encrypted: true };
  const pem = /^-----BEGIN (RSA |EC |DSA )?PRIVATE KEY-----/.exec(t);
  if (pem) {
    if (/^Proc-Type:\s*4,ENCRYPTED/m.test(t)) return { encrypted: true };
    try {
      const key = sshpk().parsePrivateKey(t, 'pem');
      return { encrypted: false, ...fromPublicBlob(key.toPublic().toBuffer('rfc4253')) };
    } catch {
      return bad('is a damaged PEM private key');
    }
  }

  if (t.startsWith('PuTTY-User-Key-File')) {
    bad('is a PuTTY key', 'export it in OpenSSH format (PuTTYgen: Conversions > Export OpenSSH key)');
  }
  if (/^(ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ AAAA/.test(t)) bad('is a public key', FIX);
  return bad('is not a private key', FIX);
}

/**
 * Public key lines: split, decode, fingerprint and the acceptance policy for upload keys.
 * sshpk checks the structure of the classic key types; security-key (sk-*) types, which sshpk does not
 * know, are checked here against their wire layout.
 */
import { UsageError } from '../errors.js';
import { optionsPrefixLength } from './options.js';
import { sshpk } from './sshpk.js';
import { decodeBase64Strict, sha256Fingerprint, WireReader } from './wire.js';

export interface ParsedKey {
  /** Wire type name, e.g. ssh-ed25519. */
  type: string;
  bits: number;
  base64: string;
  comment: string;
  /** SHA256:… without padding, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/** A public key line split into its parts; nothing is decoded yet. */
export interface KeyParts {
  options: string;
  type: string;
  base64: string;
  comment: string;
}

/** Types an upload key may have (RSA additionally needs 3072 bits). */
export const ACCEPTED_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

export const MIN_RSA_BITS = 3072;

// A token that names a key type rather than an option: no option name starts like this.
const TYPE_TOKEN = /^(ssh|ecdsa|sk|rsa|x509v3)-[A-Za-z0-9@._-]+$/;

const KEY_FIX = 'give one public key line "TYPE BASE64 [COMMENT]", e.g. the contents of ~/.ssh/id_ed25519.pub';
const NEW_KEY_FIX = 'make a new key with "ssh-keygen -t ed25519" and give its .pub file';

/** Raised by decodeKey for a key that cannot be read at all (not a policy refusal). */
export class KeyDecodeError extends Error {
  override name = 'KeyDecodeError';
}

/** Shorten a value for an error message. */
export function truncate(s: string, max = 40): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** Label for inline key text in messages, e.g. `--key "ssh-ed25519 AAAAC3Nz…"`. */
export function keySource(flag: string, value: string): string {
  return `${flag} "${truncate(value.trim(), 32)}"`;
}

/**
 * Split "[options] type base64 [comment]"; undefined when no key type can be found.
 * Mirrors sshd: if the first token is not a key type it is the options string.
 */
export function splitKeyLine(line: string): KeyParts | undefined {
  let s = line.replace(/^[ \t]+/, '');
  let options = '';
  const first = /^[^ \t]*/.exec(s)![0];
  if (!TYPE_TOKEN.test(first)) {
    const n = optionsPrefixLength(s);
    if (n <= 0) return undefined;
    options = s.slice(0, n);
    s = s.slice(n).replace(/^[ \t]+/, '');
  }
  const m = /^([^ \t]+)(?:[ \t]+([^ \t]+))?(?:[ \t]+(.*))?$/.exec(s.replace(/[ \t\r]+$/, ''));
  if (!m || !TYPE_TOKEN.test(m[1]!)) return undefined;
  return { options, type: m[1]!, base64: m[2] ?? '', comment: (m[3] ?? '').trim() };
}

/**
 * The NIST curves of ssh's ECDSA keys, y² = x³ − 3x + b over the prime p (FIPS 186-4, D.1.2), and the bytes
 * of a coordinate. The check is plain arithmetic: node:crypto, which could do it, costs a start about 4 ms.
 */
const CURVES: Record<string, { size: number; p: bigint; b: bigint }> = {
  nistp256: {
    size: 32,
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  nistp384: {
    size: 48,
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  nistp521: {
    size: 66,
    p: 2n ** 521n - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
};

/** sshd refuses points off the curve. `q` is 04 || X || Y, each coordinate less than p. */
export function onCurve(curve: string, q: Buffer): boolean {
  const c = CURVES[curve];
  if (!c || q.length !== 1 + 2 * c.size || q[0] !== 4) return false;
  const x = BigInt(`0x${q.subarray(1, 1 + c.size).toString('hex')}`);
  const y = BigInt(`0x${q.subarray(1 + c.size).toString('hex')}`);
  if (x >= c.p || y >= c.p) return false;
  const mod = (v: bigint) => ((v % c.p) + c.p) % c.p;
  return mod(y * y) === mod(x * x * x - 3n * x + c.b);
}

/**
 * The classic key types as sshd reads them (sshkey_from_blob), without sshpk, whose loading costs more than
 * listing the keys does: ed25519 a 32-byte point; ECDSA its curve's name and a point on that curve; RSA two
 * non-negative integers (e, n), its size the bits of n; nothing after them. Returns the size in bits.
 */
function decodeClassic(type: string, r: WireReader): number {
  const malformed = () => new KeyDecodeError('the key data is malformed');
  let bits: number;
  if (type === 'ssh-ed25519') {
    const pk = r.bytes();
    if (!pk || pk.length !== 32) throw malformed();
    bits = 256;
  } else if (type === 'ssh-rsa') {
    const e = r.bytes();
    const n = r.bytes();
    if (!e || !n || [e, n].some((x) => x.length === 0 || (x[0]! & 0x80) !== 0)) throw malformed();
    const start = n.findIndex((b) => b !== 0);
    if (start < 0) throw malformed();
    bits = (n.length - start) * 8 - Math.clz32(n[start]!) + 24;
  } else {
    const curve = r.string();
    const q = r.bytes();
    if (curve === undefined || `ecdsa-sha2-${curve}` !== type || !q || !onCurve(curve, q)) throw malformed();
    bits = curve === 'nistp521' ? 521 : CURVES[curve]!.size * 8;
  }
  if (!r.atEnd) throw malformed();
  return bits;
}

function decodeSk(type: string, r: WireReader): number {
  if (type === 'sk-ssh-ed25519@openssh.com') {
    const pk = r.bytes();
    if (!pk || pk.length !== 32) throw new KeyDecodeError('the ed25519 public point is malformed');
  } else {
    const curve = r.string();
    const q = r.bytes();
    if (curve !== 'nistp256' || !q || !onCurve(curve, q)) {
      throw new KeyDecodeError('the ecdsa public point is malformed');
    }
  }
  const application = r.string();
  if (application === undefined || !r.atEnd) throw new KeyDecodeError('the security-key data is malformed');
  return 256;
}

/**
 * Decode and check the blob of a key without applying the upload policy, so that existing
 * authorized_keys entries (an old RSA 2048 key, say) can still be listed and removed.
 */
export function decodeKey(type: string, base64: string, comment = ''): ParsedKey {
  if (base64 === '') throw new KeyDecodeError('the base64 key data is missing');
  const blob = decodeBase64Strict(base64);
  if (!blob) throw new KeyDecodeError('the key data is not valid base64 (was it cut or wrapped?)');
  const r = new WireReader(blob);
  const inner = r.string();
  if (inner === undefined) throw new KeyDecodeError('the key data is truncated');
  if (inner !== type) {
    throw new KeyDecodeError(`the line says ${truncate(type, 40)} but the key data is ${truncate(inner, 40)}`);
  }
  let bits: number;
  if (type.startsWith('sk-') && (ACCEPTED_TYPES as readonly string[]).includes(type)) {
    bits = decodeSk(type, r);
  } else if (/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/.test(type)) {
    bits = decodeClassic(type, r);
  } else if (type === 'ssh-dss') {
    try {
      bits = sshpk().parseKey(`${type} ${base64}`, 'ssh').size;
    } catch {
      throw new KeyDecodeError('the key data is malformed');
    }
  } else {
    throw new KeyDecodeError(`unknown key type ${truncate(type, 40)}`);
  }
  return { type, bits, base64, comment, fingerprint: sha256Fingerprint(blob) };
}

/** Why a decodable key may not be used for uploads, or undefined when it may. */
export function policyProblem(key: ParsedKey): { message: string; fix: string } | undefined {
  if (key.type === 'ssh-dss') {
    return { message: 'is a DSA key, which current OpenSSH no longer accepts', fix: NEW_KEY_FIX };
  }
  if (key.type === 'ssh-rsa' && key.bits < MIN_RSA_BITS) {
    return {
      message: `is an RSA key of ${key.bits} bits; at least ${MIN_RSA_BITS} bits are required`,
      fix: NEW_KEY_FIX,
    };
  }
  if (!(ACCEPTED_TYPES as readonly string[]).includes(key.type)) {
    return { message: `has unsupported key type ${key.type}`, fix: NEW_KEY_FIX };
  }
  return undefined;
}

/** True when the text is (part of) a private key, so that it is never echoed back or stored. */
export function looksPrivate(text: string): boolean {
  return (
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text) ||
    text.includes('openssh-key-v1') ||
    text.includes('b3BlbnNzaC1rZXktdjE') || // base64 of "openssh-key-v1"
    text.includes('PuTTY-User-Key-File')
  );
}

/**
 * Parse ONE public key line for use as an upload key. `source` names where the text came from
 * (a file name, or keySource('--key', text)). Throws UsageError naming the source and the fix.
 */
export function parsePublicKey(text: string, source: string): ParsedKey {
  const fail = (message: string, fix = KEY_FIX): never => {
    throw new UsageError(`${source} ${message}`, fix);
  };
  const t = text.trim();
  if (t === '') fail('is empty');
  if (looksPrivate(t)) {
    fail(
      'is a private key, not a public key',
      'give the matching .pub file (e.g. ~/.ssh/id_ed25519.pub), or print it with "ssh-keygen -y -f KEYFILE"; keep the private key secret',
    );
  }
  if (t.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')) {
    fail('is in RFC 4716 (SSH2) format', 'convert it with "ssh-keygen -i -f FILE" and give the result');
  }
  const lines = t.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) fail('contains only comments');
  if (lines.length > 1) fail(`contains ${lines.length} lines`, 'give exactly one public key; add further keys one at a time');
  const parts = splitKeyLine(lines[0]!);
  if (!parts) fail(`is not an OpenSSH public key line: "${truncate(lines[0]!)}"`);
  if (parts!.options !== '') {
    fail(
      `starts with authorized_keys options (${truncate(parts!.options, 30)})`,
      'give the key from its type on (e.g. "ssh-ed25519 AAAA… comment"); sftp-setup sets restrict and from= itself',
    );
  }
  let key: ParsedKey;
  try {
    key = decodeKey(parts!.type, parts!.base64, parts!.comment);
  } catch (e) {
    if (!(e instanceof KeyDecodeError)) throw e;
    return fail(
      `is not a valid public key: ${e.message}`,
      /unknown key type/.test(e.message) ? `use one of: ${ACCEPTED_TYPES.join(', ')}` : KEY_FIX,
    );
  }
  const problem = policyProblem(key);
  if (problem) fail(problem.message, problem.fix);
  return key;
}

/** Fingerprint of a public key line (options allowed), or undefined when it is not a readable key. */
export function fingerprintOfLine(line: string): string | undefined {
  const parts = splitKeyLine(line);
  if (!parts) return undefined;
  try {
    return decodeKey(parts.type, parts.base64).fingerprint;
  } catch {
    return undefined;
  }
}

/** "type base64 comment" without options. */
export function publicLineOf(key: Pick<ParsedKey, 'type' | 'base64' | 'comment'>): string {
  return key.comment ? `${key.type} ${key.base64} ${key.comment}` : `${key.type} ${key.base64}`;
}

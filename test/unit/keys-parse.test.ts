import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { decodeKey, fingerprintOfLine, keySource, parsePublicKey, splitKeyLine } from '../../src/keys/parse.js';
import { usageError } from './helpers.js';

let dir: string;
const pub: Record<string, string> = {};
const priv: Record<string, string> = {};

function sshString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** The strings of a public key line's blob: type and its parts. */
function splitBlob(line: string): Buffer[] {
  const blob = Buffer.from(line.split(' ')[1]!, 'base64');
  const out: Buffer[] = [];
  for (let i = 0; i < blob.length;) {
    const n = blob.readUInt32BE(i);
    out.push(blob.subarray(i + 4, i + 4 + n));
    i += 4 + n;
  }
  return out;
}

function keygenFingerprint(line: string): string {
  const f = join(dir, `fp-${Math.random().toString(36).slice(2)}.pub`);
  writeFileSync(f, `${line}\n`);
  return execFileSync('ssh-keygen', ['-lf', f], { encoding: 'utf8' }).split(' ')[1]!;
}


// Security-key public keys are made by hand: no token is needed to parse or fingerprint them.
const skEd = `sk-ssh-ed25519@openssh.com ${Buffer.concat([
  sshString('sk-ssh-ed25519@openssh.com'),
  sshString(Buffer.alloc(32, 7)),
  sshString('ssh:'),
]).toString('base64')} yubi`;
// The P-256 point is borrowed from an ordinary ecdsa key: it must lie on the curve.
const skEcdsaFrom = (q: Buffer) =>
  `sk-ecdsa-sha2-nistp256@openssh.com ${Buffer.concat([
    sshString('sk-ecdsa-sha2-nistp256@openssh.com'),
    sshString('nistp256'),
    sshString(q),
    sshString('ssh:'),
  ]).toString('base64')} yubi2`;
let skEcdsa = '';
// A DSA blob with plausible sizes (modern ssh-keygen may no longer make DSA keys).
const dsa = `ssh-dss ${Buffer.concat([
  sshString('ssh-dss'),
  sshString(Buffer.concat([Buffer.from([0]), Buffer.alloc(128, 0xc1)])),
  sshString(Buffer.concat([Buffer.from([0]), Buffer.alloc(20, 0xc1)])),
  sshString(Buffer.alloc(128, 0x11)),
  sshString(Buffer.alloc(128, 0x22)),
]).toString('base64')} old`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keys-parse-'));
  const make = (name: string, args: string[]) => {
    execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@test`, '-f', join(dir, name)]);
    pub[name] = readFileSync(join(dir, `${name}.pub`), 'utf8');
    priv[name] = readFileSync(join(dir, name), 'utf8');
  };
  make('ed25519', ['-t', 'ed25519']);
  make('ecdsa256', ['-t', 'ecdsa', '-b', '256']);
  make('ecdsa384', ['-t', 'ecdsa', '-b', '384']);
  make('ecdsa521', ['-t', 'ecdsa', '-b', '521']);
  make('rsa3072', ['-t', 'rsa', '-b', '3072']);
  make('rsa2048', ['-t', 'rsa', '-b', '2048']);
  const blob = Buffer.from(pub.ecdsa256!.split(' ')[1]!, 'base64');
  skEcdsa = skEcdsaFrom(blob.subarray(blob.length - 65));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parsePublicKey accepts', () => {
  it.each([
    ['ed25519', 'ssh-ed25519', 256],
    ['ecdsa256', 'ecdsa-sha2-nistp256', 256],
    ['ecdsa384', 'ecdsa-sha2-nistp384', 384],
    ['ecdsa521', 'ecdsa-sha2-nistp521', 521],
    ['rsa3072', 'ssh-rsa', 3072],
  ])('%s with the fingerprint ssh-keygen prints', (name, type, bits) => {
    const k = parsePublicKey(pub[name]!, `${name}.pub`);
    expect(k.type).toBe(type);
    expect(k.bits).toBe(bits);
    expect(k.comment).toBe(`${name}@test`);
    expect(pub[name]!.trim()).toBe(`${k.type} ${k.base64} ${k.comment}`);
    expect(k.fingerprint).toBe(keygenFingerprint(pub[name]!.trim()));
  });

  it.each([
    ['sk-ssh-ed25519', () => skEd, 'sk-ssh-ed25519@openssh.com', 'yubi'],
    ['sk-ecdsa', () => skEcdsa, 'sk-ecdsa-sha2-nistp256@openssh.com', 'yubi2'],
  ])('%s security keys (checked without sshpk)', (_n, lineOf, type, comment) => {
    const line = lineOf();
    const k = parsePublicKey(line, 'x');
    expect(k).toMatchObject({ type, bits: 256, comment });
    expect(k.fingerprint).toBe(keygenFingerprint(line));
  });

  it('a key without comment, surrounded by whitespace and CRLF', () => {
    const [type, b64] = pub.ed25519!.split(' ');
    const k = parsePublicKey(`\r\n  ${type} ${b64}  \r\n`, 'x');
    expect(k.comment).toBe('');
    expect(k.base64).toBe(b64);
  });

  it('a comment with spaces, and comment lines around the key', () => {
    const [type, b64] = pub.ed25519!.split(' ');
    expect(parsePublicKey(`# camera key\n${type} ${b64} allsky camera 1\n`, 'x').comment).toBe('allsky camera 1');
  });
});

describe('the classic key types, read without sshpk', () => {
  it('give the sizes sshpk gives for the keys ssh-keygen makes', () => {
    const sshpk = createRequire(import.meta.url)('sshpk') as typeof import('sshpk');
    for (const name of ['ed25519', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'rsa3072', 'rsa2048']) {
      const [type, b64] = pub[name]!.split(' ');
      expect(decodeKey(type!, b64!).bits, name).toBe(sshpk.parseKey(`${type} ${b64}`, 'ssh').size);
    }
  });
});

describe('parsePublicKey rejects', () => {
  const b64 = () => pub.ed25519!.split(' ')[1]!;
  it.each<[string, () => string, RegExp, RegExp?]>([
    ['empty input', () => '  \n', /is empty/],
    ['only comments', () => '# nothing\n', /only comments/],
    ['several keys', () => pub.ed25519! + pub.ecdsa256!, /2 lines/, /one public key/],
    ['malformed base64', () => `ssh-ed25519 ${b64().slice(0, -3)}!!! x`, /not valid base64/],
    ['truncated key data', () => `ssh-ed25519 ${b64().slice(0, 40)} x`, /malformed|base64/],
    ['missing base64', () => 'ssh-ed25519', /missing/],
    ['type/blob mismatch', () => `ecdsa-sha2-nistp256 ${b64()} x`, /says ecdsa-sha2-nistp256 but the key data is ssh-ed25519/],
    ['authorized_keys options', () => `restrict,from="10.0.0.1" ${pub.ed25519!}`, /options/, /sets restrict/],
    ['a private OpenSSH key', () => priv.ed25519!, /private key/, /\.pub/],
    ['a private PEM key', () => '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n', /private key/, /\.pub/],
    ['a DSA key', () => dsa, /DSA/, /ssh-keygen -t ed25519/],
    ['RSA 2048', () => pub.rsa2048!, /RSA key of 2048 bits/, /ed25519/],
    ['an unknown type', () => `ssh-foo ${b64()} x`, /unknown key type ssh-foo|says ssh-foo/],
    ['a certificate', () => `ssh-ed25519-cert-v01@openssh.com ${b64()} x`, /cert|says/],
    ['garbage', () => 'hello world', /not an OpenSSH public key line/],
    ['RFC 4716 format', () => '---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----', /RFC 4716/, /ssh-keygen -i/],
    // sshd refuses these (sshkey_from_blob): a point of another size, bytes after the point.
    ['an ed25519 point of 31 bytes', () => `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31, 9))]).toString('base64')} x`, /malformed/],
    ['an ed25519 point of 33 bytes', () => `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(33, 0))]).toString('base64')} x`, /malformed/],
    ['bytes after the ed25519 point', () => `ssh-ed25519 ${Buffer.concat([Buffer.from(b64(), 'base64'), sshString('x')]).toString('base64')} x`, /malformed/],
    ['an ed25519 blob without its point', () => `ssh-ed25519 ${sshString('ssh-ed25519').toString('base64')} x`, /malformed/],
    ['an ECDSA point off the curve', () => {
      const blob = Buffer.from(pub.ecdsa256!.split(' ')[1]!, 'base64');
      blob[blob.length - 1] ^= 1;
      return `ecdsa-sha2-nistp256 ${blob.toString('base64')} x`;
    }, /malformed/],
    ['an ECDSA blob naming another curve', () => {
      const [, , q] = splitBlob(pub.ecdsa256!);
      return `ecdsa-sha2-nistp256 ${Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp384'), sshString(q!)]).toString('base64')} x`;
    }, /malformed/],
    ['a compressed ECDSA point', () => {
      const [, , q] = splitBlob(pub.ecdsa256!);
      const compressed = Buffer.concat([Buffer.from([2 + (q![64]! & 1)]), q!.subarray(1, 33)]);
      return `ecdsa-sha2-nistp256 ${Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(compressed)]).toString('base64')} x`;
    }, /malformed/],
    ['an RSA modulus with its high bit set (negative, for sshd)', () => {
      const [, e, n] = splitBlob(pub.rsa3072!);
      return `ssh-rsa ${Buffer.concat([sshString('ssh-rsa'), sshString(e!), sshString(n!.subarray(1))]).toString('base64')} x`;
    }, /malformed/],
    ['bytes after the RSA modulus', () => `ssh-rsa ${Buffer.concat([Buffer.from(pub.rsa3072!.split(' ')[1]!, 'base64'), Buffer.from([0, 0, 0, 0])]).toString('base64')}`, /malformed/],
  ])('%s', (_name, input, message, fix) => {
    const e = usageError(() => parsePublicKey(input(), 'camera.pub'));
    expect(e.message).toMatch(/^camera\.pub /);
    expect(e.message).toMatch(message);
    if (fix) expect(e.fix).toMatch(fix);
    expect(e.fix).toBeTruthy();
  });

  it('never echoes private key material', () => {
    const e = usageError(() => parsePublicKey(priv.ed25519!, 'id'));
    const body = priv.ed25519!.split('\n')[2]!;
    expect(`${e.message} ${e.fix}`).not.toContain(body.slice(0, 20));
  });

  it('a security key whose point is off the curve', () => {
    const bad = skEcdsaFrom(Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 9)]));
    expect(usageError(() => parsePublicKey(bad, 'sk.pub')).message).toMatch(/point is malformed/);
  });

  it('truncates long input in messages', () => {
    const e = usageError(() => parsePublicKey('x'.repeat(500), keySource('--key', 'x'.repeat(500))));
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).toContain('--key "xxxx');
  });
});

describe('helpers', () => {
  it('splitKeyLine separates quoted options containing spaces and commas', () => {
    expect(splitKeyLine('from="a, b",command="echo \\"hi there\\"" ssh-ed25519 AAAA c d')).toEqual({
      options: 'from="a, b",command="echo \\"hi there\\""',
      type: 'ssh-ed25519',
      base64: 'AAAA',
      comment: 'c d',
    });
    expect(splitKeyLine('from="unterminated ssh-ed25519 AAAA')).toBeUndefined();
  });
  it('fingerprintOfLine reads lines with options', () => {
    const fp = parsePublicKey(pub.ed25519!, 'x').fingerprint;
    expect(fingerprintOfLine(`restrict ${pub.ed25519!.trim()}`)).toBe(fp);
    expect(fingerprintOfLine('garbage')).toBeUndefined();
  });
});

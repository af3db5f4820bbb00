import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519, opensshEd25519PrivateKey } from '../../src/keys/generate.js';
import { parsePublicKey } from '../../src/keys/parse.js';
import { inspectPrivateKey } from '../../src/keys/private.js';
import { usageError } from './helpers.js';

let dir: string;

function keygen(name: string, args: string[]): { priv: string; pub: string } {
  const f = join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-C', `${name}@test`, '-f', f]);
  return { priv: readFileSync(f, 'utf8'), pub: readFileSync(`${f}.pub`, 'utf8').trim() };
}


beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keys-private-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('generateEd25519', () => {
  it('makes an unencrypted OpenSSH key that ssh-keygen reads back to the same public key', () => {
    const g = generateEd25519('allsky@camera');
    expect(g.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/);
    expect(g.publicLine).toMatch(/^ssh-ed25519 AAAA\S+ allsky@camera$/);
    const f = join(dir, 'gen');
    writeFileSync(f, g.privateKey, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', f], { encoding: 'utf8' }).trim();
    expect(derived.split(' ').slice(0, 2)).toEqual(g.publicLine.split(' ').slice(0, 2));
    expect(g.fingerprint).toBe(execFileSync('ssh-keygen', ['-lf', f], { encoding: 'utf8' }).split(' ')[1]);
    expect(parsePublicKey(g.publicLine, 'gen').fingerprint).toBe(g.fingerprint);
    expect(inspectPrivateKey(g.privateKey, 'gen')).toEqual({
      encrypted: false,
      type: 'ssh-ed25519',
      publicLine: g.publicLine,
      fingerprint: g.fingerprint,
    });
  });
  it('makes a key whose seed signs for its public point (ssh-keygen -Y sign, then check with the .pub)', () => {
    const g = generateEd25519('sign@test');
    const f = join(dir, 'gen-sign');
    writeFileSync(f, g.privateKey, { mode: 0o600 });
    writeFileSync(`${f}.pub`, `${g.publicLine}\n`);
    writeFileSync(`${f}.msg`, 'message\n');
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', f, '-n', 'test', `${f}.msg`], { stdio: 'ignore' });
    const ok = execFileSync('sh', ['-c', 'ssh-keygen -Y check-novalidate -n test -f "$1.pub" -s "$1.msg.sig" < "$1.msg"', 'sh', f], { encoding: 'utf8' });
    expect(ok).toMatch(/Good "test" signature/);
  });
  it('writes the private key byte for byte as ssh-keygen does, given its check number', () => {
    for (const comment of ['x@test', 'a longer comment for other padding', '']) {
      const f = join(dir, `kg-${comment.length}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', f]);
      const text = readFileSync(f, 'utf8');
      const blob = Buffer.from(text.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
      // magic (15), "none" x2 (8 + 8), "" (4), count (4), public blob (4 + 51), private length (4): the check number.
      const priv = blob.subarray(15 + 8 + 8 + 4 + 4 + 55 + 4);
      const check = priv.subarray(0, 4);
      const pub = priv.subarray(8 + 15 + 4, 8 + 15 + 4 + 32);
      const seed = priv.subarray(8 + 15 + 4 + 32 + 4, 8 + 15 + 4 + 32 + 4 + 32);
      expect(opensshEd25519PrivateKey(Buffer.from(seed), Buffer.from(pub), comment, Buffer.from(check))).toBe(text);
    }
  });
  it('makes a different key each time, and allows an empty comment', () => {
    const a = generateEd25519('');
    expect(a.publicLine).toMatch(/^ssh-ed25519 \S+$/);
    expect(generateEd25519('').fingerprint).not.toBe(a.fingerprint);
  });
  it('refuses a multi-line comment', () => {
    usageError(() => generateEd25519('a\nb'));
  });
});

describe('inspectPrivateKey', () => {
  it.each([
    ['ed25519', ['-t', 'ed25519'], 'ssh-ed25519'],
    ['ecdsa', ['-t', 'ecdsa', '-b', '256'], 'ecdsa-sha2-nistp256'],
    ['rsa', ['-t', 'rsa', '-b', '3072'], 'ssh-rsa'],
  ])('unencrypted OpenSSH %s: derives the public key', (name, args, type) => {
    const k = keygen(`${name}-plain`, [...args, '-N', '']);
    const info = inspectPrivateKey(k.priv, name);
    expect(info).toMatchObject({ encrypted: false, type, publicLine: k.pub });
    expect(info.fingerprint).toBe(parsePublicKey(k.pub, 'pub').fingerprint);
  });

  it('passphrase-protected OpenSSH key: encrypted, public key still known from the clear header', () => {
    const k = keygen('ed-secret', ['-t', 'ed25519', '-N', 'secret']);
    const info = inspectPrivateKey(k.priv, 'id_ed25519');
    expect(info.encrypted).toBe(true);
    expect(info.type).toBe('ssh-ed25519');
    expect(info.fingerprint).toBe(parsePublicKey(k.pub, 'pub').fingerprint);
    expect(info.publicLine).toBe(k.pub.split(' ').slice(0, 2).join(' '));
  });

  it('PEM keys: plain derives the public key, encrypted is reported', () => {
    const plain = keygen('pem-plain', ['-t', 'rsa', '-b', '3072', '-m', 'PEM', '-N', '']);
    expect(plain.priv).toMatch(/BEGIN RSA PRIVATE KEY/);
    expect(inspectPrivateKey(plain.priv, 'pem')).toMatchObject({
      encrypted: false,
      type: 'ssh-rsa',
      fingerprint: parsePublicKey(plain.pub, 'pub').fingerprint,
    });
    const enc = keygen('pem-enc', ['-t', 'rsa', '-b', '3072', '-m', 'PEM', '-N', 'secret']);
    expect(enc.priv).toMatch(/Proc-Type: 4,ENCRYPTED/);
    expect(inspectPrivateKey(enc.priv, 'pem').encrypted).toBe(true);
    const pkcs8 = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0w\n-----END ENCRYPTED PRIVATE KEY-----\n';
    expect(inspectPrivateKey(pkcs8, 'p8')).toEqual({ encrypted: true });
  });

  it.each<[string, () => string, RegExp]>([
    ['empty', () => '', /empty/],
    ['a public key', () => generateEd25519('x').publicLine, /public key/],
    ['garbage', () => 'hello', /not a private key/],
    [
      'a damaged OpenSSH body',
      () => '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      /not a readable/,
    ],
    [
      'a truncated OpenSSH key',
      () => {
        const lines = generateEd25519('x').privateKey.trim().split('\n');
        return [...lines.slice(0, 3), lines[lines.length - 1]].join('\n');
      },
      /not a readable|damaged/,
    ],
    ['a PuTTY key', () => 'PuTTY-User-Key-File-3: ssh-ed25519\n', /PuTTY/],
  ])('rejects %s, naming the source', (_n, input, why) => {
    const e = usageError(() => inspectPrivateKey(input(), '/home/pi/.ssh/id_x'));
    expect(e.message).toMatch(/^\/home\/pi\/\.ssh\/id_x /);
    expect(e.message).toMatch(why);
  });
});

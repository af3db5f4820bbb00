/**
 * ssh-keygen for the certificate authority: sign, list, and keep the key revocation list. Every call passes
 * an argv array (never a shell), so a key comment or id holding quotes, `$(…)` or line breaks is data to
 * ssh-keygen and nothing else. Files ssh-keygen must read or write are made in a private directory of our
 * own (mkdtemp: mode 0700, in root's /run when root); the results come back as content, and the caller
 * installs them through the journal (atomic, backed up, rolled back).
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailError } from '../errors.js';
import { parseCertListing, type CertInfo } from '../ca/cert-info.js';
import { krlSpec } from '../ca/krl-spec.js';
import { run, runOk } from './exec.js';

async function withPrivateDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const base = process.getuid?.() === 0 ? '/run/sftp-setup-keygen-' : join(tmpdir(), 'sftp-setup-keygen-');
  const dir = await fs.mkdtemp(base);
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** `ssh-keygen -L` of one certificate line, times in UTC; undefined when it is not a certificate. */
export async function readCertificate(certLine: string): Promise<CertInfo | undefined> {
  // `-f -` reads stdin itself (Node's stdio pipes are sockets, which /dev/stdin cannot open).
  const r = await run('ssh-keygen', ['-L', '-f', '-'], { input: `${certLine.trim()}\n`, env: { TZ: 'UTC0' } });
  return r.exitCode === 0 ? parseCertListing(r.stdout) : undefined;
}

export interface SignRequest {
  /** the CA's private key file */
  caKey: string;
  /** the public key to certify, one line */
  publicLine: string;
  keyId: string;
  principals: string[];
  /** -V as validated (ca/validity.ts) */
  validity: string;
  serial?: bigint;
  host?: boolean;
  /** -O options, e.g. ['clear'] */
  options?: string[];
}

/** Sign a public key; returns the certificate line. */
export async function signCertificate(req: SignRequest): Promise<string> {
  return withPrivateDir(async (dir) => {
    const pub = join(dir, 'key.pub');
    await fs.writeFile(pub, `${req.publicLine.trim().split(/[ \t]+/).slice(0, 2).join(' ')}\n`, { mode: 0o600 });
    const args = ['-q', '-s', req.caKey, '-I', req.keyId, '-n', req.principals.join(','), '-V', req.validity];
    if (req.serial !== undefined) args.push('-z', req.serial.toString());
    if (req.host) args.push('-h');
    for (const o of req.options ?? []) args.push('-O', o);
    await runOk('ssh-keygen', [...args, pub]);
    // ssh-keygen copies the key's comment after the certificate: the camera chose it (control characters,
    // a forged second line), so the certificate line is its type and data only.
    const [type, data] = (await fs.readFile(join(dir, 'key-cert.pub'), 'utf8')).trim().split(/[ \t]+/);
    if (!type?.endsWith('-cert-v01@openssh.com') || !data) throw new FailError('ssh-keygen wrote no certificate', 'please report this');
    return `${type} ${data}`;
  });
}

/** A new, empty key revocation list (what `ssh-keygen -k` writes with nothing to revoke). */
export async function emptyKrl(): Promise<Buffer> {
  return withPrivateDir(async (dir) => {
    await runOk('ssh-keygen', ['-q', '-k', '-f', join(dir, 'krl')]);
    return fs.readFile(join(dir, 'krl'));
  });
}

export interface Revocation {
  /** public key lines (plain keys: the key and every certificate of it; certificates: by serial under their CA) */
  keys?: string[];
  serials?: bigint[];
  /** SHA256 fingerprints of keys to revoke outright, when only the fingerprint is known (the CA's record) */
  hashes?: string[];
  /** the CA's public key file, needed for serials */
  caPub?: string;
}

/**
 * The KRL with more revocations merged in. ssh-keygen -u rewrites its file in place, which sshd (reading it
 * at every authentication) could see half-written: it works on a copy here, and the caller renames the
 * result into place.
 */
export async function krlWith(krl: Buffer, what: Revocation): Promise<Buffer> {
  return withPrivateDir(async (dir) => {
    const file = join(dir, 'krl');
    await fs.writeFile(file, krl, { mode: 0o600 });
    const inputs: string[] = [];
    if (what.keys?.length) {
      await fs.writeFile(join(dir, 'keys.pub'), what.keys.map((k) => `${k.trim()}\n`).join(''), { mode: 0o600 });
      inputs.push(join(dir, 'keys.pub'));
    }
    // Serials and fingerprints go through krlSpec, which refuses anything that is not exactly one of them.
    const spec = krlSpec({ serials: what.serials, hashes: what.hashes });
    if (spec) {
      await fs.writeFile(join(dir, 'spec'), spec, { mode: 0o600 });
      inputs.push(join(dir, 'spec'));
    }
    const ca = what.serials?.length ? ['-s', what.caPub!] : [];
    await runOk('ssh-keygen', ['-q', '-k', '-u', ...ca, '-f', file, ...inputs]);
    return fs.readFile(file);
  });
}

export type KrlAnswer = 'revoked' | 'ok' | { error: string };

/** `ssh-keygen -Q`: does the KRL file revoke this key or certificate line? */
export async function krlRevokes(krlPath: string, line: string): Promise<KrlAnswer> {
  const r = await withPrivateDir(async (dir) => {
    await fs.writeFile(join(dir, 'key.pub'), `${line.trim()}\n`, { mode: 0o600 });
    return run('ssh-keygen', ['-Q', '-f', krlPath, join(dir, 'key.pub')]);
  });
  if (r.exitCode === 0) return 'ok';
  if (r.exitCode === 1 && /REVOKED/.test(r.stdout)) return 'revoked';
  return { error: (r.stderr || r.stdout).trim().split('\n').pop() || `ssh-keygen -Q exit ${r.exitCode}` };
}

/** `ssh-keygen -Q -l`: what the KRL file revokes, as ssh-keygen lists it (ca/krl.ts reads it). */
export async function listKrl(krlPath: string): Promise<string | { error: string }> {
  const r = await run('ssh-keygen', ['-Q', '-l', '-f', krlPath]);
  return r.exitCode === 0 ? r.stdout : { error: (r.stderr || r.stdout).trim().split('\n').pop() || `ssh-keygen -Q -l exit ${r.exitCode}` };
}

/** The public key line of a private key file (a CA key whose .pub went missing). */
export async function publicLineOf(privatePath: string): Promise<string> {
  const r = await run('ssh-keygen', ['-y', '-f', privatePath]);
  if (r.exitCode !== 0) throw new FailError(`cannot read the key ${privatePath}: ${r.stderr.trim()}`, `look at ${privatePath}; restore it from a backup if it was damaged`);
  return r.stdout.trim();
}

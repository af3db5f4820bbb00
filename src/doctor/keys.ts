/**
 * Authorized keys checks on the collector: where sshd looks (AuthorizedKeysFile, tokens expanded), owner and
 * mode of the file and every directory above it (StrictModes), that the account can read it, that the keys
 * parse and what options restrict them, and whether the upload account could rewrite its own keys.
 */
import { dirname, join } from 'node:path';
import { PROBE_KEYS_PATTERN } from '../collector/layout.js';
import { listKeys } from '../keys/authorized-keys.js';
import { expandTokens } from '../sshd/effective.js';
import { statPath, type FileInfo } from '../system/files.js';
import { readFileNoFollow } from '../system/safe-fs.js';
import { fail, ownerMode, pass, q, warn, type DoctorCheck } from './check.js';
import type { UploadAccount } from './collector-context.js';

export interface KeysFileState {
  path: string;
  info: FileInfo | null;
  text: string | null;
}

/** The files sshd reads for this account, in order (the probe's temporary file left out). */
export function keyFilePaths(a: UploadAccount): string[] {
  const akf = a.eff?.get('authorizedkeysfile')?.join(' ') ?? '.ssh/authorized_keys .ssh/authorized_keys2';
  const home = a.account?.home ?? '/';
  return akf
    .split(/\s+/)
    .filter((p) => p && p !== 'none' && p !== PROBE_KEYS_PATTERN)
    .map((p) => expandTokens(p, { user: a.user, home, uid: a.account?.uid }))
    .map((p) => (p.startsWith('/') ? p : join(home, p)));
}

function canRead(info: FileInfo, uid: number, gid: number, bit: 4 | 1): boolean {
  if (uid === 0) return true;
  if (info.uid === uid) return (info.mode & (bit << 6)) !== 0;
  if (info.gid === gid) return (info.mode & (bit << 3)) !== 0;
  return (info.mode & bit) !== 0;
}

export async function keysChecks(a: UploadAccount, files: KeysFileState[]): Promise<DoctorCheck[]> {
  const { user } = a;
  const acc = a.account;
  if (!acc) return [];
  const out: DoctorCheck[] = [];
  const present = files.filter((f) => f.info);
  const akfLine = `AuthorizedKeysFile ${a.eff?.get('authorizedkeysfile')?.join(' ') ?? '(default)'}`;
  if (present.length === 0) {
    out.push(fail('keys.file', `authorized keys file for ${user}`, [akfLine, ...files.map((f) => `${f.path}: missing`)], {
      user, reason: 'sshd finds no key for the account; the camera sees "Permission denied (publickey)"',
      fix: `sudo sftp-setup init --user ${user} --key <the camera's .pub file>`,
    }));
    return out;
  }
  out.push(pass('keys.file', `authorized keys file for ${user}`, present.map((f) => `${f.path} (${ownerMode(f.info!)})`), { user }));

  const strict = a.eff?.get('strictmodes')?.[0] !== 'no';
  const home = (acc.home || '/').replace(/(.)\/+$/, '$1');
  for (const f of present) {
    const problems: string[] = [];
    const fixes: string[] = [];
    const writable: string[] = [];
    const info = f.info!;
    if (info.type !== 'file') problems.push(`${f.path} is not a regular file`);
    if (info.uid !== 0 && info.uid !== acc.uid) { problems.push(`${f.path}: owned by uid ${info.uid}, neither root nor ${user} (${ownerMode(info)})`); fixes.push(`sudo chown root:root ${q(f.path)}`); }
    if (info.mode & 0o022) { problems.push(`${f.path}: ${ownerMode(info)}, group or others can write`); fixes.push(`sudo chmod go-w ${q(f.path)}`); }
    if (!canRead(info, acc.uid, acc.gid, 4)) { problems.push(`${f.path}: ${ownerMode(info)}, ${user} cannot read it (sshd reads it as the user)`); fixes.push(`sudo chmod 0644 ${q(f.path)}`); }
    if (info.uid === acc.uid && info.uid !== 0) writable.push(f.path);
    // sshd's auth_secure_path: every directory up to the home (or /), owned by root or the user, not g/o-writable.
    for (let d = dirname(f.path); ; d = dirname(d)) {
      const di = await statPath(d);
      if (di) {
        if (di.uid !== 0 && di.uid !== acc.uid) { problems.push(`${d}: owned by uid ${di.uid} (${ownerMode(di)})`); fixes.push(`sudo chown root:root ${q(d)}`); }
        if (di.mode & 0o022) { problems.push(`${d}: ${ownerMode(di)}, group or others can write`); fixes.push(`sudo chmod go-w ${q(d)}`); }
        if (!canRead(di, acc.uid, acc.gid, 1)) { problems.push(`${d}: ${ownerMode(di)}, ${user} cannot enter it`); fixes.push(`sudo chmod a+x ${q(d)}`); }
        if (di.uid === acc.uid && di.uid !== 0) writable.push(d);
      }
      if (d === '/' || d === home) break;
    }
    const title = `${f.path}: owner and modes along the path (StrictModes)`;
    if (problems.length && strict) {
      out.push(fail('keys.modes', title, problems, {
        user, reason: 'sshd logs "Authentication refused: bad ownership or modes" and ignores the keys: "Permission denied (publickey)"', fix: [...new Set(fixes)].join(' && '),
      }));
    } else if (problems.length) out.push(warn('keys.modes', title, problems, { user, fix: [...new Set(fixes)].join(' && ') }));
    else out.push(pass('keys.modes', title, [`${f.path}: ${ownerMode(info)}`], { user }));

    if (writable.length) {
      out.push(warn('keys.user-writable', `${user} cannot rewrite its own keys`, writable.map((p) => `${p} is owned by ${user}`), {
        user, reason: 'over SFTP the upload account could add keys or drop from= restrictions (the guide\'s layout)', fix: `sudo sftp-setup init --adopt --user ${user} --root ${a.chroot ?? acc.home}`,
      }));
    }

    const { entries, problems: broken } = listKeys(f.text ?? '');
    const ev = entries.map((e) => `line ${e.line}: ${e.type} ${e.fingerprint} ${e.comment}${e.options ? ` [${e.options}]` : ''}`);
    if (entries.length === 0) {
      out.push(fail('keys.parse', `${f.path} holds usable keys`, ['no key lines', ...broken.map((b) => `line ${b.line}: ${b.problem}`)], {
        user, fix: `sudo sftp-setup init --user ${user} --key <the camera's .pub file>`,
      }));
    } else if (broken.length) {
      out.push(warn('keys.parse', `${f.path} holds usable keys`, [...ev, ...broken.map((b) => `line ${b.line}: ${b.problem}: ${b.text}`)], { user, reason: 'sshd skips the broken lines' }));
    } else out.push(pass('keys.parse', `${f.path} holds usable keys`, ev, { user }));
  }
  return out;
}

export async function readKeyFiles(a: UploadAccount): Promise<KeysFileState[]> {
  return Promise.all(keyFilePaths(a).map(async (path) => {
    const info = await statPath(path).catch(() => null);
    // The file may be the upload account's (a hand-made layout): no link at its name followed, no FIFO opened.
    const text = info?.type === 'file' ? await readFileNoFollow(path).then((b) => b?.toString('utf8') ?? null, () => null) : null;
    return { path, info, text };
  }));
}

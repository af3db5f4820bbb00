/**
 * Certificate checks on the collector: the CA is root's alone and outside every chroot, each RevokedKeys
 * file an account names is there and readable (sshd refuses every public-key login of that account when it
 * is not), the CA's KRL refuses everything its record revoked (ca-revocations.ts), and each certificate
 * account's principals file lists its own name. Nothing here runs unless the
 * CA exists or an account trusts a CA.
 */
import { CA, CA_DIR } from '../collector/layout.js';
import { expandTokens } from '../sshd/effective.js';
import { readText, statPath, type FileInfo } from '../system/files.js';
import { fingerprintOfLine } from '../keys/parse.js';
import { krlRevokes, listKrl } from '../system/ssh-keygen.js';
import { revocationsCheck, unreadableRecordCheck } from './ca-revocations.js';
import { fail, ownerMode, pass, warn, type DoctorCheck } from './check.js';
import type { UploadAccount } from './collector-context.js';

const one = (a: UploadAccount, k: string) => {
  const v = a.eff?.get(k)?.[0];
  return v && v !== 'none' ? v : undefined;
};

function rootOnly(path: string, info: FileInfo | null, mode: number): string | undefined {
  if (!info) return `${path}: missing`;
  if (info.uid !== 0 || info.gid !== 0 || (info.mode & 0o077 & ~mode) !== 0 || info.type === 'symlink') return `${path}: ${ownerMode(info)}, not root:root ${mode.toString(8).padStart(4, '0')}`;
  return undefined;
}

/** ca.revocations: only when the KRL reads as one (ca.krl says what is wrong otherwise). */
async function recordCheck(caPub: string | undefined): Promise<DoctorCheck[]> {
  const listing = await listKrl(CA.krl);
  if (typeof listing !== 'string') return [];
  try {
    const [log, counter] = await Promise.all([readText(CA.issued), readText(CA.serial)]);
    return [revocationsCheck({ log, counter, ca: caPub ? fingerprintOfLine(caPub) : undefined, listing })];
  } catch (err) {
    return [unreadableRecordCheck(err instanceof Error ? err.message : String(err))];
  }
}

export async function caChecks(accounts: UploadAccount[]): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  const users = accounts.filter((a) => one(a, 'trustedusercakeys') || one(a, 'revokedkeys'));
  const dir = await statPath(CA_DIR);
  if (!dir && users.length === 0) return out;

  if (dir) {
    const [u, h] = await Promise.all([statPath(CA.userKey), statPath(CA.hostKey)]);
    const problems = [rootOnly(CA_DIR, dir, 0o700), rootOnly(CA.userKey, u, 0o600), rootOnly(CA.hostKey, h, 0o600)].filter((x): x is string => Boolean(x));
    const inside = accounts.filter((a) => a.chroot && (CA_DIR === a.chroot || CA_DIR.startsWith(`${a.chroot.replace(/\/$/, '')}/`)));
    for (const a of inside) problems.push(`${CA_DIR} is inside ${a.user}'s chroot ${a.chroot}`);
    const title = 'the certificate authority is root\'s alone, outside every chroot';
    out.push(problems.length
      ? fail('ca.files', title, problems, { reason: 'whoever reads a CA key can sign certificates for any upload account', fix: `sudo chown -R root:root ${CA_DIR} && sudo chmod 0700 ${CA_DIR} && sudo chmod 0600 ${CA.userKey} ${CA.hostKey}` })
      : pass('ca.files', title, [`${CA_DIR}: ${ownerMode(dir)}`, `${CA.userKey}, ${CA.hostKey}: root:root 0600`]));
  }

  // Every RevokedKeys file in force, with the accounts that depend on it.
  const krls = new Map<string, string[]>();
  for (const a of users) {
    const path = one(a, 'revokedkeys');
    if (path) krls.set(path, [...(krls.get(path) ?? []), a.user]);
  }
  if (dir && !krls.has(CA.krl)) krls.set(CA.krl, []);
  const probe = (await readText(`${CA.userKey}.pub`).catch(() => null))?.trim();
  for (const [path, who] of krls) {
    const title = `the revocation list ${path} can be read`;
    const refused = who.length ? `sshd refuses every public-key login of ${who.join(', ')}` : 'accounts set up with --ca would be refused';
    const info = await statPath(path);
    if (!info || info.type !== 'file') {
      out.push(fail('ca.krl', title, [`${path}: ${info ? 'not a regular file' : 'missing'}`], { reason: `${refused} ("Error checking authentication key … in revoked keys file")`, fix: 'sudo sftp-setup ca init' }));
      continue;
    }
    if (!probe) {
      out.push(pass('ca.krl', title, [`${path}: ${ownerMode(info)}, ${info.size} bytes`]));
      continue;
    }
    const answer = await krlRevokes(path, probe);
    if (typeof answer === 'object') {
      const plain = /invalid magic/i.test(answer.error);
      out.push((plain ? warn : fail)('ca.krl', title, [`${path}: ${answer.error}`], plain
        ? { reason: 'not a key revocation list: sshd reads it as a list of plain keys, and keys revoke cannot add to it', fix: `sudo mv ${path} ${path}.old && sudo sftp-setup ca init (then revoke again what ${path}.old listed)` }
        : { reason: refused, fix: 'sudo sftp-setup ca init' }));
    } else out.push(pass('ca.krl', title, [`${path}: ${ownerMode(info)}, a key revocation list`]));
  }

  if (dir) out.push(...(await recordCheck(probe)));

  for (const a of accounts.filter((x) => one(x, 'trustedusercakeys'))) {
    const file = one(a, 'authorizedprincipalsfile');
    const title = `${a.user} accepts certificates for its own name only`;
    if (!file) {
      out.push(warn('ca.principals', title, ['no AuthorizedPrincipalsFile: any certificate of the CA naming the account logs in'], { user: a.user, fix: `sudo sftp-setup init --user ${a.user} --ca` }));
      continue;
    }
    const path = expandTokens(file, { user: a.user, home: a.account?.home, uid: a.account?.uid });
    const names = (await readText(path).catch(() => null))?.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    out.push(names && names.length === 1 && names[0] === a.user
      ? pass('ca.principals', title, [`${path}: ${a.user}`], { user: a.user })
      : fail('ca.principals', title, [names ? `${path}: ${names.join(', ') || '(empty)'}` : `${path}: missing`], {
        user: a.user, reason: names === undefined ? 'sshd refuses every certificate of this account' : 'certificates for other names log in as this account', fix: `sudo sftp-setup init --user ${a.user} --ca`,
      }));
  }
  return out;
}

/**
 * Revoking in the CA's key revocation list, the one way `keys revoke` and `uninstall` do it: merged by
 * ssh-keygen on a copy and renamed into place (sshd reads the KRL at every authentication, so it sees the old
 * list or the new one, and needs no reload), the CA's log told what and why, both through the run's journal,
 * so a failed run puts both back.
 */
import { FailError } from '../errors.js';
import { readRecords, recordLine, revokedRecords, type RevokedRecord } from '../ca/issued.js';
import { parseKrlListing, stillAccepted } from '../ca/krl.js';
import { fingerprintOfLine } from '../keys/parse.js';
import type { Step } from '../plan/step.js';
import { readBytes, readText, statPath, type Journal } from '../system/files.js';
import { krlWith, listKrl, type Revocation } from '../system/ssh-keygen.js';
import { CA } from './layout.js';

const ROOT_ONLY = { mode: 0o600, uid: 0, gid: 0 };

/**
 * `base` is the list to merge into, when it is not the one on disk: `ca init` rebuilding a lost KRL passes
 * an empty one and no records (what it restores is in the record already).
 */
export async function revokeInKrl(journal: Journal, what: Revocation, records: RevokedRecord[], base?: Buffer): Promise<void> {
  const krl = base ?? (await readBytes(CA.krl));
  if (!krl) throw new FailError(`${CA.krl} is missing: sshd refuses every key of the accounts that name it`, 'make it again: sudo sftp-setup ca init');
  const merged = await krlWith(krl, what);
  await journal.writeAtomic(CA.krl, merged, { mode: 0o644, uid: 0, gid: 0 });
  if (records.length) await journal.writeAtomic(CA.issued, ((await readText(CA.issued)) ?? '') + records.map(recordLine).join(''), ROOT_ONLY);
}

/** The serials issued for `user` that the KRL does not refuse yet; [] when there is no CA or nothing was issued. */
async function stillAcceptedSerials(user: string): Promise<string[]> {
  const [log, caPub] = await Promise.all([readText(CA.issued), readText(`${CA.userKey}.pub`)]);
  const caFingerprint = caPub ? fingerprintOfLine(caPub.trim()) : undefined;
  if (log === null || !caFingerprint) return [];
  const records = readRecords(log);
  if (!records.some((r) => r.event === 'issued' && r.user === user)) return [];
  const listing = await listKrl(CA.krl);
  if (typeof listing === 'object') {
    const fix = (await statPath(CA.krl)) ? 'run: sudo sftp-setup doctor' : 'make it again with: sudo sftp-setup ca init, then run this again';
    throw new FailError(`cannot read the revocation list ${CA.krl} to revoke ${user}'s certificates: ${listing.error}`, fix);
  }
  return stillAccepted(records, user, caFingerprint, parseKrlListing(listing)).map((c) => c.serial);
}

/**
 * uninstall: every certificate the CA issued for the account goes into the KRL. Their principal is the
 * account's name, so without this a later account of the same name would accept the old cameras.
 */
export interface RevocationTally {
  /** the serials the last check() found still accepted */
  pending: string[];
  /** the serials apply() revoked */
  revoked: string[];
}

export function accountCertificatesStep(user: string, journal: Journal, tally: RevocationTally = { pending: [], revoked: [] }): Step {
  return {
    id: 'certificates',
    title: `certificates issued for ${user} (revoked in ${CA.krl})`,
    async check() {
      const serials = (tally.pending = await stillAcceptedSerials(user));
      if (serials.length === 0) return null;
      const n = serials.length === 1 ? '1 certificate' : `${serials.length} certificates`;
      return { summary: `revoke ${n} (serial ${serials.join(', ')}): no later account named ${user} accepts them` };
    },
    async apply() {
      const serials = tally.pending;
      const ca = fingerprintOfLine(((await readText(`${CA.userKey}.pub`)) ?? '').trim());
      await revokeInKrl(journal, { serials: serials.map(BigInt), caPub: `${CA.userKey}.pub` }, revokedRecords(serials, `uninstall ${user}`, new Date(), ca));
      // Read back as sshd will: the list on disk must now refuse every one of them.
      const left = await stillAcceptedSerials(user);
      if (left.length) throw new FailError(`${CA.krl} still accepts serial ${left.join(', ')} of ${user} after the change`, 'run: sudo sftp-setup doctor');
      tally.revoked = serials;
    },
  };
}

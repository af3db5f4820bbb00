/**
 * The CA's key revocation list as a Step of `ca init` and `init --ca`. It is made before any Match block names
 * it (a RevokedKeys file that is missing refuses every public-key login of those accounts), and it is never
 * made empty when the CA's record says something was revoked: a lost or replaced KRL would otherwise make
 * every revoked certificate and key valid again. What the record revoked and the KRL does not refuse is
 * merged in by revokeInKrl (the one writer, as for `keys revoke`), read back as sshd will, and journaled, so
 * a failed run puts the old list back. What the record cannot tell (a missing record, lines that are not
 * records) is said, never guessed.
 */
import { FailError } from '../errors.js';
import { parseSerial } from '../ca/issued.js';
import { parseKrlListing } from '../ca/krl.js';
import { describeRevocations, missingFrom, recordedRevocations, revocationCount, revocationsWord, type Revocations } from '../ca/krl-restore.js';
import { fingerprintOfLine } from '../keys/parse.js';
import type { Step } from '../plan/step.js';
import { readBytes, readText, statPath, type Journal } from '../system/files.js';
import { emptyKrl, listKrl } from '../system/ssh-keygen.js';
import { CA } from './layout.js';
import { revokeInKrl } from './revocation.js';

/** What the step found and did, for the command's own report. */
export interface KrlTally {
  /** the revocations the last check() found missing from the KRL (or all of the record's, for a new KRL) */
  pending: Revocations;
  /** the revocations apply() put back */
  restored: Revocations;
  /** lines of the record that could not be used: whatever they revoked is not restored */
  unusable: number[];
  /** serials revoked under another CA, not carried over */
  otherCa: number;
  /** certificates were issued (the serial counter moved on) but there is no record to restore from */
  recordMissing: boolean;
  /** the last check() found the KRL missing or short of a revocation: the caveats above matter */
  rebuild: boolean;
}

export const newKrlTally = (): KrlTally => ({ pending: { serials: [], hashes: [] }, restored: { serials: [], hashes: [] }, unusable: [], otherCa: 0, recordMissing: false, rebuild: false });

const NONE: Revocations = { serials: [], hashes: [] };

async function caFingerprint(): Promise<string | undefined> {
  const pub = await readText(`${CA.userKey}.pub`);
  return pub ? fingerprintOfLine(pub.trim()) : undefined;
}

/** The record's revocations and what is wrong with the record, into the tally. */
async function readRecord(tally: KrlTally): Promise<{ recorded: Revocations; ca: string | undefined }> {
  const [log, counter, ca] = await Promise.all([readText(CA.issued), readText(CA.serial), caFingerprint()]);
  const recorded = recordedRevocations(log, ca);
  const next = parseSerial(counter);
  Object.assign(tally, { unusable: recorded.unusable, otherCa: recorded.otherCa, recordMissing: log === null && next !== undefined && next > 1n });
  return { recorded, ca };
}

/** The caveats a rebuild carries, as one clause each. */
export function krlCaveats(t: KrlTally): string[] {
  const out: string[] = [];
  if (t.recordMissing) out.push(`the CA's record ${CA.issued} is missing although certificates were issued: no revocation can be restored from it; revoke again what was revoked (sudo sftp-setup keys revoke)`);
  if (t.unusable.length) out.push(`line${t.unusable.length === 1 ? '' : 's'} ${t.unusable.slice(0, 8).join(', ')}${t.unusable.length > 8 ? ' …' : ''} of ${CA.issued} cannot be used: what ${t.unusable.length === 1 ? 'it' : 'they'} revoked is not restored`);
  if (t.otherCa) out.push(`${t.otherCa === 1 ? '1 serial' : `${t.otherCa} serials`} revoked under another CA not carried over (sshd does not trust that CA)`);
  return out;
}

function modeOk(info: { uid: number; gid: number; mode: number }): boolean {
  return info.uid === 0 && info.gid === 0 && info.mode === 0o644;
}

export function krlStep(journal: Journal, tally: KrlTally = newKrlTally()): Step {
  return {
    id: 'ca-krl',
    title: `key revocation list ${CA.krl} (before sshd is told to read it; holds every revocation of the CA's record)`,
    async check() {
      const info = await statPath(CA.krl);
      if (info && info.type !== 'file') throw new FailError(`${CA.krl} is not a regular file`, 'move it away, then run again');
      const { recorded, ca } = await readRecord(tally);
      const n = revocationCount(recorded);
      const caveats = krlCaveats(tally);
      tally.rebuild = !info;
      if (!info) {
        tally.pending = recorded;
        const what = n ? `create it, revoking again the ${revocationsWord(n)} of ${CA.issued} (${describeRevocations(recorded)})` : 'create an empty key revocation list';
        return { summary: [what, ...caveats].join('; ') };
      }
      let missing = NONE;
      if (n) {
        const listing = await listKrl(CA.krl);
        if (typeof listing === 'object') {
          throw new FailError(`cannot read ${CA.krl} to check that it refuses the ${revocationsWord(n)} of ${CA.issued}: ${listing.error}`,
            `move it away (sudo mv ${CA.krl} ${CA.krl}.old), then run again: the list is made again from ${CA.issued}`);
        }
        missing = missingFrom(recorded, parseKrlListing(listing), ca);
      }
      tally.pending = missing;
      tally.rebuild = revocationCount(missing) > 0;
      const fixes: string[] = [];
      if (revocationCount(missing)) fixes.push(`restore ${revocationsWord(revocationCount(missing))} of ${CA.issued} it no longer holds (${describeRevocations(missing)})`, ...caveats);
      if (!modeOk(info)) fixes.push(`${CA.krl}: ${info.uid}:${info.gid} ${info.mode.toString(8).padStart(4, '0')} -> root:root 0644`);
      return fixes.length ? { summary: fixes.join('; ') } : null;
    },
    async apply() {
      const existing = await readBytes(CA.krl);
      const pending = tally.pending;
      const base = existing ?? (await emptyKrl());
      if (revocationCount(pending)) await revokeInKrl(journal, { serials: pending.serials, hashes: pending.hashes, caPub: `${CA.userKey}.pub` }, [], base);
      else await journal.writeAtomic(CA.krl, base, { mode: 0o644, uid: 0, gid: 0 });
      if (existing && !revocationCount(pending)) return;
      // Read back as sshd will: a list ssh-keygen reads, refusing every revocation put back.
      const listing = await listKrl(CA.krl);
      if (typeof listing === 'object') throw new FailError(`the new ${CA.krl} cannot be read: ${listing.error}`, 'please report this; the old list was put back');
      const left = missingFrom(pending, parseKrlListing(listing), await caFingerprint());
      if (revocationCount(left)) throw new FailError(`${CA.krl} does not refuse ${describeRevocations(left)} after the rebuild`, 'please report this; the old list was put back');
      tally.restored = pending;
    },
  };
}

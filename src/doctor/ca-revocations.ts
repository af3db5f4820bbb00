/**
 * Does the KRL still refuse everything the CA's record says was revoked? A KRL replaced by hand, restored
 * from an old backup or made again empty makes those certificates and keys valid again, and sshd gives no
 * sign of it. The names in the evidence (key ids) came from cameras: the formatter escapes them. Pure.
 */
import { BACKUP_ROOT, CA } from '../collector/layout.js';
import { parseSerial } from '../ca/issued.js';
import { parseKrlListing } from '../ca/krl.js';
import { missingFrom, recordedRevocations, revocationCount, revocationsWord, serialLabel } from '../ca/krl-restore.js';
import { fail, pass, warn, type DoctorCheck } from './check.js';

export interface RevocationInputs {
  /** the CA's record (issued.jsonl), null when missing */
  log: string | null;
  /** the serial counter file, null when missing */
  counter: string | null;
  /** the user CA's fingerprint */
  ca: string | undefined;
  /** `ssh-keygen -Q -l` of the KRL */
  listing: string;
}

const ID = 'ca.revocations';
const TITLE = `the revocation list refuses everything the CA revoked`;
const MAX_SHOWN = 10;

/** The record could not be read at all (not a file, an I/O error): said as it is. */
export function unreadableRecordCheck(error: string): DoctorCheck {
  return warn(ID, TITLE, [`${CA.issued}: ${error}`], { reason: 'what was revoked cannot be checked against the KRL, nor restored should the KRL be lost', fix: `sudo ls -l ${CA.issued}` });
}

export function revocationsCheck(i: RevocationInputs): DoctorCheck {
  if (i.log === null) {
    const next = parseSerial(i.counter);
    if (next !== undefined && next > 1n) {
      return warn(ID, TITLE, [`${CA.issued}: missing, but ${CA.serial} says ${next - 1n} certificate${next === 2n ? ' was' : 's were'} issued`], {
        reason: 'what was revoked cannot be checked against the KRL, nor restored should the KRL be lost',
        fix: `put back the newest copy (it lacks only the run that made it): ls -t ${BACKUP_ROOT}/*${CA.issued}`,
      });
    }
    return pass(ID, TITLE, [`${CA.issued}: nothing issued yet`]);
  }
  const recorded = recordedRevocations(i.log, i.ca);
  const missing = missingFrom(recorded, parseKrlListing(i.listing), i.ca);
  const unusable = recorded.unusable.length
    ? [`line${recorded.unusable.length === 1 ? '' : 's'} ${recorded.unusable.slice(0, MAX_SHOWN).join(', ')}${recorded.unusable.length > MAX_SHOWN ? ' …' : ''} of ${CA.issued}: not a record sftp-setup wrote; what ${recorded.unusable.length === 1 ? 'it' : 'they'} revoked cannot be checked`]
    : [];
  const n = revocationCount(missing);
  if (n) {
    const items = [...missing.serials.map((s) => serialLabel(s)), ...missing.hashes.map((h) => h)];
    const lines = items.slice(0, MAX_SHOWN).map((k) => {
      const who = recorded.names.get(k);
      return `${k.startsWith('SHA256:') ? `key ${k}` : k}${who ? ` (${who.join(', ')})` : ''}: revoked in ${CA.issued}, accepted by ${CA.krl}`;
    });
    if (items.length > MAX_SHOWN) lines.push(`… and ${items.length - MAX_SHOWN} more`);
    return fail(ID, TITLE, [...lines, ...unusable], {
      reason: `sshd accepts ${n === 1 ? 'a certificate or key' : `${n} certificates or keys`} the CA revoked: the KRL was replaced or made again without ${n === 1 ? 'it' : 'them'}; ca init puts every revocation of the record back`,
      fix: 'sudo sftp-setup ca init',
    });
  }
  if (unusable.length) {
    const lines = recorded.unusable.slice(0, MAX_SHOWN).map((l) => `${l}p`).join(';');
    return warn(ID, TITLE, unusable, { reason: 'a damaged or hand-edited record: a revocation on such a line would not be restored should the KRL be lost', fix: `sudo sed -n '${lines}' ${CA.issued}` });
  }
  const total = revocationCount(recorded);
  return pass(ID, TITLE, [total ? `${revocationsWord(total)} of ${CA.issued}: all refused by ${CA.krl}` : `${CA.issued}: nothing revoked`]);
}

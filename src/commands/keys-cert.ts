/**
 * `sftp-setup keys sign` and `keys revoke` on the collector: certificates from the user CA for a camera's
 * key (principal: the account's own name, no pty or forwarding, a serial, a validity a Pi without a real-time
 * clock survives), and their revocation through the KRL, which sshd reads at every authentication: no reload.
 * `keys sign` is also what `allsky-config --cert --via` runs here, with the key on stdin and --json.
 */
import { paint } from '../text/color.js';
import { FailError, requireRoot, UsageError } from '../errors.js';
import { BACKUP_ROOT, CA, LOCK_PATH } from '../collector/layout.js';
import { configIO } from '../collector/inspect.js';
import { requireManaged } from '../collector/managed.js';
import { trustsUserCa } from '../collector/ca-steps.js';
import { hostCertDropinPath } from '../collector/host-cert-plan.js';
import { revokeInKrl } from '../collector/revocation.js';
import { showValidity, type CertInfo } from '../ca/cert-info.js';
import { issuedRecord, parseSerial, readRecords, recordLine, type RevokedRecord } from '../ca/issued.js';
import { keyIdFor, validateKeyId } from '../ca/key-id.js';
import { DEFAULT_VALIDITY, parseValidity } from '../ca/validity.js';
import { decodeKey, fingerprintOfLine, KeyDecodeError, publicLineOf, splitKeyLine, type ParsedKey } from '../keys/parse.js';
import { applyPlan } from '../plan/apply.js';
import type { Step } from '../plan/step.js';
import { printJson } from '../report.js';
import { loadConfigDetailed } from '../sshd/includes.js';
import { printable as p } from '../text/printable.js';
import { backupDirFor, Journal, readText, statPath } from '../system/files.js';
import { readKeyArg, readKeyText } from '../system/key-input.js';
import { krlRevokes, readCertificate, signCertificate } from '../system/ssh-keygen.js';
import { SSHD_CONFIG } from '../system/sshd.js';
import { show, validateUserName } from '../validate.js';
import { writeOut } from '../system/stdout.js';

export interface KeysSignOptions {
  user: string;
  key: string;
  id?: string;
  valid?: string;
  dryRun?: boolean;
  json?: boolean;
}

export interface KeysRevokeOptions {
  what: string;
  dryRun?: boolean;
  json?: boolean;
}

const ROOT_ONLY = { mode: 0o600, uid: 0, gid: 0 };
const CA_FIX = 'create it first: sudo sftp-setup ca init';

async function requireCa(): Promise<{ userCa: string }> {
  const userCa = (await readText(`${CA.userKey}.pub`))?.trim();
  if (!userCa || !(await statPath(CA.userKey))) throw new UsageError(`this collector has no certificate authority (${CA.userKey})`, CA_FIX);
  return { userCa };
}

/** The CA's own keys and the host's keys are never certified as a camera: a mix-up, refused as bad input. */
async function refuseSpecialKey(key: ParsedKey, source: string): Promise<void> {
  const named: Array<[string, string]> = [[`${CA.userKey}.pub`, 'the user CA key'], [`${CA.hostKey}.pub`, 'the host CA key']];
  for (const t of ['ed25519', 'ecdsa', 'rsa']) named.push([`/etc/ssh/ssh_host_${t}_key.pub`, `this collector's ${t} host key`]);
  for (const [path, what] of named) {
    const text = await readText(path);
    if (text && fingerprintOfLine(text.trim()) === key.fingerprint) {
      throw new UsageError(`${source} is ${what} (${path}), not a camera's key; nothing was signed`, 'give the camera\'s own public key, e.g. the contents of ~/.ssh/allsky_upload.pub on the camera');
    }
  }
}

/** Is the account's Match block trusting our user CA, and does sshd present our host certificates? */
function collectorState(user: string): { accepts: boolean; hostCertified: boolean } {
  const { directives } = loadConfigDetailed(SSHD_CONFIG, configIO());
  const dropin = hostCertDropinPath({ mainPath: SSHD_CONFIG, directives });
  return { accepts: trustsUserCa(directives, user), hostCertified: dropin !== undefined && directives.some((d) => d.keyword === 'hostcertificate' && d.file === dropin) };
}

/** The signed certificate must say what was asked, whatever ssh-keygen did. */
function checkIssued(info: CertInfo | undefined, key: ParsedKey, user: string, serial: bigint): CertInfo {
  if (!info || info.kind !== 'user' || info.keyFingerprint !== key.fingerprint || info.serial !== serial.toString() ||
    info.principals.length !== 1 || info.principals[0] !== user || info.extensions.length !== 0) {
    throw new FailError('ssh-keygen produced a certificate that is not what was asked for; nothing was issued', 'please report this with the output of: ssh-keygen -L -f CERT');
  }
  return info;
}

export async function keysSignCommand(o: KeysSignOptions): Promise<number> {
  const user = validateUserName(o.user, '--user');
  const now = new Date();
  const validity = parseValidity(o.valid ?? DEFAULT_VALIDITY, '--valid', now);
  if (o.id !== undefined) validateKeyId(o.id);
  const keys = readKeyArg(o.key, 'KEY');
  if (keys.length !== 1) throw new UsageError(`KEY holds ${keys.length} keys`, 'sign one key at a time');
  const key = keys[0]!;
  requireRoot('keys sign uses the CA key, which only root can read');
  requireManaged(user);
  const { userCa } = await requireCa();
  await refuseSpecialKey(key, 'KEY');
  const state = collectorState(user);
  if (!state.accepts) {
    throw new UsageError(`${user} does not accept certificates (its Match block has no TrustedUserCAKeys ${CA.userKey}.pub)`, `sudo sftp-setup init --user ${user} --ca`);
  }
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  let serial = 0n;
  let keyId = '';
  let cert: string | undefined;
  let info: CertInfo | undefined;
  const step: Step = {
    id: 'certificate',
    title: `certificate for ${key.fingerprint} as ${user}`,
    async check() {
      return { summary: `sign serial ${serial}, id ${keyId}, principal ${user}, valid ${validity.spec}` };
    },
    async apply() {
      cert = await signCertificate({ caKey: CA.userKey, publicLine: publicLineOf(key), keyId, principals: [user], validity: validity.spec, serial, options: ['clear'] });
      info = checkIssued(await readCertificate(cert), key, user, serial);
      await journal.writeAtomic(CA.serial, `${serial + 1n}\n`, ROOT_ONLY);
      const log = (await readText(CA.issued)) ?? '';
      await journal.writeAtomic(CA.issued, log + recordLine(issuedRecord(info, user, key.type, now)), ROOT_ONLY);
    },
  };
  await applyPlan({
    subject: `a certificate for ${user}`, doing: 'Signing', already: 'signed', done: 'Done.', lockPath: LOCK_PATH, journal,
    steps: async () => {
      // Under the lock: two runs at once never issue the same serial.
      const next = parseSerial(await readText(CA.serial));
      if (next === undefined) throw new FailError(`${CA.serial} does not hold a serial number`, `put the next serial number in it (one line, e.g. 1000), then run again`);
      serial = next;
      keyId = keyIdFor({ id: o.id, comment: key.comment, user, serial });
      return [step];
    },
    dryRun: Boolean(o.dryRun), yes: true, json: Boolean(o.json), out: () => {},
  });
  const hostCa = state.hostCertified ? ((await readText(`${CA.hostKey}.pub`))?.trim() ?? null) : null;
  if (o.json) {
    printJson({
      ok: true, dryRun: Boolean(o.dryRun), user, serial: serial.toString(), keyId, principals: [user], fingerprint: key.fingerprint,
      validAfter: info?.validAfter?.toISOString() ?? null, validBefore: info?.validBefore?.toISOString() ?? null,
      certificate: cert ?? null, userCa, hostCa,
    });
    return 0;
  }
  if (!cert) {
    writeOut(`Would sign serial ${serial} (id ${p(keyId)}) for ${user}, valid ${validity.spec}.\nDry run: nothing was changed.\n`);
    return 0;
  }
  // The certificate alone on stdout (redirect it into KEY-cert.pub); what it is on stderr.
  writeOut(`${cert}\n`);
  process.stderr.write(`${paint.green('Signed')} ${key.fingerprint} as ${user}: serial ${serial}, id ${p(info!.keyId)}, valid ${showValidity(info!)}, no pty or forwarding.\n` +
    `Install it on the camera as KEY-cert.pub beside the private key (ssh and lftp then use it), or let it do that: sftp-setup allsky-config --cert --via …\n`);
  return 0;
}

type Target = { kind: 'serial'; serial: bigint; label: string } | { kind: 'key'; line: string; fingerprint: string; serial?: bigint; label: string };

/** A serial number, a camera's public key (every certificate of it too) or one of our certificates. */
async function revocationTarget(what: string, userCa: string): Promise<Target> {
  if (/^\d+$/.test(what.trim())) {
    const serial = parseSerial(`${what.trim()}\n`);
    if (serial === undefined) throw new UsageError(`serial ${show(what)} is out of range`, 'give a serial from: sudo sftp-setup keys list --user NAME');
    return { kind: 'serial', serial, label: `serial ${serial}` };
  }
  const { text, source } = readKeyText(what, 'KEY');
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (lines.length !== 1) throw new UsageError(`${source} holds ${lines.length} lines`, 'revoke one key, certificate or serial at a time');
  const parts = splitKeyLine(lines[0]!);
  if (!parts || parts.options) throw new UsageError(`${source} is neither a serial number, a public key nor a certificate`, 'give a serial number, a .pub or -cert.pub file, or the key line');
  if (parts.type.endsWith('-cert-v01@openssh.com')) {
    const info = await readCertificate(lines[0]!);
    if (!info || info.kind !== 'user') throw new UsageError(`${source} is not a user certificate ssh-keygen can read`, 'give the camera\'s KEY-cert.pub');
    if (info.caFingerprint !== fingerprintOfLine(userCa)) throw new UsageError(`${source} was not signed by this collector's user CA; nothing was changed`, 'revoke the camera\'s plain key instead, or the certificate on the collector that issued it');
    return { kind: 'key', line: `${parts.type} ${parts.base64}`, fingerprint: info.keyFingerprint, serial: BigInt(info.serial), label: `serial ${info.serial} (id ${info.keyId})` };
  }
  let key: ParsedKey;
  try {
    key = decodeKey(parts.type, parts.base64, parts.comment);
  } catch (e) {
    if (e instanceof KeyDecodeError) throw new UsageError(`${source} is not a valid public key: ${e.message}`, 'give the key line as the camera\'s .pub file holds it');
    throw e;
  }
  if (key.fingerprint === fingerprintOfLine(userCa)) {
    throw new UsageError(`${source} is the user CA key itself: revoking it would refuse every certificate; nothing was changed`, 'revoke the camera\'s key or its certificate\'s serial');
  }
  return { kind: 'key', line: publicLineOf({ ...key, comment: '' }), fingerprint: key.fingerprint, label: `key ${key.fingerprint}${key.comment ? ` (${key.comment})` : ''}` };
}

export async function keysRevokeCommand(o: KeysRevokeOptions): Promise<number> {
  if (o.what.trim() === '') throw new UsageError('nothing to revoke was given', 'give a serial number, a public key or a certificate (see: sftp-setup keys list)');
  requireRoot('keys revoke changes the CA\'s revocation list, which only root can write');
  const { userCa } = await requireCa();
  const target = await revocationTarget(o.what, userCa);
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  const revokedBefore = async (): Promise<boolean> => {
    if (target.kind === 'key') {
      const a = await krlRevokes(CA.krl, target.line);
      if (typeof a === 'object') throw new FailError(`cannot read the revocation list ${CA.krl}: ${a.error}`, 'run: sudo sftp-setup doctor');
      return a === 'revoked';
    }
    // ssh-keygen -Q needs a key; for a bare serial our own record says whether it was revoked already.
    return readRecords((await readText(CA.issued)) ?? '').some((r) => r.event === 'revoked' && r.serial === target.serial.toString());
  };
  const step: Step = {
    id: 'krl',
    title: `revocation list ${CA.krl}`,
    async check() {
      return (await revokedBefore()) ? null : { summary: `revoke ${target.label}` };
    },
    async apply() {
      const record: RevokedRecord = { event: 'revoked', at: new Date().toISOString() };
      if (target.kind === 'serial' || target.serial !== undefined) {
        record.serial = (target.kind === 'serial' ? target.serial : target.serial!).toString();
        // A serial means something under one CA only: rebuilding the KRL must know which.
        record.ca = fingerprintOfLine(userCa);
      }
      if (target.kind === 'key' && target.serial === undefined) record.fingerprint = target.fingerprint;
      await revokeInKrl(journal, target.kind === 'serial' ? { serials: [target.serial], caPub: `${CA.userKey}.pub` } : { keys: [target.line] }, [record]);
    },
  };
  const applied = await applyPlan({
    subject: target.label, doing: 'Revoking', already: 'revoked', done: 'Done.', lockPath: LOCK_PATH, journal, steps: [step],
    dryRun: Boolean(o.dryRun), yes: true, json: Boolean(o.json), out: () => {},
  });
  const changed = !applied.declined && applied.changed;
  const pending = !applied.declined && applied.pending;
  if (changed && target.kind === 'key' && (await krlRevokes(CA.krl, target.line)) !== 'revoked') {
    throw new FailError(`${CA.krl} does not revoke ${target.label} after the change`, 'run: sudo sftp-setup doctor');
  }
  if (o.json) {
    printJson({ ok: true, dryRun: Boolean(o.dryRun), changed: changed || pending, revoked: target.kind === 'serial' ? { serial: target.serial.toString() } : { fingerprint: target.fingerprint, serial: target.serial?.toString() ?? null }, krl: CA.krl });
    return 0;
  }
  const label = p(target.label);
  if (o.dryRun) writeOut(pending ? `Would revoke ${label}.\nDry run: nothing was changed.\n` : `Already revoked: ${label}\n`);
  else if (changed) writeOut(`Revoked ${label}: sshd refuses it from the next login (it reads ${CA.krl} at every authentication; no reload). Sessions already open stay up until they end.\n`);
  else writeOut(`Already revoked: ${label}\n`);
  return 0;
}

/**
 * `sftp-setup keys list` on the collector: the keys an upload account accepts. A module of its own, with
 * only what a listing needs, so that the command that runs most often by hand loads the least: no plan,
 * journal or lock, and the sshd configuration only when the keys file is missing.
 */
import { paint } from '../text/color.js';
import { CA, keysFileFor } from '../collector/layout.js';
import { certificatesOf, readRecords } from '../ca/issued.js';
import { listKeys } from '../keys/authorized-keys.js';
import { printJson } from '../report.js';
import { printable as p } from '../text/printable.js';
import { readText } from '../system/read.js';
import { validateUserName } from '../validate.js';
import { writeOut } from '../system/stdout.js';

const DAY_MS = 86_400_000;

function ageDays(addedAt: string | undefined, now: Date): number | undefined {
  if (!addedAt) return undefined;
  const t = Date.parse(addedAt);
  return Number.isNaN(t) ? undefined : Math.max(0, Math.floor((now.getTime() - t) / DAY_MS));
}

export async function keysListCommand(o: { user: string; json?: boolean }): Promise<number> {
  const user = validateUserName(o.user, '--user');
  const path = keysFileFor(user);
  const text = await readText(path);
  if (text === null) {
    const { findManagedBlock, requireManaged } = await import('../collector/managed.js');
    if (!findManagedBlock(user)) requireManaged(user);
  }
  const now = new Date();
  const { entries, problems } = listKeys(text ?? '');
  const keys = entries.map((e) => ({ ...e, ageDays: ageDays(e.addedAt, now) }));
  const certificates = await issuedCertificates(user);
  if (o.json) {
    printJson({ user, file: path, keys, problems, ...(certificates ? { certificates } : {}) });
    return 0;
  }
  const out = (s: string) => writeOut(s + '\n');
  out(paint.bold(`${keys.length} key${keys.length === 1 ? '' : 's'} for ${user}`) + ` (${path})`);
  for (const k of keys) {
    out(`  ${p(k.fingerprint)}  ${p(k.type)} ${k.bits}  ${k.comment ? p(k.comment) : paint.dim('(no comment)')}`);
    const when = k.addedAt ? `added ${k.addedAt.slice(0, 10)}, ${k.ageDays} day${k.ageDays === 1 ? '' : 's'} ago` : 'date added unknown';
    out(p(`      ${k.from ? `from ${k.from.join(',')}` : 'from anywhere'}; options ${k.options || '(none)'}; ${when}`));
  }
  for (const x of problems) {
    out(paint.yellow(p(`  line ${x.line} is not a usable key (${x.problem}): ${x.text}`)));
  }
  if (certificates?.length) {
    out(paint.bold(`${certificates.length} certificate${certificates.length === 1 ? '' : 's'} issued for ${user}`) + ` (${CA.issued})`);
    for (const c of certificates) out(p(`  serial ${c.serial}  ${c.keyId}  ${c.fingerprint}  ${c.validAfter?.slice(0, 10) ?? 'always'} to ${c.validBefore?.slice(0, 10) ?? 'forever'}${c.revoked ? '  REVOKED' : ''}`));
  }
  return 0;
}

/** What the CA issued for the account (its log is root's: undefined when there is none or it cannot be read). */
async function issuedCertificates(user: string) {
  const text = await readText(CA.issued).catch(() => null);
  return text === null ? undefined : certificatesOf(readRecords(text), user);
}

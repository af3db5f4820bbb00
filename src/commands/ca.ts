/**
 * `sftp-setup ca init` on the collector: an offline certificate authority (user CA, host CA, serial counter,
 * empty KRL) in a root-only directory outside every chroot, and host certificates for sshd's host keys with
 * the names cameras use. Cameras then pin one `@cert-authority` line instead of a host key, and a new host key
 * needs nothing on them: `ca init` again re-signs it.
 */
import { paint } from '../text/color.js';
import { hostname, networkInterfaces } from 'node:os';
import { FailError, requireRoot, UsageError } from '../errors.js';
import { BACKUP_ROOT, CA, LOCK_PATH } from '../collector/layout.js';
import { readSshdState } from '../collector/inspect.js';
import { caMaterialSteps } from '../collector/ca-steps.js';
import { krlCaveats, newKrlTally, type KrlTally } from '../collector/krl-step.js';
import { describeRevocations, revocationCount, revocationsWord } from '../ca/krl-restore.js';
import { hostCertDropinPath, hostCertSteps, refuseForeignHostCertificates, type HostKeyFile } from '../collector/host-cert-plan.js';
import { certAuthorityLine, defaultHostNames, type Iface } from '../ca/host-names.js';
import { parseEffective } from '../sshd/effective.js';
import { applyPlan } from '../plan/apply.js';
import { printJson } from '../report.js';
import { backupDirFor, Journal, readText } from '../system/files.js';
import { effectiveConfig } from '../system/sshd.js';
import { validateHostName } from '../validate.js';
import { writeOut } from '../system/stdout.js';

export interface CaInitOptions {
  name: string[];
  dryRun: boolean;
  json: boolean;
  yes: boolean;
}

function machineInterfaces(): Iface[] {
  return Object.values(networkInterfaces()).flatMap((list) => list ?? []);
}

/** What the KRL step restored, and what it could not: said after the plan, whatever else ca init did. */
function krlLines(t: KrlTally): string[] {
  const n = revocationCount(t.restored);
  const out = n ? [`Restored ${revocationsWord(n)} in ${CA.krl} from ${CA.issued} (${describeRevocations(t.restored)}): sshd refuses them again.`] : [];
  if (t.rebuild) out.push(...krlCaveats(t).map((c) => paint.yellow(`Warning: ${c}.`)));
  return out;
}

function krlJson(t: KrlTally) {
  const list = (r: KrlTally['restored']) => ({ serials: r.serials.map(String), keys: r.hashes });
  return { restored: revocationCount(t.restored), restoredList: list(t.restored), pending: list(t.pending), unusableRecordLines: t.unusable, otherCaSerials: t.otherCa, recordMissing: t.recordMissing };
}

export async function caInitCommand(o: CaInitOptions): Promise<number> {
  const given = (o.name ?? []).map((n) => validateHostName(n, '--name').toLowerCase());
  requireRoot('ca init creates the certificate authority and changes sshd\'s configuration');
  const out = (s: string) => void (o.json || writeOut(s + '\n'));
  const sshd = await readSshdState();
  const dropin = hostCertDropinPath(sshd);
  if (!dropin) {
    throw new UsageError(
      `${sshd.mainPath} includes no drop-in directory before its first Match block: HostCertificate has to be global`,
      `add "Include /etc/ssh/sshd_config.d/*.conf" as the first line of ${sshd.mainPath} (Debian's default), check with: sudo sshd -t, then run again`,
    );
  }
  refuseForeignHostCertificates(sshd, dropin);
  const eff = parseEffective(await effectiveConfig({ user: 'root' }));
  const hostKeys: HostKeyFile[] = [];
  for (const path of eff.get('hostkey') ?? []) {
    const pub = await readText(`${path}.pub`);
    if (pub?.trim()) hostKeys.push({ path, publicLine: pub.trim() });
  }
  if (hostKeys.length === 0) throw new FailError('sshd names no host key with a .pub file beside it', 'create the host keys: sudo ssh-keygen -A');
  const names = given.length ? [...new Set(given)] : defaultHostNames(hostname(), eff.get('listenaddress') ?? [], machineInterfaces());
  if (names.length === 0) throw new UsageError('no name or address found for this collector', 'give the names cameras use with --name (repeatable)');
  const port = Number(eff.get('port')?.[0] ?? 22);
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  const krl = newKrlTally();
  const applied = await applyPlan({
    subject: `the certificate authority in ${CA.userKey.replace(/\/[^/]+$/, '')} and host certificates for ${names.join(', ')}`,
    doing: 'Setting up', already: 'set up', done: 'Done.', lockPath: LOCK_PATH, journal,
    steps: async () => [...caMaterialSteps(journal, krl), ...hostCertSteps({ names, hostKeys, dropin }, sshd, journal)],
    dryRun: o.dryRun, yes: o.yes, json: o.json, out,
  });
  if (applied.declined) return 1;
  const hostCa = (await readText(`${CA.hostKey}.pub`))?.trim();
  const line = hostCa ? certAuthorityLine(names, port, hostCa) : undefined;
  if (o.json) {
    printJson({ ok: true, dryRun: o.dryRun, steps: applied.reports, names, port, certAuthority: line ?? null, userCa: (await readText(`${CA.userKey}.pub`))?.trim() ?? null, krl: krlJson(krl) });
    return 0;
  }
  for (const l of krlLines(krl)) out(l);
  if (line) {
    out(`Cameras trust this collector with one known_hosts line (allsky-config --cert --via pins it for them):`);
    out(`  ${paint.cyan(line)}`);
    out(`Accounts accept camera certificates once set up with: ${paint.cyan('sudo sftp-setup init --user NAME --ca')}`);
  }
  return 0;
}

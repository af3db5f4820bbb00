/**
 * allsky-config --cert --via: the camera's key certified by the collector's user CA (`keys sign` run there
 * over the admin's own SSH session, the public key on stdin), and the collector trusted through its host CA
 * (`@cert-authority`) instead of a pinned host key. What comes back is a remote host's output: parsed as
 * JSON, every certificate checked with ssh-keygen here (our key, our account only, signed by the CA the
 * collector named) before anything is written; nothing of it reaches a shell.
 */
import { FailError, UsageError } from '../errors.js';
import { certState, showValidity, type CertInfo } from '../ca/cert-info.js';
import { fingerprintOfLine } from '../keys/parse.js';
import type { Step } from '../plan/step.js';
import { printable } from '../text/printable.js';
import { readText, statPath, type FileInfo, type Journal } from '../system/files.js';
import { readCertificate } from '../system/ssh-keygen.js';
import { scanHostCertificates, viaSsh } from '../system/ssh-client.js';
import { remoteCommand, splitViaOutput, sudoWantsPassword, viaSignScript, type ViaTarget } from './handoff.js';
import { fp, type Collector, type HostTrust } from './host-trust.js';
import { hostPattern, parseHostKeyLines, planCertAuthority, type HostKey } from './known-hosts.js';
import { fileStep } from './plan.js';

export interface CertFile {
  path: string;
  before: string | null;
  info: FileInfo | null;
  /** the certificate to install; undefined in a dry run that would request one */
  want?: string;
  /** what the certificate now says (new or kept) */
  cert?: CertInfo;
  renewed: boolean;
}

export interface Enrollment {
  /** the @cert-authority pin, or undefined when the collector presents no host certificate of ours */
  host?: HostTrust;
  cert: CertFile;
}

interface SignAnswer {
  certificate: string | null;
  userCa: string;
  hostCa: string | null;
  serial: string;
}

const KEY_LINE = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}( [\x20-\x7e]*)?$/;
const CERT_LINE = /^[a-z0-9-]+-cert-v01@openssh\.com [A-Za-z0-9+/]+={0,2}$/;

/** The JSON `keys sign --json` printed, checked field by field (a remote host wrote it). */
export function parseSignAnswer(text: string): SignAnswer | undefined {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text.slice(start)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);
  const userCa = str(j.userCa);
  const hostCa = j.hostCa === null ? null : str(j.hostCa);
  const certificate = j.certificate === null ? null : str(j.certificate);
  if (j.ok !== true || !userCa || !KEY_LINE.test(userCa) || hostCa === undefined || (hostCa !== null && !KEY_LINE.test(hostCa))) return undefined;
  if (certificate === undefined || (certificate !== null && !CERT_LINE.test(certificate))) return undefined;
  return { certificate, userCa, hostCa, serial: String(j.serial ?? '') };
}

/** The collector to ask over --via; `knownHosts`: a file of the camera's to trust its host key from too. */
export type ViaCollector = Collector & { via: ViaTarget; knownHosts?: string };

async function askCollector(c: ViaCollector, user: string, publicLine: string, dryRun: boolean): Promise<SignAnswer> {
  const script = viaSignScript({ admin: c.via.user, user, remoteCommand: remoteCommand(), dryRun, wait: c.via.wait });
  const r = await viaSsh(c.via, script, { input: `${publicLine}
`, port: c.viaPort, knownHosts: c.knownHosts, lockWaitSeconds: c.via.wait });
  const split = splitViaOutput(r.stdout);
  const answer = r.exitCode === 0 && split ? parseSignAnswer(split.rest) : undefined;
  if (answer) return answer;
  const said = printable(`${r.stderr}`.trim().split('\n').pop() ?? '') || `exit ${r.exitCode}`;
  if (sudoWantsPassword(r.stderr)) {
    throw new FailError(`signing the key on ${c.via.host} failed: sudo there asks ${c.via.user} for a password, which cannot be typed through --via`, `use --via root@${c.via.host}, or allow ${c.via.user} to run sftp-setup with sudo NOPASSWD`);
  }
  if (r.exitCode === 255 || !split) {
    throw new FailError(`cannot run sftp-setup on the collector over ssh ${c.via.user}@${c.via.host}: ${said}; nothing was changed`, `check that "ssh ${c.via.user}@${c.via.host}" works from this account`);
  }
  throw new FailError(`the collector did not sign the key over ssh ${c.via.user}@${c.via.host}: ${said}; nothing was changed`,
    r.exitCode === 2 ? `on the collector: sudo sftp-setup ca init, then sudo sftp-setup init --user ${user} --ca` : 'check that sftp-setup on the collector knows "keys sign" (update it there)');
}

/** Does this certificate certify our key, for our account alone, by this CA (when known)? */
function certifies(info: CertInfo | undefined, o: { fingerprint: string; user: string }, userCa?: string): info is CertInfo {
  if (!info || info.kind !== 'user' || info.keyFingerprint !== o.fingerprint) return false;
  if (info.principals.length !== 1 || info.principals[0] !== o.user) return false;
  return !userCa || info.caFingerprint === fingerprintOfLine(userCa);
}

/** Does our current certificate still serve: it certifies us, and has a month or more left? */
function stillGood(info: CertInfo | undefined, o: { fingerprint: string; user: string }, now: Date, userCa?: string): boolean {
  return certifies(info, o, userCa) && certState(info, now) === 'valid';
}

/** The certificate in the collector's answer, if it certifies our key for our account alone by the CA it named. */
async function checkedCertificate(answer: SignAnswer, c: Collector, o: { fingerprint: string }): Promise<CertInfo> {
  const got = answer.certificate !== null ? await readCertificate(answer.certificate) : undefined;
  if (!certifies(got, { fingerprint: o.fingerprint, user: c.user }, answer.userCa)) {
    throw new FailError(`the collector returned a certificate that is not for this key and ${c.user} alone; nothing was changed`, 'run sudo sftp-setup doctor on the collector');
  }
  return got;
}

/**
 * A certificate for this key and the camera's account, signed on the collector over --via (`keys sign`, as
 * for enrollOverVia below) and checked here before anything uses it. `keys rotate` certifies its new key so.
 */
export async function certifyOverVia(c: ViaCollector, o: { publicLine: string; fingerprint: string }): Promise<{ certificate: string; info: CertInfo }> {
  const answer = await askCollector(c, c.user, o.publicLine, false);
  const info = await checkedCertificate(answer, c, o);
  return { certificate: answer.certificate!, info };
}

/** The collector must present a host certificate from this CA for the very name the camera uses. */
async function checkHostCertificate(c: Collector, hostCa: string): Promise<void> {
  const lines = await scanHostCertificates(c.host, c.port);
  const infos = (await Promise.all(lines.map(readCertificate))).filter((i): i is CertInfo => i?.kind === 'host' && i.caFingerprint === fingerprintOfLine(hostCa));
  if (infos.some((i) => i.principals.some((n) => n.toLowerCase() === c.host.toLowerCase()))) return;
  const names = [...new Set(infos.flatMap((i) => i.principals))];
  throw new UsageError(
    infos.length
      ? `the collector's host certificate names ${names.map((n) => printable(n)).join(', ')}, not ${c.host}: ssh would refuse it; nothing was changed`
      : `the collector at ${c.host} port ${c.port} presents no host certificate from its CA; nothing was changed`,
    `on the collector: sudo sftp-setup ca init --name ${c.host}${names.map((n) => ` --name ${printable(n)}`).join('')}, or use --collector with one of those names`,
  );
}

export async function enrollOverVia(
  c: Collector & { via: ViaTarget },
  o: { keyPath: string; publicLine: string; fingerprint: string; dryRun: boolean; khText: string | null },
): Promise<Enrollment> {
  const path = `${o.keyPath}-cert.pub`;
  const [before, info] = await Promise.all([readText(path), statPath(path)]);
  const now = new Date();
  const current = before !== null ? await readCertificate(before) : undefined;
  let answer = await askCollector(c, c.user, o.publicLine, o.dryRun || stillGood(current, { fingerprint: o.fingerprint, user: c.user }, now));
  const keep = stillGood(current, { fingerprint: o.fingerprint, user: c.user }, now, answer.userCa);
  // A certificate from another CA (the collector's CA was made again): ask for a new one after all.
  if (!keep && !o.dryRun && answer.certificate === null) answer = await askCollector(c, c.user, o.publicLine, false);
  let cert: CertFile = { path, before, info, renewed: false, want: before ?? undefined, cert: current };
  if (!keep && answer.certificate) {
    const got = await checkedCertificate(answer, c, o);
    cert = { path, before, info, renewed: true, want: `${answer.certificate}\n`, cert: got };
  } else if (!keep) {
    cert = { path, before, info, renewed: true, want: undefined };
  }
  if (!answer.hostCa) return { cert };
  await checkHostCertificate(c, answer.hostCa);
  const ca = parseHostKeyLines(answer.hostCa)[0] as HostKey;
  const pattern = hostPattern(c.host, c.port);
  return { cert, host: { pinnedKey: ca, trust: 'via', pattern, kh: planCertAuthority(o.khText ?? '', pattern, ca), certAuthority: true } };
}

/** The certificate beside the key, the owner's file: installed, kept, or (dry run) to be requested. */
export function certStep(cert: CertFile, owner: { uid: number; gid: number }, journal: Journal): Step {
  const title = `certificate ${cert.path}${cert.cert ? ` (serial ${cert.cert.serial}, ${showValidity(cert.cert)})` : ''}`;
  if (cert.want === undefined) {
    return {
      id: 'certificate', title,
      check: async () => ({ summary: 'request a certificate from the collector over --via' }),
      apply: async () => {
        throw new FailError('no certificate to install');
      },
    };
  }
  return fileStep({
    id: 'certificate', title, path: cert.path, before: cert.before, info: cert.info, want: cert.want, mode: cert.info?.mode ?? 0o644, ...owner,
    summary: cert.renewed ? `${cert.path} ${cert.before === null ? 'installed' : 'renewed'}` : undefined,
  }, journal);
}

export { fp };

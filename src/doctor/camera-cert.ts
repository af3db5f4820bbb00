/**
 * Certificate checks on the camera: the upload key's certificate (KEY-cert.pub, which ssh offers by itself)
 * certifies this key for the upload account and is valid now — a month's warning before it expires, and a
 * "not yet valid" named for what it usually is, a clock that is behind — and, when known_hosts trusts the
 * collector through its host CA, that the collector presents a certificate from it for the name in use.
 */
import { certState, daysLeft, showTime, showValidity, type CertInfo } from '../ca/cert-info.js';
import { fingerprintOfLine } from '../keys/parse.js';
import { sha256Fingerprint } from '../keys/wire.js';
import { readText } from '../system/files.js';
import { readCertificate } from '../system/ssh-keygen.js';
import { scanHostCertificates } from '../system/ssh-client.js';
import type { HostKey } from '../camera/known-hosts.js';
import { fail, pass, warn, type DoctorCheck } from './check.js';

const renew = (host?: string) => `sftp-setup allsky-config --cert --via <admin>@${host ?? '<collector>'}`;

export async function certificateChecks(key: string, publicLine: string | undefined, user: string | undefined, host: string | undefined, now = new Date()): Promise<DoctorCheck[]> {
  const path = `${key}-cert.pub`;
  const text = await readText(path).catch(() => null);
  if (text === null) return [];
  const title = `certificate ${path}`;
  const info = await readCertificate(text);
  if (!info || info.kind !== 'user') {
    return [fail('camera.certificate', title, [`${path}: not a user certificate ssh-keygen can read`], { reason: 'ssh ignores it and offers the plain key only', fix: renew(host) })];
  }
  const ev = [`${path}: serial ${info.serial}, id ${info.keyId}, for ${info.principals.join(', ') || '(no principal)'}, valid ${showValidity(info)}`];
  const problems: string[] = [];
  if (publicLine && fingerprintOfLine(publicLine) !== info.keyFingerprint) problems.push(`it certifies ${info.keyFingerprint}, not the key ${key} (${fingerprintOfLine(publicLine)}): ssh does not use it`);
  if (user && !info.principals.includes(user)) problems.push(`it names ${info.principals.join(', ') || 'no principal'}, not the upload account ${user}: the collector refuses it ("Certificate does not contain an authorized principal")`);
  if (problems.length) return [fail('camera.certificate', title, [...ev, ...problems], { fix: renew(host) })];
  return [stateCheck(info, title, ev, now, host)];
}

function stateCheck(info: CertInfo, title: string, ev: string[], now: Date, host?: string): DoctorCheck {
  const clock = `this camera's clock says ${showTime(now, 'always')}`;
  switch (certState(info, now)) {
    case 'expired':
      return fail('camera.certificate', title, [...ev, `expired ${showTime(info.validBefore, 'forever')}; ${clock}`], {
        reason: 'the collector refuses it ("Certificate invalid: expired"): uploads fail with "Permission denied (publickey)"', fix: renew(host),
      });
    case 'not-yet-valid':
      return fail('camera.certificate', title, [...ev, `valid only from ${showTime(info.validAfter, 'always')}; ${clock}`], {
        reason: 'not yet valid: if this clock is behind (a Pi without a real-time clock before NTP answers), fix the clock (timedatectl; systemd-timesyncd); ' +
          'the collector judges by its own clock and refuses it too while it is before that time ("Certificate invalid: not yet valid")',
        fix: `${renew(host)} (a new certificate starts in the past)`,
      });
    case 'expiring':
      return warn('camera.certificate', title, [...ev, `expires in ${daysLeft(info, now)} days`], { reason: 'renew it before it runs out: uploads stop the moment it does', fix: renew(host) });
    default:
      return pass('camera.certificate', title, ev);
  }
}

/** known_hosts trusts the collector's host CA: does the collector present a certificate from it for this name? */
export async function certAuthorityCheck(path: string, pattern: string, host: string, port: number, cas: Array<HostKey & { line: number }>): Promise<DoctorCheck> {
  const title = `known_hosts trusts the collector's host CA (@cert-authority ${pattern})`;
  const caFps = new Map(cas.map((c) => [sha256Fingerprint(Buffer.from(c.base64, 'base64')), c.line]));
  const certs = (await Promise.all((await scanHostCertificates(host, port).catch(() => [])).map(readCertificate))).filter((c): c is CertInfo => c?.kind === 'host');
  const ours = certs.filter((c) => caFps.has(c.caFingerprint));
  const named = ours.find((c) => c.principals.some((n) => n.toLowerCase() === host.toLowerCase()));
  const ev = [`${path} line ${[...caFps.values()].join(', ')}: @cert-authority ${pattern} ${[...caFps.keys()].join(', ')}`];
  if (named) return pass('camera.known-hosts', title, [...ev, `${host} presents a host certificate from it for ${named.principals.join(', ')} (valid ${showValidity(named)})`]);
  return fail('camera.known-hosts', title, [...ev, certs.length ? `${host} presents host certificates from ${[...new Set(certs.map((c) => c.caFingerprint))].join(', ')} for ${[...new Set(certs.flatMap((c) => c.principals))].join(', ')}` : `${host} presents no host certificate`], {
    reason: ours.length
      ? `the collector's certificate does not name ${host}: ssh refuses it ("Host key verification failed")`
      : 'the collector presents no certificate from this CA (host certificates removed, or another machine answers): ssh refuses it',
    fix: `on the collector: sudo sftp-setup ca init --name ${host} (with every other name cameras use)`,
  });
}

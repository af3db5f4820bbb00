/**
 * Where the live probe connects: the port and address sshd listens on and the host keys it presents, all
 * read from sshd itself (sshd -T), so a custom Port, ListenAddress or HostKey is followed.
 */
import { parseEffective } from '../sshd/effective.js';
import { readText } from '../system/files.js';
import type { ProbeTarget } from '../system/probe.js';
import { effectiveConfig } from '../system/sshd.js';
import { hostLogSocket } from '../system/devlog.js';
import { logsUploads } from './devlog.js';
import { parseConfig } from '../sshd/parse.js';

export function pickProbeAddress(listen: string[]): string {
  // "0.0.0.0:22", "[::]:22", "192.168.1.5:22"
  const hosts = listen.map((l) => l.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'));
  if (hosts.length === 0 || hosts.includes('0.0.0.0')) return '127.0.0.1';
  if (hosts.includes('::')) return '::1';
  return hosts.find((h) => h.startsWith('127.')) ?? hosts[0]!;
}

/** The probe's target from `sshd -T -C user=…` output already parsed (doctor has it at hand). */
export async function probeTargetFromEffective(
  spec: { user: string; root: string; dirs: string[]; profile: 'allsky' | 'dropbox'; port?: number },
  eff: Map<string, string[]>,
): Promise<ProbeTarget> {
  const port = spec.port ?? Number(eff.get('port')?.[0] ?? 22);
  const listen = (eff.get('listenaddress') ?? []).filter((l) => l.endsWith(`:${port}`));
  const hostKeys: string[] = [];
  for (const path of eff.get('hostkey') ?? []) {
    const pub = await readText(`${path}.pub`).catch(() => null);
    if (pub) hostKeys.push(pub.trim().split(/\s+/).slice(0, 2).join(' '));
  }
  const logging = logsUploads(eff.get('forcecommand')?.join(' ')) ? { socket: await hostLogSocket() } : undefined;
  return { user: spec.user, chroot: spec.root, dirs: spec.dirs, profile: spec.profile, port, addr: pickProbeAddress(listen), hostKeys, ...(logging ? { logging } : {}) };
}

export async function probeTargetFor(
  spec: { user: string; root: string; dirs: string[]; profile: 'allsky' | 'dropbox'; port?: number },
  configPath?: string,
): Promise<ProbeTarget> {
  return probeTargetFromEffective(spec, parseEffective(await effectiveConfig({ user: spec.user }, configPath)));
}

/**
 * The target of a re-run that changes nothing, without an sshd -T -C of its own: Port, ListenAddress and
 * HostKey are global settings (sshd allows none of them in Match), so the `sshd -T` the run made has them,
 * and the ForceCommand (whether uploads are logged) is that of `block`, the account's Match block, which
 * such a run found installed as it is and not overridden (the plan refuses an earlier Match block that
 * sets it).
 */
export function probeTargetFromSettings(
  spec: { user: string; root: string; dirs: string[]; profile: 'allsky' | 'dropbox'; port?: number },
  globalSettings: string,
  block: string,
): Promise<ProbeTarget> {
  const eff = parseEffective(globalSettings);
  const force = parseConfig(block, 'block').find((l) => l.keyword === 'forcecommand');
  eff.set('forcecommand', force ? [force.args.join(' ')] : []);
  return probeTargetFromEffective(spec, eff);
}

/**
 * Network checks on the collector: sshd listens on the port it is configured for (read from the kernel's
 * socket table, no extra process), and ufw, when installed and active, lets that port in.
 */
import { listeningSockets } from '../socket-table.js';
import { readProcText } from '../system/proc.js';
import { run } from '../system/exec.js';
import { fail, pass, skip, type DoctorCheck } from './check.js';

/** Ports in LISTEN state (st 0A) in /proc/net/tcp and tcp6 of this network namespace. */
export function listeningPorts(tables: string[]): Set<number> {
  return new Set(listeningSockets(tables).map((s) => s.port));
}

export async function listeningCheck(ports: number[], running: boolean): Promise<DoctorCheck> {
  const title = `sshd listens on port ${ports.join(', ')}`;
  if (!running) return skip('sshd.listening', title, 'sshd is not running');
  const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((p) => readProcText(p).catch(() => '')));
  const open = listeningPorts(tables);
  const missing = ports.filter((p) => !open.has(p));
  return missing.length
    ? fail('sshd.listening', title, [`nothing listens on TCP port ${missing.join(', ')}; listening: ${[...open].sort((a, b) => a - b).join(', ') || 'none'}`], {
      fix: 'sshd is running but not on the configured port: reload it (sudo systemctl reload ssh) and check ListenAddress/Port in /etc/ssh/sshd_config',
    })
    : pass('sshd.listening', title, [`TCP ${ports.join(', ')} in LISTEN state`]);
}

/** ufw status: inactive, or a rule that allows the port (by number or the OpenSSH profile). */
export function ufwAllows(status: string, port: number): boolean | 'inactive' {
  if (/Status:\s*inactive/i.test(status)) return 'inactive';
  return status.split('\n').some((l) => {
    const m = /^(\S+)(?:\s+\(v6\))?\s+(ALLOW|LIMIT)\b/i.exec(l.trim());
    if (!m) return false;
    const to = m[1]!;
    return to === String(port) || to === `${port}/tcp` || (port === 22 && /^OpenSSH$/i.test(to));
  });
}

export async function firewallCheck(port: number): Promise<DoctorCheck> {
  const title = `firewall lets port ${port} in`;
  const r = await run('ufw', ['status']).catch(() => undefined);
  if (!r) return skip('network.firewall', title, 'ufw is not installed');
  if (r.exitCode !== 0) return skip('network.firewall', title, `ufw status failed: ${(r.stderr || r.stdout).trim()}`);
  const v = ufwAllows(r.stdout, port);
  if (v === 'inactive') return pass('network.firewall', title, ['ufw is inactive']);
  return v
    ? pass('network.firewall', title, [`ufw allows ${port}/tcp`])
    : fail('network.firewall', title, ['ufw is active and no rule allows the port', ...r.stdout.trim().split('\n').slice(0, 8)], { fix: `sudo ufw allow ${port}/tcp` });
}

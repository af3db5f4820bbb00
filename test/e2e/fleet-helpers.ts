/**
 * A collector with many upload accounts (issue 12: observatories run tens of cameras against one), made
 * with the real `init --no-verify`, one account after the other. Each account's tree is its own chroot,
 * /var/lib/fleet/camNN.
 */
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, makeKey } from './helpers.js';
import { collectorHost } from './safety-helpers.js';

export const FLEET_ROOT = '/var/lib/fleet';

export interface Fleet {
  host: ThrowawayHost;
  users: string[];
  /** the client key every account accepts: /root/cam on the host */
  pub: string;
}

export const camName = (i: number) => `cam${String(i).padStart(2, '0')}`;

export async function fleetHost(base: string, n: number): Promise<Fleet> {
  const host = await collectorHost(base);
  try {
    const pub = await makeKey(host, '/root/cam');
    const users = Array.from({ length: n }, (_, i) => camName(i + 1));
    for (const u of users) {
      let r = await cli(host, ['init', '--yes', '--no-verify', '--user', u, '--root', `${FLEET_ROOT}/${u}`, '--key', '-'], { input: pub });
      // On a loaded test machine init's check that sshd is back after its reload can come too early; that
      // run rolls back, and the next converges (the fleet is the fixture here, not init).
      if (r.exitCode !== 0 && /not running after the reload/.test(r.stderr)) {
        r = await cli(host, ['init', '--yes', '--no-verify', '--user', u, '--root', `${FLEET_ROOT}/${u}`, '--key', '-'], { input: pub });
      }
      if (r.exitCode !== 0) throw new Error(`init ${u}: ${r.stdout}${r.stderr}`);
    }
    return { host, users, pub };
  } catch (err) {
    await host.destroy();
    throw err;
  }
}

/** sftp as an upload account from the collector itself (loopback), with the fleet's client key. */
export function sftpAs(host: ThrowawayHost, user: string, batch: string, key = '/root/cam') {
  return host.run(['sftp', '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-b', '-', `${user}@127.0.0.1`], { input: batch });
}

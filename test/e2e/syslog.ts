/**
 * A syslog daemon for a throwaway host (the documented fallback where journald does not run, as in CI): the
 * host gets a /dev of its own (an overlay of the real one in its own mount namespace: nothing is ever made
 * in the real machine's /dev), and syslog-receiver.mjs listens on its /dev/log and writes /var/log/auth.log,
 * the file Debian's rsyslog writes internal-sftp's facility (auth) to.
 */
import { fileURLToPath } from 'node:url';
import type { ThrowawayHost } from '../../src/system/hosts.js';

const RECEIVER = fileURLToPath(new URL('./syslog-receiver.mjs', import.meta.url));

/** Give the host a private /dev (device nodes, /dev/pts and /dev/shm as before); idempotent. */
export async function ownDev(host: ThrowawayHost): Promise<void> {
  await host.sh(
    'grep -q " /dev overlay " /proc/self/mounts && exit 0;' +
      ' mkdir -p /mnt/dev/u /mnt/dev/w /mnt/devpts /mnt/devshm &&' +
      ' mount --bind /dev/pts /mnt/devpts && mount --bind /dev/shm /mnt/devshm &&' +
      ' mount -t overlay overlay -o lowerdir=/dev,upperdir=/mnt/dev/u,workdir=/mnt/dev/w /dev &&' +
      ' mount --move /mnt/devpts /dev/pts && mount --move /mnt/devshm /dev/shm',
  );
}

/** Start (or restart: a new socket, a new inode, as a restarted daemon makes) the receiver on the host's /dev/log. */
export async function startSyslog(host: ThrowawayHost): Promise<void> {
  await ownDev(host);
  await host.sh(
    `[ -s /run/syslog-test.pid ] && kill "$(cat /run/syslog-test.pid)" 2>/dev/null; rm -f /run/syslog-test.pid;` +
      ` (node ${JSON.stringify(RECEIVER)} /dev/log /var/log/auth.log /run/syslog-test.pid </dev/null >/dev/null 2>&1 &);` +
      ' for i in $(seq 250); do [ -s /run/syslog-test.pid ] && [ -S /dev/log ] && exit 0; sleep 0.02; done; exit 1',
  );
}

/** The internal-sftp lines the host's log holds so far. */
export async function uploadLogLines(host: ThrowawayHost): Promise<string[]> {
  const out = await host.sh('grep -a "internal-sftp\\[" /var/log/auth.log || true');
  return out.split('\n').filter(Boolean);
}

/**
 * Burst benchmark for `npm run bench`: one collector with ACCOUNTS upload accounts made by init, one camera
 * host holding every camera's key (a site behind one NAT address). K cameras start one plain `sftp -b`
 * upload each in the same instant (no retries) while three admins log in with `ssh` from another address;
 * counted: sessions that failed. Each K runs with sshd's defaults (our limits drop-in moved away, sshd
 * restarted) and with the limits init wrote, alternately, `rounds` times. Failures are counts, not timings.
 */
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const { startHost, linkHosts } = await import(`${repo}/dist/system/hosts.js`);
const CLI = `${repo}/bin/sftp-setup`;
const LIMITS = '/etc/ssh/sshd_config.d/00-sftp-setup-limits.conf';
const OPTS = '-F /dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR';
const ADMINS = 3;

/** @returns {Promise<{ accounts: number, rounds: number, initMs: { first: number, last: number }, rows: Array<{ k: number, limits: 'default' | 'init', failed: number, sessions: number, adminsRefused: number, admins: number }> }>} */
export async function measureBursts({ ks = [10, 30, 60, 100], rounds = 3, note = () => {} } = {}) {
  const accounts = Math.max(...ks);
  const names = Array.from({ length: accounts }, (_, i) => `cam${String(i + 1).padStart(3, '0')}`);
  const [collector, camera] = await Promise.all([startHost('bench-burst-col'), startHost('bench-burst-cam')]);
  try {
    await linkHosts(collector, camera, '10.251.0');
    const adminAddr = '10.251.0.3';
    await camera.sh(`ip addr add ${adminAddr}/24 dev eth0`);
    await collector.startSshd();
    await camera.sh(`mkdir -p /root/keys && for u in ${names.join(' ')}; do ssh-keygen -q -t ed25519 -N '' -C "$u" -f /root/keys/$u; done` +
      " && ssh-keygen -q -t ed25519 -N '' -C admin -f /root/admin && head -c 65536 /dev/urandom > /root/image.jpg");
    const pubs = await camera.sh(`for u in ${names.join(' ')} admin; do f=/root/keys/$u.pub; [ $u = admin ] && f=/root/admin.pub; printf '%s %s\\n' "$u" "$(cat $f)"; done`);
    await collector.run(['sh', '-c', 'mkdir -p /root/pubs && while read -r u key; do printf "%s\\n" "$key" > /root/pubs/$u.pub; done'], { input: pubs });
    await collector.sh('useradd -m -s /bin/sh admin && install -d -m 0700 -o admin -g admin /home/admin/.ssh && install -m 0600 -o admin -g admin /root/pubs/admin.pub /home/admin/.ssh/authorized_keys');

    note(`burst: init of ${accounts} accounts`);
    const initMs = {};
    for (const [i, u] of names.entries()) {
      const t = performance.now();
      const r = await collector.run(['node', CLI, 'init', '--yes', '--no-verify', '--user', u, '--root', `/srv/${u}`, '--dirs', 'images', '--key', `/root/pubs/${u}.pub`]);
      if (r.exitCode !== 0) throw new Error(`init ${u} failed: ${r.stdout}${r.stderr}`);
      if (i === 0) initMs.first = performance.now() - t;
      if (i === names.length - 1) initMs.last = performance.now() - t;
    }
    await collector.sh(`cp ${LIMITS} /root/limits.conf`);

    const use = async (limits) => {
      await collector.stopSshd();
      await collector.sh(limits === 'init' ? `cp /root/limits.conf ${LIMITS}` : `rm -f ${LIMITS}`);
      await collector.startSshd();
    };
    const burst = async (k, round) => {
      const lines = ['pids=; what='];
      const cam = (u) => `sftp ${OPTS} -i /root/keys/${u} -b /tmp/batch ${u}@10.251.0.1 >/dev/null 2>&1 & pids="$pids $!"; what="$what ${u}"`;
      const admin = (n) => `ssh ${OPTS} -b ${adminAddr} -i /root/admin admin@10.251.0.1 true >/dev/null 2>&1 & pids="$pids $!"; what="$what admin${n}"`;
      const half = Math.ceil(k / 2);
      lines.push(`echo 'put /root/image.jpg images/b${k}-${round}.jpg' > /tmp/batch`);
      lines.push(...names.slice(0, half).map(cam), ...Array.from({ length: ADMINS }, (_, n) => admin(n)), ...names.slice(half, k).map(cam));
      lines.push('set -- $what; for pid in $pids; do wait $pid; echo "$1 $?"; shift; done');
      const r = await camera.run(['bash', '-c', lines.join('\n')], { timeoutMs: 600_000 });
      const codes = r.stdout.trim().split('\n').map((l) => l.split(' '));
      return {
        failed: codes.filter(([w, c]) => !w.startsWith('admin') && c !== '0').length,
        adminsRefused: codes.filter(([w, c]) => w.startsWith('admin') && c !== '0').length,
      };
    };

    const rows = [];
    for (const k of ks) for (const limits of ['default', 'init']) rows.push({ k, limits, failed: 0, sessions: 0, adminsRefused: 0, admins: 0 });
    for (let round = 0; round < rounds; round++) {
      for (const limits of round % 2 ? ['init', 'default'] : ['default', 'init']) {
        await use(limits);
        for (const k of ks) {
          note(`burst: round ${round + 1}/${rounds}, ${limits === 'init' ? "init's limits" : "sshd's defaults"}, K=${k}`);
          const got = await burst(k, round);
          const row = rows.find((x) => x.k === k && x.limits === limits);
          row.failed += got.failed;
          row.sessions += k;
          row.adminsRefused += got.adminsRefused;
          row.admins += ADMINS;
        }
      }
    }
    return { accounts, rounds, initMs, rows };
  } finally {
    await Promise.all([collector.destroy(), camera.destroy()]);
  }
}

/**
 * A fleet on one collector: 40 upload accounts made by init, then every camera starts two uploads in the same
 * instant — 80 plain `sftp -b` sessions, no retries, each camera with its own key, all from one address (a
 * site behind one NAT) — while three admins log in with `ssh` from another address. With sshd's default
 * MaxStartups 10:30:100 many of them get "Connection closed"; with the limits init sizes, every one lands.
 * No timing is asserted: only that each session succeeded and each file arrived.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, destination, sftpAs, sshOptions, startPair, type Pair } from './helpers.js';

const ACCOUNTS = 40;
const names = Array.from({ length: ACCOUNTS }, (_, i) => `cam${String(i + 1).padStart(2, '0')}`);
/** Each camera's ssh options: its own key (no ConnectTimeout: under the burst a key exchange may wait). */
const cameraSsh = (u: string) => sshOptions({ key: `/root/keys/${u}` }).sh;

describe('a burst of uploads from 40 cameras', () => {
  let p: Pair;
  let adminAddr: string;

  beforeAll(async () => {
    p = await startPair();
    // The admins' laptop: a second address on the camera's side of the link.
    adminAddr = p.cameraAddr.replace(/\.\d+$/, '.3');
    await p.camera.sh(`ip addr add ${adminAddr}/24 dev eth0`);
    // One key per camera, made in one go; the public halves go to the collector as files for --key.
    await p.camera.sh(`mkdir -p /root/keys && for u in ${names.join(' ')}; do ssh-keygen -q -t ed25519 -N '' -C "$u" -f /root/keys/$u; done` +
      " && ssh-keygen -q -t ed25519 -N '' -C admin -f /root/admin && head -c 65536 /dev/urandom > /root/image.jpg");
    const pubs = await p.camera.sh(`for u in ${names.join(' ')}; do printf '%s %s\\n' "$u" "$(cat /root/keys/$u.pub)"; done; printf 'admin %s\\n' "$(cat /root/admin.pub)"`);
    await p.collector.run(['sh', '-c', 'mkdir -p /root/pubs && while read -r u key; do printf "%s\\n" "$key" > /root/pubs/$u.pub; done'], { input: pubs });
    await p.collector.sh('useradd -m -s /bin/sh admin && install -d -m 0700 -o admin -g admin /home/admin/.ssh && install -m 0600 -o admin -g admin /root/pubs/admin.pub /home/admin/.ssh/authorized_keys');
    // init once per account, as an admin would: each run sizes the limits for every account so far.
    const made = await p.collector.run(['sh', '-c',
      `for u in ${names.join(' ')}; do node ${CLI} init --yes --no-verify --user $u --root /srv/$u --dirs images --key /root/pubs/$u.pub >/dev/null || { echo "init $u failed"; exit 1; }; done`,
    ], { timeoutMs: 600_000 });
    expect(made.exitCode, made.stdout + made.stderr).toBe(0);
  }, 660_000);
  afterAll(async () => {
    await p?.destroy();
  });

  it('init sized MaxStartups for the 40 accounts; the last run says so', async () => {
    expect(await p.collector.sh('sshd -T | grep -E "^(maxstartups|persourcemaxstartups) "')).toBe('maxstartups 90:30:180\npersourcemaxstartups 85\n');
    const again = await p.collector.run(['node', CLI, 'init', '--yes', '--no-verify', '--user', names[0]!, '--root', `/srv/${names[0]}`, '--dirs', 'images']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/ok +sshd connection limits for 40 upload accounts: MaxStartups 90:30:180; PerSourceMaxStartups 85;/);
    expect(again.stdout).toContain('Already set up: nothing changed.');
  });

  it('80 simultaneous sftp uploads (two per camera) all land, and three admin logins in the middle of them all get in', async () => {
    // Every session starts before any is waited for: the admins' logins go out between the cameras' two waves.
    const sftp = (u: string, n: number) =>
      `echo 'put /root/image.jpg images/up-${n}.jpg' > /tmp/batch-${u}-${n}; sftp ${cameraSsh(u)} -b /tmp/batch-${u}-${n} ${destination({ user: u })} >/tmp/out-${u}-${n} 2>&1 & pids="$pids $!"; what="$what ${u}-${n}"`;
    const admin = (n: number) =>
      `ssh ${sshOptions({ key: '/root/admin' }).sh} -b ${adminAddr} ${destination({ user: 'admin' })} echo admin-in >/tmp/out-admin-${n} 2>&1 & pids="$pids $!"; what="$what admin-${n}"`;
    const script = [
      'pids=; what=',
      ...names.map((u) => sftp(u, 1)),
      ...[1, 2, 3].map(admin),
      ...names.map((u) => sftp(u, 2)),
      'set -- $what; for pid in $pids; do wait $pid; echo "$1 $?"; shift; done',
    ].join('\n');
    const r = await p.camera.run(['bash', '-c', script], { timeoutMs: 300_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const codes = r.stdout.trim().split('\n').map((l) => l.split(' '));
    expect(codes).toHaveLength(2 * ACCOUNTS + 3);
    const failed = codes.filter(([, code]) => code !== '0').map(([w]) => w!);
    const why = failed.length ? await p.camera.sh(`for w in ${failed.slice(0, 5).join(' ')}; do echo "$w: $(cat /tmp/out-$w)"; done`) : '';
    expect(failed, `${failed.length} of ${codes.length} failed:\n${why}`).toEqual([]);
    for (let n = 1; n <= 3; n++) expect(await p.camera.sh(`cat /tmp/out-admin-${n}`)).toBe('admin-in\n');
    // Every file is there, whole.
    const sizes = await p.collector.sh(`for u in ${names.join(' ')}; do stat -c '%s' /srv/$u/images/up-1.jpg /srv/$u/images/up-2.jpg; done | sort | uniq -c`);
    expect(sizes.trim()).toBe(`${2 * ACCOUNTS} 65536`);
    // sshd dropped nothing: it logs each drop past MaxStartups (and the start of throttling).
    expect(await p.collector.sh('grep -ci "maxstartups\\|drop connection" /var/log/auth.log || true')).toBe('0\n');
  }, 320_000);

  it('OpenSSH 9.8+ (PerSourcePenalties): a camera with a stale key does not get the other cameras at its address refused', async (t) => {
    const penalties = (await p.collector.sh('sshd -T | grep "^persourcepenalties " || true')).trim();
    if (!penalties) t.skip(); // this sshd has no PerSourcePenalties
    expect(penalties.split(/\s+/)).toContain('authfail:1');
    // From the admins' address (the harness exempts the cameras' own address from penalties): six failed
    // logins in a row, what a camera with a stale key makes in two uploads with lftp's retries.
    await p.camera.sh("ssh-keygen -q -t ed25519 -N '' -C stale -f /root/stale");
    const from = (u: string, key: string, batch: string) => sftpAs(p.camera, { key, user: u, extra: [`BindAddress=${adminAddr}`] }, batch);
    for (let i = 0; i < 6; i++) expect((await from(names[0]!, '/root/stale', 'pwd')).stderr).toMatch(/Permission denied \(publickey\)/);
    const other = await from(names[1]!, `/root/keys/${names[1]}`, 'put /root/image.jpg images/after-stale.jpg');
    expect(other.exitCode, other.stdout + other.stderr).toBe(0);
  });
});

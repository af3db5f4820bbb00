/**
 * Issue 9, the lock: a local unprivileged user cannot block or hang sftp-setup through lock files. The lock
 * moved from the world-writable /run/lock to root's /run/sftp-setup; what a user plants at the old names
 * is ignored, and whatever sits at the new name is never trusted blindly: garbage or a dead or foreign pid
 * is taken over, a FIFO or a link is refused at once with the path and the fix, never waited on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { LOCK_PATH } from '../../src/collector/layout.js';
import { cli, collectorHost, hostKeyFingerprint, makeKey, ROOT, startPair, USER, type Pair } from './helpers.js';
import { installAllsky } from './allsky-fixture.js';

let host: ThrowawayHost;
// A hang shows as a timeout (exit code not 0, "timed out"), never as a slow pass.
const T = { timeoutMs: 60_000 };

const planted = () => host.sh('ls -l --time-style=+ /run/lock/ | grep sftp-setup || true; for f in /run/lock/sftp-setup*; do [ -f "$f" ] && [ ! -L "$f" ] && echo "content $f: $(cat "$f")"; done; true');

describe('the lock cannot be hijacked by a local user', () => {
  let key: string;
  beforeAll(async () => {
    host = await collectorHost('lock');
    await host.sh('useradd -m -s /bin/sh mallory');
    key = await makeKey(host, '/root/lock-key');
  });
  afterAll(async () => {
    await host?.destroy();
  });

  it('the new lock path is in a root-owned directory no one else can write', () => {
    expect(LOCK_PATH).toBe('/run/sftp-setup/lock');
  });

  const plants: Array<[string, string]> = [
    ['a file holding "1"', 'echo 1 > /run/lock/sftp-setup.lock; echo 1 > /run/lock/sftp-setup-camera.lock'],
    ['a FIFO', 'rm -f /run/lock/sftp-setup*; mkfifo /run/lock/sftp-setup.lock /run/lock/sftp-setup-camera.lock'],
    ['a symlink to a root file', 'rm -f /run/lock/sftp-setup*; ln -s /etc/shadow /run/lock/sftp-setup.lock; ln -s /etc/shadow /run/lock/sftp-setup-camera.lock'],
  ];
  for (const [what, script] of plants) {
    it(`${what} at the old path in /run/lock: init, keys add, doctor --fix and uninstall ignore it and complete`, async () => {
      await host.sh(script, { user: 'mallory' });
      const before = await planted();
      expect(before).toMatch(/mallory/);
      const shadow = await host.sh('stat -c "%U %a %s" /etc/shadow; sha256sum /etc/shadow');
      for (const args of [
        ['init', '--yes', '--no-verify', '--key', key],
        ['keys', 'add', '--user', USER, key, '--from', '10.9.0.0/16'],
        ['doctor', '--fix', '--no-probe'],
        ['uninstall', '--yes', '--user', USER],
      ]) {
        const r = await cli(host, args, T);
        expect(r.exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stderr).not.toMatch(/another sftp-setup run|lock/);
      }
      // What the user planted is still theirs, untouched; root's files behind the links too.
      expect(await planted()).toBe(before);
      expect(await host.sh('stat -c "%U %a %s" /etc/shadow; sha256sum /etc/shadow')).toBe(shadow);
      expect(await host.sh('ls -A /run/sftp-setup')).not.toMatch(/^lock$/m);
    }, 180_000);
  }

  it('a local user cannot reach the new lock: /run/sftp-setup is root-owned and not writable by others', async () => {
    await cli(host, ['init', '--yes', '--no-verify', '--key', key], T);
    expect(await host.sh('stat -c "%U:%G %a" /run/sftp-setup')).toBe('root:root 755\n');
    const r = await host.run(['sh', '-c', 'echo 1 > /run/sftp-setup/lock'], { user: 'mallory' });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  const garbage: Array<[string, string]> = [
    ['garbage', "printf 'not a pid\\n' > /run/sftp-setup/lock"],
    ['pid 1', 'echo 1 > /run/sftp-setup/lock'],
    ['the pid of a live process that is not sftp-setup', 'sleep 600 >/dev/null 2>&1 & echo $! > /run/sftp-setup/lock'],
    ['the pid of a process that is gone', 'sh -c "echo \\$\\$ > /run/sftp-setup/lock"'],
    ['a huge file', 'head -c 1000000 /dev/zero > /run/sftp-setup/lock'],
  ];
  for (const [what, script] of garbage) {
    it(`a lock file of root's at the new path holding ${what} does not block: taken over, then removed`, async () => {
      await host.sh(`mkdir -p /run/sftp-setup; ${script}`);
      const r = await cli(host, ['keys', 'add', '--user', USER, key, '--from', '10.8.0.0/16'], T);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(await host.sh('ls -A /run/sftp-setup')).not.toMatch(/^lock$/m);
    }, 60_000);
  }

  const refused: Array<[string, string, RegExp]> = [
    ['a FIFO', 'mkfifo /run/sftp-setup/lock', /it is a FIFO, not a regular file/],
    ['a symlink', 'ln -s /etc/shadow /run/sftp-setup/lock', /symbolic link/],
    ['a directory', 'mkdir /run/sftp-setup/lock', /directory/],
    ['a file owned by another user', 'echo 1 > /run/sftp-setup/lock; chown mallory /run/sftp-setup/lock', /owned by uid \d+/],
    ['a file with a second hard link', 'echo 1 > /run/sftp-setup/lock; ln /run/sftp-setup/lock /run/sftp-setup/lock2', /2 hard links/],
  ];
  for (const [what, script, why] of refused) {
    it(`${what} at the new path: refused at once, one line naming the path and the fix, nothing changed`, async () => {
      await host.sh(`mkdir -p /run/sftp-setup; ${script}`);
      const snap = () => host.sh(`find /etc/ssh ${ROOT} /run/sftp-setup -printf "%y %u %m %s %p\\n" | sort; sha256sum /etc/shadow`);
      const before = await snap();
      const r = await cli(host, ['keys', 'add', '--user', USER, key, '--from', '10.7.0.0/16'], T);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/will not use the lock \/run\/sftp-setup\/lock: /);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toMatch(/fix: remove it \(rm \/run\/sftp-setup\/lock\)/);
      expect(await snap()).toBe(before);
      await host.sh('rm -rf /run/sftp-setup/lock /run/sftp-setup/lock2');
    }, 60_000);
  }

  it('a lock directory others can write is refused with the fix, then works once fixed', async () => {
    await host.sh('mkdir -p /run/sftp-setup; chmod 0777 /run/sftp-setup');
    const r = await cli(host, ['keys', 'add', '--user', USER, key, '--from', '10.6.0.0/16'], T);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/will not keep the lock in \/run\/sftp-setup: it is writable by group or others \(mode 0777\)/);
    expect(r.stderr).toMatch(/chmod go-w \/run\/sftp-setup/);
    await host.sh('chmod 0755 /run/sftp-setup');
    expect((await cli(host, ['keys', 'add', '--user', USER, key, '--from', '10.6.0.0/16'], T)).exitCode).toBe(0);
  }, 60_000);

  it("a killed run's scratch directories in /run go with the next run; a link or another user's directory at such a name stays, and nothing behind a link is touched", async () => {
    const plant = (kind: string) => [
      `mkdir /run/sftp-setup-${kind}-stale`, `ln -s /root/victim /run/sftp-setup-${kind}-stale/dir`,
      `ln -s /root/victim /run/sftp-setup-${kind}-link`,
      `mkdir /run/sftp-setup-${kind}-foreign`, `echo theirs > /run/sftp-setup-${kind}-foreign/f`, `chown -R mallory /run/sftp-setup-${kind}-foreign`,
    ].join(' && ');
    const left = () => host.sh('ls -d /run/sftp-setup-candidate-* /run/sftp-setup-probe-* 2>/dev/null; cat /root/victim/file /run/sftp-setup-*-foreign/f 2>/dev/null; true');
    await host.sh(`mkdir -p /root/victim && echo keep > /root/victim/file && ${plant('candidate')} && ${plant('probe')}`);
    // init sweeps both kinds (with the probe's leftovers), uninstall the candidates.
    const init = await cli(host, ['init', '--yes', '--no-verify', '--key', key], T);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    const kept = '/run/sftp-setup-candidate-foreign\n/run/sftp-setup-candidate-link\n/run/sftp-setup-probe-foreign\n/run/sftp-setup-probe-link\nkeep\ntheirs\ntheirs\n';
    expect(await left()).toBe(kept);
    await host.sh(`mkdir /run/sftp-setup-candidate-stale && ln -s /root/victim /run/sftp-setup-candidate-stale/dir`);
    const un = await cli(host, ['uninstall', '--yes', '--user', USER], T);
    expect(un.exitCode, un.stdout + un.stderr).toBe(0);
    expect(await left()).toBe(kept);
    await host.sh('rm -rf /run/sftp-setup-*-link /run/sftp-setup-*-foreign /root/victim');
  }, 120_000);

  it("a live run's scratch directory stays through init and uninstall (doctor takes no lock); a dead run's goes", async () => {
    // A live pid (a process that outlives the commands) and a dead one (a shell that has exited).
    const live = (await host.sh('setsid sleep 120 > /dev/null 2>&1 < /dev/null & echo $!')).trim();
    const dead = (await host.sh('sh -c \'echo $$\'')).trim();
    const dirs = (pid: string) => ['probe', 'candidate'].map((k) => `/run/sftp-setup-${k}-${pid}-AbCdEf`);
    await host.sh(`mkdir ${[...dirs(live), ...dirs(dead)].join(' ')} && touch ${dirs(live).map((d) => `${d}/key`).join(' ')}`);
    const left = () => host.sh('ls -d /run/sftp-setup-candidate-* /run/sftp-setup-probe-* 2>/dev/null; true');
    try {
      const init = await cli(host, ['init', '--yes', '--no-verify', '--key', key], T);
      expect(init.exitCode, init.stdout + init.stderr).toBe(0);
      expect(await left()).toBe(`${[...dirs(live)].sort().join('\n')}\n`);
      await host.sh(`mkdir ${dirs(dead).join(' ')}`);
      const un = await cli(host, ['uninstall', '--yes', '--user', USER], T);
      expect(un.exitCode, un.stdout + un.stderr).toBe(0);
      // uninstall sweeps the candidates only.
      expect(await left()).toBe(`${[...dirs(live), `/run/sftp-setup-probe-${dead}-AbCdEf`].sort().join('\n')}\n`);
      expect(await host.sh(`ls ${dirs(live)[0]}`)).toBe('key\n');
    } finally {
      await host.sh(`kill ${live}; rm -rf ${[...dirs(live), ...dirs(dead)].join(' ')}`);
    }
  }, 120_000);
});

describe('the camera lock cannot be hijacked by a local user', () => {
  let pair: Pair | undefined;
  afterAll(async () => {
    await pair?.destroy();
  });

  it('allsky-config as the Allsky owner and as root ignore what a local user planted at the old /run/lock name', async () => {
    pair = await startPair();
    const p = pair;
    await Promise.all([
      installAllsky(p.camera, 'current'),
      cli(p.collector, ['init', '--yes', '--no-verify']).then((r) => expect(r.exitCode, r.stderr).toBe(0)),
    ]);
    await p.camera.sh('useradd -m -s /bin/sh mallory');
    await p.camera.sh('mkfifo /run/lock/sftp-setup-camera.lock; ln -s /etc/shadow /run/lock/sftp-setup.lock', { user: 'mallory' });
    const hostKey = await hostKeyFingerprint(p.collector);
    const args = ['allsky-config', '--collector', 'collector', '--host-key', hostKey, '--yes', '--no-test'];
    for (const user of ['pi', 'root']) {
      const r = await cli(p.camera, args, { user, ...T });
      expect(r.exitCode, `${user}: ${r.stdout}${r.stderr}`).toBe(0);
    }
    // pi's lock lives in a directory of its own, root's in root's; neither is left behind
    expect(await p.camera.sh('stat -c "%U %a %n" /home/pi/.cache/sftp-setup /run/sftp-setup; ls -A /home/pi/.cache/sftp-setup /run/sftp-setup')).toBe(
      'pi 700 /home/pi/.cache/sftp-setup\nroot 755 /run/sftp-setup\n/home/pi/.cache/sftp-setup:\n\n/run/sftp-setup:\n',
    );
    expect(await p.camera.sh('stat -c "%U %F" /run/lock/sftp-setup-camera.lock /run/lock/sftp-setup.lock')).toBe('mallory fifo\nmallory symbolic link\n');
  }, 180_000);
});

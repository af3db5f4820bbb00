/**
 * Issue 12, "commands queue": a second changing run waits for the lock of a live sftp-setup run (one line
 * on stderr, bounded by --wait), then runs; only an exceeded bound fails. A fleet rollout (cameras running
 * `keys add` over --via at the same moment) and parallel inits all land.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, CLI, collectorHost, holdCollectorLock, KEYS_DIR, KEYS_FILE, makeKey, ROOT, USER } from './helpers.js';

let host: ThrowawayHost;
const figures = { keysAddWaited: 0, initWaited: 0 };
const WAITING = /^sftp-setup: waiting for the sftp-setup run with pid \d+ \(holding the lock since \d\d:\d\d:\d\d\) to finish; up to \d+ s \(--wait\)$/m;

/** A stand-in for a long sftp-setup run holding the collector lock (helpers.ts); its pid. */
async function holdLock(): Promise<string> {
  const pid = await holdCollectorLock(host);
  expect(pid).toMatch(/^\d+$/);
  return pid;
}

const snap = () => host.sh(`find /etc/ssh /etc/passwd /etc/shadow ${ROOT} -printf "%y %u %m %s %p\\n" | sort; sha256sum /etc/ssh/sshd_config ${KEYS_DIR}/* /etc/shadow`);

describe('commands queue for the lock', () => {
  beforeAll(async () => {
    host = await collectorHost('queue');
    const r = await cli(host, ['init', '--yes', '--no-verify']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
  afterAll(async () => {
    console.log(`[lock-queue] parallel keys add that waited: ${figures.keysAddWaited}/8, parallel init that waited: ${figures.initWaited}/5`);
    await host?.destroy();
  });

  it('8 parallel keys add with different keys (a fleet rollout): all exit 0 and all 8 keys are in the keys file', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, (_, i) => makeKey(host, `/root/fleet-${i}`)));
    const runs = await Promise.all(keys.map((k) => cli(host, ['keys', 'add', '--user', USER, k])));
    for (const r of runs) expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const r of runs) {
      // a run that waited says so once, and nothing else on stderr
      if (WAITING.test(r.stderr)) figures.keysAddWaited++;
      expect(r.stderr.replace(WAITING, '').trim()).toBe('');
    }
    const file = await host.sh(`cat ${KEYS_FILE}`);
    for (const k of keys) expect(file).toContain(k.split(' ')[1]!);
    expect(file.split('\n').filter((l) => l.includes('ssh-ed25519'))).toHaveLength(8);
    await host.sh('/usr/sbin/sshd -t');
    expect(await host.sh('ls -A /run/sftp-setup')).not.toMatch(/^lock$/m);
  }, 180_000);

  it('5 parallel init of different accounts: all succeed, each account works', async () => {
    const users = ['q-a', 'q-b', 'q-c', 'q-d', 'q-e'];
    const runs = await Promise.all(users.map((u) => cli(host, ['init', '--yes', '--user', u, '--root', `/srv/${u}`])));
    for (const r of runs) expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    figures.initWaited = runs.filter((r) => WAITING.test(r.stderr)).length;
    await host.sh('/usr/sbin/sshd -t');
    for (const u of users) {
      const again = await cli(host, ['init', '--yes', '--no-verify', '--user', u, '--root', `/srv/${u}`]);
      expect(again.stdout).toMatch(/nothing changed/);
    }
  }, 300_000);

  it('--wait 0 with the lock held: exit 1 at once, one line naming the pid and --wait, nothing changed', async () => {
    const pid = await holdLock();
    try {
      const before = await snap();
      const key = await makeKey(host, '/root/w0');
      const r = await cli(host, ['keys', 'add', '--wait', '0', '--user', USER, key]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`another sftp-setup run \\(pid ${pid}\\) is changing this host \\(--wait 0: not waiting\\)`));
      expect(r.stderr).not.toMatch(/waiting for/);
      expect(await snap()).toBe(before);
      // init too, and uninstall: the same
      for (const args of [['init', '--yes', '--no-verify', '--wait', '0'], ['uninstall', '--yes', '--user', 'q-a', '--wait', '0'], ['doctor', '--fix', '--no-probe', '--wait', '0']]) {
        const x = await cli(host, args);
        expect(x.exitCode, `${args.join(' ')}: ${x.stdout}${x.stderr}`).toBe(1);
        // doctor --fix reports each account's fix in its report (stdout), the others as their one error line
        expect(args[0] === 'doctor' ? x.stdout : x.stderr).toMatch(new RegExp(`pid ${pid}\\) is changing this host \\(--wait 0`));
      }
      expect(await snap()).toBe(before);
    } finally {
      await host.sh(`kill ${pid}; rm -f /run/sftp-setup/lock`);
    }
  }, 120_000);

  it('--wait 1 with the lock held longer: waits, says so once, then fails naming the pid and --wait; nothing changed', async () => {
    const pid = await holdLock();
    try {
      const before = await snap();
      const key = await makeKey(host, '/root/w1');
      const r = await cli(host, ['keys', 'add', '--user', USER, key, '--wait', '1']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(WAITING);
      expect(lines[0]).toMatch(new RegExp(`pid ${pid} .*up to 1 s \\(--wait\\)$`));
      expect(lines[1]).toMatch(new RegExp(`another sftp-setup run \\(pid ${pid}\\) is still changing this host after 1 s \\(--wait 1\\)`));
      expect(await snap()).toBe(before);
    } finally {
      await host.sh(`kill ${pid}; rm -f /run/sftp-setup/lock`);
    }
  }, 120_000);

  for (const [how, release] of [
    ['finishes (removes the lock)', 'rm -f /run/sftp-setup/lock; kill $holder'],
    ['dies (its lock stays behind, stale)', 'kill -9 $holder'],
  ] as const) {
    it(`a run that finds the lock held waits, and runs once the holder ${how}`, async () => {
      const holder = await holdLock();
      const key = await makeKey(host, `/root/wq-${how.length}`);
      // The waiter in the background; the holder lets go only once the waiter has said that it waits.
      // Files of this case only, made empty before the waiter starts: the previous case's "waiting for" line
      // must not let the holder go before this waiter has looked (under load that race let it run unwaited).
      const err = `/tmp/wq-${how.length}.err`;
      const script =
        `holder=${holder}; : > ${err}; node ${CLI} keys add --user ${USER} '${key}' >/dev/null 2>>${err} & w=$!;` +
        ` until grep -q 'waiting for' ${err}; do kill -0 $w 2>/dev/null || break; sleep 0.05; done; ${release};` +
        ` wait $w; echo "exit $?"; cat ${err}`;
      const out = await host.sh(script);
      expect(out).toMatch(/^exit 0$/m);
      expect(out).toMatch(new RegExp(`waiting for the sftp-setup run with pid ${holder} `));
      expect(out.match(/waiting for/g)).toHaveLength(1);
      expect(await host.sh(`cat ${KEYS_FILE}`)).toContain(key.split(' ')[1]!);
      expect(await host.sh('ls -A /run/sftp-setup')).not.toMatch(/^lock$/m);
    }, 120_000);
  }
});

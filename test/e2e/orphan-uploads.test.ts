/**
 * A removed account's uploads reused as --root. uninstall without --purge keeps the tree, owned by the
 * retired uid (uid-reuse.test.ts: no new account gets that uid). init of another account over it would make
 * the upload directories the new account's, and the new camera could list, rename and remove the old
 * camera's files: init refuses (exit 2, nothing changed) unless --take-over-uploads, which gives the uploads
 * to the new account (shown in the dry run, rolled back on failure). What the old uploader left is hostile:
 * a link to /etc, a hard link to a file outside the tree, a FIFO, names with terminal sequences, a deep tree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, makeKey, sftpAs, snapshot, TEST_KEY, withoutShadowBackups } from './helpers.js';

let host: ThrowawayHost;
let key: string;

const sftp = (user: string, ...commands: string[]) => sftpAs(host, { key: TEST_KEY, user, target: '127.0.0.1' }, commands.join('\n'));
const uidOf = async (user: string) => Number((await host.sh(`id -u ${user}`)).trim());
const exists = async (user: string) => (await host.run(['getent', 'passwd', user])).exitCode === 0;
const init = (user: string, root: string, ...extra: string[]) => cli(host, ['init', '--yes', '--no-verify', '--user', user, '--root', root, '--key', key, ...extra]);
const initOk = async (user: string, root: string, ...extra: string[]) => {
  const r = await init(user, root, ...extra);
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  return r;
};
/** Contents, owners, modes and times; /etc without the shadow tools' own "-" copies and directory sizes. */
const state = async (root: string) => withoutShadowBackups(await snapshot(host, ['/etc', root, '/var/lib/sftp-setup']));
/** Owner (numeric) and type of every entry below root, sorted: what a take-over changes. */
const owners = (root: string) => host.sh(`find ${root} -mindepth 1 -printf '%y %U:%G %P\\n' | sort -k3`);

/** An account that uploaded into `root`, then was uninstalled without --purge: its uid, now retired. */
async function leftBehind(user: string, root: string): Promise<number> {
  await initOk(user, root);
  const up = await sftp(user, 'put /root/a.jpg /images/a.jpg', 'mkdir /images/20250601', 'put /root/a.jpg /images/20250601/b.jpg');
  expect(up.exitCode, up.stderr).toBe(0);
  const uid = await uidOf(user);
  const u = await cli(host, ['uninstall', '--yes', '--user', user]);
  expect(u.exitCode, u.stdout + u.stderr).toBe(0);
  expect(u.stdout).toContain('init --take-over-uploads gives them to a new account');
  return uid;
}

describe('a removed account\'s uploads are not handed to a new account', () => {
  beforeAll(async () => {
    host = await collectorHost('orphan');
    key = await makeKey(host, TEST_KEY);
    await host.sh('echo camera-a image > /root/a.jpg; echo camera-b image > /root/b.jpg');
  });
  afterAll(async () => {
    await host?.destroy();
  });

  it('init B over A\'s kept tree is refused with exit 2 and changes nothing; so is a new account of A\'s name', async () => {
    const uidA = await leftBehind('cam-a', '/srv/a');
    const before = await state('/srv/a');
    for (const args of [['--dry-run'], []]) {
      for (const user of ['cam-b', 'cam-a']) {
        const r = await cli(host, ['init', '--yes', '--no-verify', '--user', user, '--root', '/srv/a', '--key', key, ...args]);
        expect(r.exitCode, r.stdout + r.stderr).toBe(2);
        expect(r.stderr.trim().split('\n')).toEqual([
          `sftp-setup: error: --root /srv/a holds 3 uploads owned by uid ${uidA}, which no account has (left by cam-a, removed by uninstall); ` +
          `${user} would get their directories — fix: choose another --root, or move them away first; to give them to ${user} instead, run again with --take-over-uploads`,
        ]);
        expect(await exists(user)).toBe(false);
      }
    }
    expect(await state('/srv/a')).toBe(before);
  }, 120_000);

  it('B with a fresh root works, and its re-runs over its own uploads stay idempotent', async () => {
    await initOk('cam-b', '/srv/b');
    expect((await sftp('cam-b', 'put /root/b.jpg /images/b.jpg', 'mkdir /images/20250602', 'put /root/b.jpg /images/20250602/b.jpg')).exitCode).toBe(0);
    const before = await state('/srv/b');
    const again = await initOk('cam-b', '/srv/b');
    expect(again.stdout).toMatch(/Already set up: nothing changed\./);
    expect(await state('/srv/b')).toBe(before);
    // Entries of an account that exists are not this rule's; another account's tree is refused as before
    // (its home and chroot: root-rules.ts)
    await host.sh('mkdir -p /srv/n/images && echo x > /srv/n/images/nobody.jpg && chown nobody: /srv/n/images/nobody.jpg');
    await initOk('cam-n', '/srv/n');
    expect(await host.sh('stat -c %U /srv/n/images/nobody.jpg')).toBe('nobody\n');
    const shared = await init('cam-x', '/srv/b');
    expect(shared.exitCode).toBe(2);
    expect(shared.stderr).toMatch(/--root \/srv\/b: \/srv\/b is the home directory of the account cam-b/);
  }, 120_000);

  it('--take-over-uploads: shown in the dry run, gives the uploads to the new account, and stays converged', async () => {
    const uidC = await leftBehind('cam-c', '/srv/c');
    const before = await state('/srv/c');
    const dry = await init('cam-d', '/srv/c', '--take-over-uploads', '--dry-run');
    expect(dry.exitCode, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`would +uploads in /srv/c that no account owns given to cam-d \\(--take-over-uploads\\) — give 3 entries owned by uid ${uidC} \\(no account now\\) to cam-d`));
    expect(dry.stdout).toContain(`-${uidC}:${uidC} images/20250601/b.jpg`);
    expect(dry.stdout).toContain('+cam-d:cam-d images/20250601/b.jpg');
    expect(await state('/srv/c')).toBe(before);

    await initOk('cam-d', '/srv/c', '--take-over-uploads');
    const uidD = await uidOf('cam-d');
    expect(uidD).not.toBe(uidC);
    expect(await owners('/srv/c')).not.toContain(`${uidC}:`);
    expect(await host.sh('stat -c %U:%G /srv/c/images/a.jpg /srv/c/images/20250601 /srv/c/images/20250601/b.jpg')).toBe('cam-d:cam-d\n'.repeat(3));
    // The new camera owns them now: Allsky's rm -f and mv work on them
    expect((await sftp('cam-d', 'rename /images/a.jpg /images/a-old.jpg', 'rm /images/20250601/b.jpg')).exitCode).toBe(0);
    // Converged: again with the flag, and without it, nothing changes
    for (const extra of [['--take-over-uploads'], []]) expect((await initOk('cam-d', '/srv/c', ...extra)).stdout).toMatch(/Already set up: nothing changed\./);
  }, 120_000);

  it('--take-over-uploads that fails later is rolled back: every owner, the account, /etc as before', async () => {
    await leftBehind('cam-e', '/srv/e');
    const before = await snapshot(host, ['/etc', '/srv/e', '/var/lib/sftp-setup'], { mtime: false }).then(withoutShadowBackups);
    const ownersBefore = await owners('/srv/e');
    // mount(8) refusing the remount of --protect-mount, the run's last step: everything before it is undone
    await host.sh(`mkdir -p /tmp/failbin && printf '#!/bin/sh\\ncase "$*" in *remount*) echo "mount: refused" >&2; exit 32;; esac\\nexec /usr/bin/mount "$@"\\n' > /tmp/failbin/mount && chmod 755 /tmp/failbin/mount`);
    const r = await cli(host, ['init', '--yes', '--no-verify', '--user', 'cam-f', '--root', '/srv/e', '--key', key, '--take-over-uploads', '--protect-mount'],
      { env: { PATH: `/tmp/failbin:${process.env.PATH}` } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/changed +uploads in \/srv\/e that no account owns given to cam-f \(--take-over-uploads\) — give 3 entries/);
    expect(r.stdout, r.stderr).toMatch(/Every change of this run was rolled back/);
    expect(await owners('/srv/e')).toBe(ownersBefore);
    expect(await exists('cam-f')).toBe(false);
    expect(await snapshot(host, ['/etc', '/srv/e', '/var/lib/sftp-setup'], { mtime: false }).then(withoutShadowBackups)).toBe(before);
  }, 120_000);

  it('hostile leftovers: a link to /etc, a hard link to a file outside the tree, a FIFO, escape sequences, a deep tree: never followed, never printed raw', async () => {
    const uidG = await leftBehind('cam-g', '/srv/g');
    const hostile = 'x\n\u001b]0;pwned\u0007\u009b2J.jpg';
    // What the old account could leave (made here as root, then given its uid without following links)
    const name = `'${hostile}'`;
    await host.sh(`cd /srv/g/images && ln -s /etc etc && ln -s /etc/shadow shadow && mkfifo fifo && echo outside > /srv/outside &&` +
      ` ln /srv/outside hard && printf x > ${name} && chown -h ${uidG}:${uidG} etc shadow fifo hard ${name}`);
    const etcBefore = await host.sh('stat -c "%u:%g %a" /etc /etc/shadow /etc/passwd');
    const before = await state('/srv/g');
    const refused = await init('cam-h', '/srv/g');
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(2);
    // a.jpg, 20250601, b.jpg, and the 5 planted: counted as entries, never followed into /etc
    expect(refused.stderr).toMatch(new RegExp(`--root /srv/g holds 8 uploads owned by uid ${uidG}, which no account has`));
    expect(await state('/srv/g')).toBe(before);

    const dry = await init('cam-h', '/srv/g', '--take-over-uploads', '--dry-run');
    expect(dry.exitCode, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout + dry.stderr).not.toMatch(/[\u0007\u001b\u009b\r]/);
    expect(dry.stdout).toContain('images/x\\n\\u001b]0;pwned\\u0007\\u{9b}2J.jpg');
    expect(dry.stdout).toMatch(/give 4 entries owned by uid \d+ \(no account now\) to cam-h; 4 links, hard links or special files left as they are/);
    expect(await state('/srv/g')).toBe(before);

    await initOk('cam-h', '/srv/g', '--take-over-uploads');
    expect(await host.sh('stat -c "%u:%g %a" /etc /etc/shadow /etc/passwd')).toBe(etcBefore);
    expect(await host.sh('stat -c %u /srv/outside')).toBe(`${uidG}\n`);
    const left = await host.sh(`find /srv/g -mindepth 1 -uid ${uidG} -printf '%y %P\\n' | sort`);
    expect(left).toBe('f images/hard\nl images/etc\nl images/shadow\np images/fifo\n');

    // A tree deeper than one run can look at: without the flag refused for its uploads, with it as too large
    await leftBehind('cam-i', '/srv/i');
    await host.sh('mkdir -p /srv/i/images/1/2/3/4/5/6/7/8/9 && chown -R --reference=/srv/i/images/a.jpg /srv/i/images/1');
    const deep = await state('/srv/i');
    expect((await init('cam-j', '/srv/i')).exitCode).toBe(2);
    const tooDeep = await init('cam-j', '/srv/i', '--take-over-uploads');
    expect(tooDeep.exitCode).toBe(2);
    expect(tooDeep.stderr).toMatch(/--take-over-uploads: --root \/srv\/i holds more than 100000 entries or more than 8 levels/);
    expect(await state('/srv/i')).toBe(deep);
  }, 180_000);
});

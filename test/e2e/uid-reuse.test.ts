/**
 * Issue 12, "no uid reuse onto old uploads": uninstall without --purge leaves the uploads owned by the
 * removed uid; a new account never gets a uid that owns files there, so it can neither read nor change
 * them. Covered: the record uninstall writes, an account deleted by hand (its Match block names the tree),
 * and a tree left by an older version (no record) reused as --root with --take-over-uploads (without it
 * init refuses: orphan-uploads.test.ts), with links and a FIFO in it (the scan of upload roots only looks at
 * entries, never through them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, makeKey, ROOT, sftpAs, TEST_KEY } from './helpers.js';

let host: ThrowawayHost;
let key: string;

/** An sftp batch as `user` over loopback; each command on its own line (a failing one ends the batch). */
const sftp = (user: string, ...commands: string[]) => sftpAs(host, { key: TEST_KEY, user, target: '127.0.0.1' }, commands.join('\n'));
const ids = async (user: string) => (await host.sh(`echo $(id -u ${user}) $(id -g ${user})`)).trim().split(' ').map(Number) as [number, number];
const init = async (user: string, root?: string, ...extra: string[]) => {
  const r = await cli(host, ['init', '--yes', '--no-verify', '--user', user, ...(root ? ['--root', root] : []), '--key', key, ...extra]);
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  return r;
};
/** Entries under `root` owned by this uid or gid. */
const ownedBy = (root: string, uid: number, gid: number) => host.sh(`find ${root} \\( -uid ${uid} -o -gid ${gid} \\) -printf '%p\\n'`);

describe('a new account never gets the uid of uploads left behind', () => {
  beforeAll(async () => {
    host = await collectorHost('uid');
    key = await makeKey(host, TEST_KEY);
    await host.sh('echo camera-a image > /root/a.jpg; echo from b > /root/b.jpg');
  });
  afterAll(async () => {
    await host?.destroy();
  });

  it('init A, upload, uninstall A (no purge), init B: B gets another uid and cannot read or change A\'s files', async () => {
    await init('cam-a');
    expect((await sftp('cam-a', 'put /root/a.jpg /images/a.jpg')).exitCode).toBe(0);
    const [uidA, gidA] = await ids('cam-a');
    const u = await cli(host, ['uninstall', '--yes', '--user', 'cam-a']);
    expect(u.exitCode, u.stdout + u.stderr).toBe(0);
    expect(u.stdout).toContain(`Uploaded files stay in /var/lib/allsky-uploads, owned by uid ${uidA} (no account now); --purge deletes them, init --take-over-uploads gives them to a new account.`);
    // The record: root's, not writable by others, naming the uid
    expect(await host.sh('stat -c "%U:%G %a" /var/lib/sftp-setup /var/lib/sftp-setup/retired-uids')).toBe('root:root 755\nroot:root 644\n');
    expect(await host.sh('cat /var/lib/sftp-setup/retired-uids')).toContain(`"uid":${uidA},"gid":${gidA},"user":"cam-a","root":"/var/lib/allsky-uploads"`);
    const tree = () => host.sh(`find ${ROOT} -printf "%y %U:%G %m %s %p\\n" | sort; sha256sum ${ROOT}/images/a.jpg`);
    const before = await tree();

    // A dry run already names the uid it would use
    const dry = await cli(host, ['init', '--dry-run', '--user', 'cam-b', '--root', '/srv/cam-b', '--key', key]);
    const planned = /create system account cam-b \(uid (\d+), owning no uploads left behind\)/.exec(dry.stdout)?.[1];
    expect(planned, dry.stdout).toBeDefined();
    await init('cam-b', '/srv/cam-b');
    const [uidB, gidB] = await ids('cam-b');
    expect(uidB).toBe(Number(planned));
    expect(uidB).not.toBe(uidA);
    expect(gidB).not.toBe(gidA);
    expect(await ownedBy(ROOT, uidB, gidB)).toBe('');

    // Through its chroot B sees only its own tree: A's file can be neither read nor overwritten
    const get = await sftp('cam-b', `get ${ROOT}/images/a.jpg /tmp/stolen.jpg`);
    expect(get.exitCode).not.toBe(0);
    expect((await host.run(['test', '-e', '/tmp/stolen.jpg'])).exitCode).toBe(1);
    const ls = await sftp('cam-b', 'ls -1 /images');
    expect(ls.stdout).not.toMatch(/a\.jpg/);
    expect((await sftp('cam-b', `put /root/b.jpg ${ROOT}/images/a.jpg`)).exitCode).not.toBe(0);
    expect((await sftp('cam-b', 'put /root/b.jpg /images/a.jpg')).exitCode).toBe(0);
    expect(await tree()).toBe(before);
    // Nor as the uid itself outside the chroot (what "owning" would mean): B's uid cannot write there
    expect((await host.run(['sh', '-c', `echo x >> ${ROOT}/images/a.jpg`], { user: 'cam-b' })).exitCode).not.toBe(0);
  }, 120_000);

  it('an account deleted by hand (its Match block stays): the next account does not get its uid', async () => {
    await init('cam-c', '/srv/cam-c');
    expect((await sftp('cam-c', 'put /root/a.jpg /images/c.jpg')).exitCode).toBe(0);
    const [uidC, gidC] = await ids('cam-c');
    // sshd's session for that upload may still be ending: userdel refuses a user with a live process.
    await host.sh('for i in $(seq 200); do pgrep -u cam-c >/dev/null || break; sleep 0.05; done; userdel cam-c');
    await init('cam-d', '/srv/cam-d');
    const [uidD, gidD] = await ids('cam-d');
    expect(uidD).not.toBe(uidC);
    expect(await ownedBy('/srv/cam-c', uidD, gidD)).toBe('');
    expect(await ownedBy('/srv/cam-c', uidC, gidC)).toMatch(/\/srv\/cam-c\/images\/c\.jpg/);
  }, 120_000);

  it('a tree left without a record (an older version) reused as --root: the new account does not get its owner', async () => {
    await init('cam-e', '/srv/cam-e');
    expect((await sftp('cam-e', 'put /root/a.jpg /images/e.jpg')).exitCode).toBe(0);
    const [uidE, gidE] = await ids('cam-e');
    expect((await cli(host, ['uninstall', '--yes', '--user', 'cam-e'])).exitCode).toBe(0);
    await host.sh('rm /var/lib/sftp-setup/retired-uids');
    // Its uploads would become the new account's to rename and remove: refused, without the record too
    const refused = await cli(host, ['init', '--dry-run', '--user', 'cam-f', '--root', '/srv/cam-e', '--key', key]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`--root /srv/cam-e holds 1 upload owned by uid ${uidE}, which no account has (a removed account's)`);
    // What the old uploader left is hostile: a FIFO, and a link to a directory owned by the very uid init
    // plans to use. The scan looks at entries (lstat), never through them: the link does not change the choice.
    const dry = await cli(host, ['init', '--dry-run', '--user', 'cam-f', '--root', '/srv/cam-e', '--key', key, '--take-over-uploads']);
    const planned = Number(/create system account cam-f \(uid (\d+),/.exec(dry.stdout)?.[1]);
    expect(planned).toBeGreaterThan(0);
    expect(planned).not.toBe(uidE);
    await host.sh(`mkdir /var/tmp/planned; chown ${planned}:${planned} /var/tmp/planned; cd /srv/cam-e/images;` +
      ` ln -s /var/tmp/planned link; mkfifo fifo; chown -h ${uidE}:${gidE} link fifo`);
    await init('cam-f', '/srv/cam-e', '--take-over-uploads');
    const [uidF, gidF] = await ids('cam-f');
    expect(uidF).toBe(planned);
    expect(uidF).not.toBe(uidE);
    expect(gidF).not.toBe(gidE);
    // Taken over as asked; the link and the FIFO are not uploads and stay as they were
    expect(await host.sh(`find /srv/cam-e/images/e.jpg -printf '%U:%G'`)).toBe(`${uidF}:${gidF}`);
    expect(await host.sh(`find /srv/cam-e/images/link /srv/cam-e/images/fifo -printf '%U:%G\\n'`)).toBe(`${uidE}:${gidE}\n`.repeat(2));
  }, 120_000);
});

/**
 * `uninstall` removes exactly what init created (Match block, keys file, account), keeps the uploads unless
 * --purge, and leaves a configuration that sshd accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, destination, dropIn, KEYS_FILE, ROOT, sftpAs, snapshot, sshOptions, startPair, USER, withoutShadowBackups, type Pair } from './helpers.js';

describe('uninstall', () => {
  let p: Pair;
  let etcBefore: string;
  const upload = (user: string, remote: string) => sftpAs(p.camera, { key: '/root/k', user }, `put /root/k.pub ${remote}`);

  beforeAll(async () => {
    p = await startPair();
    await p.camera.sh("ssh-keygen -q -t ed25519 -N '' -C cam -f /root/k");
    etcBefore = withoutShadowBackups(await snapshot(p.collector, ['/etc'], { mtime: false }));
    const pub = (await p.camera.sh('cat /root/k.pub')).trim();
    expect((await cli(p.collector, ['init', '--yes', '--no-verify', '--key', pub])).exitCode).toBe(0);
    expect((await cli(p.collector, ['init', '--yes', '--no-verify', '--user', 'second-upload', '--root', '/srv/second', '--key', pub])).exitCode).toBe(0);
    expect((await upload(USER, '/images/image.jpg')).exitCode).toBe(0);
    expect((await upload('second-upload', '/images/image.jpg')).exitCode).toBe(0);
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('--dry-run lists what it would remove and changes nothing', async () => {
    const before = await snapshot(p.collector, ['/etc', '/var/lib', '/srv']);
    const r = await cli(p.collector, ['uninstall', '--user', USER, '--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/would .*Match block for allsky-upload/);
    expect(r.stdout).toMatch(/-Match User allsky-upload/);
    expect(await snapshot(p.collector, ['/etc', '/var/lib', '/srv'])).toBe(before);
  });

  it('removes the block, the keys file and the account; the uploads stay; sshd -t passes; logins are refused; an open session ends', async () => {
    const uid = (await p.collector.sh(`id -u ${USER}`)).trim();
    // A camera's SFTP session, open before the uninstall (its batch waits on a FIFO nobody writes to).
    const sftp = ['sftp', ...sshOptions({ key: '/root/k' }).argv, '-b', '-', destination()].map((w) => `'${w}'`).join(' ');
    await p.camera.sh(`mkfifo /root/hold && (setsid sleep 300 > /root/hold 2> /dev/null < /dev/null & echo $! > /root/hold.pid)` +
      ` && (setsid ${sftp} < /root/hold > /dev/null 2>&1 & echo $! > /root/sftp.pid)`);
    await p.collector.sh(`for i in $(seq 200); do pgrep -u ${uid} > /dev/null && exit 0; sleep 0.05; done; exit 1`);
    const dry = await cli(p.collector, ['uninstall', '--dry-run', '--user', USER]);
    expect(dry.stdout).toMatch(new RegExp(`^Would end [1-9]\\d* process(es)? of ${USER}'s open upload sessions \\(uid ${uid}\\)\\.$`, 'm'));
    expect((await p.collector.run(['pgrep', '-u', uid])).exitCode).toBe(0);

    const r = await cli(p.collector, ['uninstall', '--yes', '--user', USER]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Ended [1-9]\\d* process(es)? of ${USER}'s open upload sessions \\(uid ${uid}\\): a camera connected before the uninstall can upload no more\\.$`, 'm'));
    // Nothing runs as the old uid on the collector, and the camera's connection is closed (its ssh is gone;
    // sftp itself only notices when it next reads a command).
    expect((await p.collector.run(['pgrep', '-u', uid])).exitCode).toBe(1);
    await p.camera.sh('for i in $(seq 200); do pgrep -x ssh > /dev/null || exit 0; sleep 0.05; done; exit 1');
    await p.camera.sh('kill "$(cat /root/hold.pid)" "$(cat /root/sftp.pid)"; rm -f /root/hold /root/hold.pid /root/sftp.pid');
    expect(r.stdout).toContain(`Uploaded files stay in /var/lib/allsky-uploads, owned by uid ${uid} (no account now); --purge deletes them, init --take-over-uploads gives them to a new account.`);
    expect((await p.collector.run(['sshd', '-t'])).exitCode).toBe(0);
    expect((await p.collector.run(['getent', 'passwd', USER])).exitCode).toBe(2);
    expect((await p.collector.run(['test', '-e', KEYS_FILE])).exitCode).toBe(1);
    expect((await p.collector.run(['test', '-e', dropIn()])).exitCode).toBe(1);
    expect(await p.collector.sh(`ls ${ROOT}/images/image.jpg`)).toBe(`${ROOT}/images/image.jpg\n`);
    const login = await upload(USER, '/images/again.jpg');
    expect(login.exitCode).not.toBe(0);
    // The other account is untouched and still works.
    expect((await upload('second-upload', '/images/still.jpg')).exitCode).toBe(0);
  });

  it('with --purge the chroot and the uploads go too; /etc is as it was before init', async () => {
    const r = await cli(p.collector, ['uninstall', '--yes', '--purge', '--user', 'second-upload']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect((await p.collector.run(['test', '-e', '/srv/second'])).exitCode).toBe(1);
    expect((await p.collector.run(['sshd', '-t'])).exitCode).toBe(0);
    expect(withoutShadowBackups(await snapshot(p.collector, ['/etc'], { mtime: false }))).toBe(etcBefore);
  });

  it('a second uninstall says there is nothing to remove and changes nothing', async () => {
    const before = await snapshot(p.collector, ['/etc', '/var/lib']);
    const r = await cli(p.collector, ['uninstall', '--yes', '--user', USER]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Nothing to remove: there is no upload account allsky-upload made by sftp-setup here/);
    expect(await snapshot(p.collector, ['/etc', '/var/lib'])).toBe(before);
  });
});

/**
 * Issue 6, security suite: what the upload account can do with its real key from the camera, beyond the
 * refusals test/e2e/init.test.ts already proves (shell, command, tty, -L/-R/-D/-W forwards, legacy scp,
 * reading outside the chroot, reading uploads back, writing to the chroot root, replacing its own keys,
 * password login): no symlinks, no hard links, no mode changes by path, no other account's tree, and no new
 * ssh-audit failure on the collector's sshd after init.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, KNOWN_HOSTS, makeKey, pinHostKey, ROOT, sftpAs, startPair, TEST_KEY, USER, type Pair } from './helpers.js';

const KEY2 = '/root/other_key';
const figures: string[] = [];

/** The `[fail]` lines of ssh-audit against the host's own sshd, colours off, sorted, without duplicates. */
async function auditFails(p: Pair): Promise<{ fails: string[]; total: number }> {
  const r = await p.collector.run(['ssh-audit', '-n', '-p', '22', '127.0.0.1'], { timeoutMs: 60_000 });
  const lines = r.stdout.split('\n');
  expect(lines.some((l) => /^\(gen\) banner: SSH-2\.0-OpenSSH/.test(l)), r.stdout + r.stderr).toBe(true);
  const fails = [...new Set(lines.filter((l) => /\[fail\]/.test(l)).map((l) => l.trim()))].sort();
  return { fails, total: lines.length };
}

describe('security of the upload account (allsky profile), from the camera with its real key', () => {
  let p: Pair;
  let auditBefore: string[];
  const sftp = (batch: string, key = TEST_KEY, user = USER) => sftpAs(p.camera, { key, user, knownHosts: KNOWN_HOSTS, timeout: 5 }, batch);
  const onCollector = (script: string) => p.collector.sh(script);

  beforeAll(async () => {
    p = await startPair();
    auditBefore = (await auditFails(p)).fails;
    const pub = await makeKey(p.camera, TEST_KEY);
    const pub2 = await makeKey(p.camera, KEY2);
    const a = await cli(p.collector, ['init', '--yes', '--key', pub]);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    // A second upload account on the same sshd, its own key and tree.
    const b = await cli(p.collector, ['init', '--yes', '--user', 'other-upload', '--root', '/srv/other-upload', '--key', pub2]);
    expect(b.exitCode, b.stdout + b.stderr).toBe(0);
    await pinHostKey(p);
    await p.camera.sh('head -c 5000 /dev/urandom > /tmp/image.jpg');
    await onCollector(`echo secret > /srv/other-upload/images/theirs.jpg && chown other-upload: /srv/other-upload/images/theirs.jpg`);
    const up = await sftp('put /tmp/image.jpg /images/image.jpg');
    expect(up.exitCode, up.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    console.log(`[safety-security]\n${figures.join('\n')}`);
    await p?.destroy();
  });

  it('cannot create symlinks (sftp ln -s), to a file or out of the tree', async () => {
    for (const target of ['/images/image.jpg', '/etc/passwd', '../../../etc/shadow']) {
      const r = await sftp(`ln -s ${target} /images/link`);
      figures.push(`ln -s ${target}: exit ${r.exitCode} ${r.stderr.trim()}`);
      expect(r.exitCode).not.toBe(0);
    }
    expect(await onCollector(`find ${ROOT} -type l`)).toBe('');
  });

  it('cannot create hard links (sftp ln)', async () => {
    const r = await sftp('ln /images/image.jpg /images/hard');
    figures.push(`ln: exit ${r.exitCode} ${r.stderr.trim()}`);
    expect(r.exitCode).not.toBe(0);
    expect(await onCollector(`stat -c %h ${ROOT}/images/image.jpg; ls ${ROOT}/images`)).toBe('1\nimage.jpg\nkeograms\nstartrails\nvideos\n');
  });

  it('cannot change modes by path (chmod: setstat is not in the allow-list), files or directories', async () => {
    const modes = () => onCollector(`stat -c '%a %n' ${ROOT}/images/image.jpg ${ROOT}/images ${ROOT}`);
    const before = await modes();
    expect(before).toBe(`644 ${ROOT}/images/image.jpg\n755 ${ROOT}/images\n755 ${ROOT}\n`);
    for (const t of ['chmod 777 /images/image.jpg', 'chmod 4755 /images/image.jpg', 'chmod 777 /images', 'chmod 700 /images', 'chmod 777 /', 'chown 0 /images/image.jpg']) {
      const r = await sftp(t);
      figures.push(`${t}: exit ${r.exitCode} ${r.stderr.trim()}`);
      expect(r.exitCode, t).not.toBe(0);
    }
    expect(await modes()).toBe(before);
  });

  it('cannot change modes through a handle either (put -p: fsetstat is not in the allow-list)', async () => {
    // fsetstat acts on any handle, a directory opened for reading included: it is refused, and the upload
    // keeps the mode the umask gives, without the set-uid bit or group/other write.
    await p.camera.sh('head -c 100 /dev/urandom > /tmp/modes.jpg && chmod 4777 /tmp/modes.jpg');
    const r = await sftp('put -p /tmp/modes.jpg /images/modes.jpg');
    const mode = (await onCollector(`stat -c %a ${ROOT}/images/modes.jpg 2>/dev/null || echo absent`)).trim();
    figures.push(`put -p of a 4777 file: exit ${r.exitCode}, mode on the collector ${mode}`);
    expect(r.stdout + r.stderr).toMatch(/remote fsetstat: Permission denied/);
    expect(mode).toBe('755');
    const sum = async (h: typeof p.camera, path: string) => (await h.sh(`sha256sum < ${path}`)).trim();
    expect(await sum(p.collector, `${ROOT}/images/modes.jpg`)).toBe(await sum(p.camera, '/tmp/modes.jpg'));
  });

  it("cannot see another upload account's tree", async () => {
    const r = await sftp('ls -1a /\nls /srv\nls /srv/other-upload/images');
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toMatch(/theirs|other-upload/);
    for (const path of ['/srv/other-upload/images/theirs.jpg', '../../srv/other-upload/images/theirs.jpg', `/../../../srv/other-upload/images/theirs.jpg`]) {
      const g = await sftp(`get ${path} /tmp/stolen`);
      expect(g.exitCode).not.toBe(0);
    }
    expect((await p.camera.run(['test', '-e', '/tmp/stolen'])).exitCode).toBe(1);
    // Its key does not open the other account, nor the other way round.
    expect((await sftp('pwd', TEST_KEY, 'other-upload')).exitCode).not.toBe(0);
    expect((await sftp('pwd', KEY2, USER)).exitCode).not.toBe(0);
    expect((await sftp('pwd', KEY2, 'other-upload')).exitCode).toBe(0);
  });

  it('ssh-audit finds no new failure after init', async () => {
    const after = await auditFails(p);
    const added = after.fails.filter((l) => !auditBefore.includes(l));
    figures.push(`ssh-audit [fail] lines: before init ${auditBefore.length}, after ${after.fails.length}, new ${added.length}`);
    expect(added).toEqual([]);
  }, 60_000);
});

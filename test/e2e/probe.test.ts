/**
 * The live probe (init's self-test, doctor's live checks) against a real sshd: every check it makes over its
 * one connection can fail when the account may do what it must not, and whatever the outcome it leaves
 * nothing behind: no file in the tree, no key, no temporary directory, no SSH connection, no changed time.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, makeKey, snapshot } from './helpers.js';
import { collectorHost } from './safety-helpers.js';

const PROBE = fileURLToPath(new URL('../../dist/system/probe.js', import.meta.url));
const DIRS = ['images', 'videos', 'images/videos'];

interface Result { id: string; ok: boolean; detail: string }

describe('the live probe', () => {
  let h: ThrowawayHost;

  /** probeAccount for `user` (its chroot is /srv/<user>), run in the host from the build: id -> result. */
  const probe = async (user: string, profile: 'allsky' | 'dropbox'): Promise<Record<string, Result>> => {
    const hostKey = (await h.sh('cut -d" " -f1,2 /etc/ssh/ssh_host_ed25519_key.pub')).trim();
    const target = JSON.stringify({ user, chroot: `/srv/${user}`, dirs: DIRS, profile, port: 22, addr: '127.0.0.1', hostKeys: [hostKey] });
    const script = `import(${JSON.stringify(PROBE)}).then(async (p) => process.stdout.write(JSON.stringify(await p.probeAccount(${target}))))`;
    const r = await h.run(['node', '--input-type=module', '-e', script]);
    expect(r.exitCode, r.stderr).toBe(0);
    return Object.fromEntries((JSON.parse(r.stdout) as Result[]).map((x) => [x.id, x]));
  };
  const failed = (res: Record<string, Result>) => Object.values(res).filter((x) => !x.ok).map((x) => `${x.id}: ${x.detail}`).sort();
  /** What a probe run must leave as it found it: the trees with their times, the probe keys, /run, processes. */
  const traces = async (user: string) =>
    (await snapshot(h, [`/srv/${user}`])) +
    (await h.sh('ls -A /run/sftp-setup/probe-keys 2>/dev/null; ls /run | grep sftp-setup- || true; pgrep -af "[s]sh .*sftp-setup-probe" || true; find /srv /run /root /tmp -name ".sftp-setup-probe*" 2>/dev/null || true'));
  /** Change the account's Match block (a sed script) and make sshd read it; wait until it answers again. */
  const editBlock = (user: string, sed: string) =>
    h.sh(`sed -i ${JSON.stringify(sed)} /etc/ssh/sshd_config.d/50-sftp-setup-${user}.conf && /usr/sbin/sshd -t && kill -HUP "$(cat /run/sshd.pid)" && sleep 0.1` +
      ' && for i in $(seq 100); do ssh-keyscan -T 2 -t ed25519 127.0.0.1 2>/dev/null | grep -q ssh-ed25519 && exit 0; sleep 0.05; done; exit 1');

  beforeAll(async () => {
    h = await collectorHost('probe');
    const pub = await makeKey(h, '/root/camkey');
    for (const [user, profile] of [['up-allsky', 'allsky'], ['up-drop', 'dropbox']]) {
      const r = await cli(h, ['init', '--yes', '--no-verify', '--user', user!, '--root', `/srv/${user}`, '--dirs', DIRS.join(','), '--profile', profile!, '--key', pub]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('passes every check on what init set up, and leaves nothing behind (the connection is closed)', async () => {
    for (const [user, profile] of [['up-allsky', 'allsky'], ['up-drop', 'dropbox']] as const) {
      const before = await traces(user);
      const res = await probe(user, profile);
      expect(failed(res)).toEqual([]);
      const ids = ['login', 'chroot', 'dirs', 'no-etc', 'root-readonly', 'no-shell', 'no-forward', 'no-read'];
      expect(Object.keys(res)).toEqual(expect.arrayContaining(profile === 'allsky' ? [...ids, 'nothing-outside'] : [...ids, 'no-remove']));
      expect(await traces(user)).toBe(before);
    }
  });

  it('fails "uploaded files cannot be read back" when the allow-list admits read', async () => {
    const before = await traces('up-allsky');
    await editBlock('up-allsky', 's/ -p realpath,/ -p read,realpath,/');
    try {
      expect(failed(await probe('up-allsky', 'allsky'))).toEqual(['no-read: reading a file was allowed']);
    } finally {
      await editBlock('up-allsky', 's/ -p read,realpath,/ -p realpath,/');
    }
    expect(await traces('up-allsky')).toBe(before);
  });

  it('fails "uploaded files cannot be removed" in a drop box that admits remove', async () => {
    await editBlock('up-drop', 's/ -p realpath,/ -p remove,realpath,/');
    try {
      expect(failed(await probe('up-drop', 'dropbox'))).toEqual(['no-remove: removing a file was allowed']);
    } finally {
      await editBlock('up-drop', 's/ -p remove,realpath,/ -p realpath,/');
    }
  });

  it('without the chroot: the host\'s / and /etc are seen, and the uploads go nowhere', async () => {
    const before = await traces('up-allsky');
    await editBlock('up-allsky', '/ChrootDirectory/d');
    try {
      const res = await probe('up-allsky', 'allsky');
      expect(res['no-etc']).toMatchObject({ ok: false, detail: 'listing /etc was allowed' });
      expect(res['chroot']?.ok).toBe(false);
      expect(res['nothing-outside']?.ok).toBe(false);
      expect(res['dir:images']?.ok).toBe(false);
      // Still refused: the host's / is root's.
      expect(res['root-readonly']?.ok).toBe(true);
    } finally {
      await editBlock('up-allsky', `s|^Match User up-allsky$|&\\n    ChrootDirectory /srv/up-allsky|`);
    }
    expect(failed(await probe('up-allsky', 'allsky'))).toEqual([]);
    expect(await traces('up-allsky')).toBe(before);
  });
});

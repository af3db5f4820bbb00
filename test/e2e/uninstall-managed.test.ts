/**
 * Issue 9: `uninstall` acts only on accounts that sftp-setup's own markers (its Match block, its keys file)
 * prove it manages; `--purge` removes only the ChrootDirectory of that block, never following a link out of
 * it; half-removed states still converge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { keysFileFor } from '../../src/collector/layout.js';
import { cli, collectorHost, dropIn, ROOT, snapshot, USER, withoutShadowBackups } from './helpers.js';

const ACCOUNT_FILES = ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'];

describe('uninstall only touches what sftp-setup manages', () => {
  let h: ThrowawayHost;
  const exists = async (p: string) => (await h.run(['test', '-e', p])).exitCode === 0;
  /** The command is refused: exit 2, one line naming the account, and nothing under `paths` changed. */
  const refused = async (args: string[], paths: string[], says: RegExp) => {
    const before = await snapshot(h, paths);
    const r = await cli(h, args);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(says);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.exitCode).toBe(2);
    expect(await snapshot(h, paths)).toBe(before);
  };

  beforeAll(async () => {
    h = await collectorHost('collector');
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('an ordinary login account and its home: refused with exit 2, every file unchanged', async () => {
    await h.sh('useradd -m -s /bin/bash eve && echo "eve\'s notes" > /home/eve/notes.txt && chown eve: /home/eve/notes.txt');
    const paths = [...ACCOUNT_FILES, '/home/eve', '/etc/ssh'];
    for (const extra of [['--purge'], [], ['--purge', '--dry-run']]) {
      await refused(['uninstall', '--yes', '--user', 'eve', ...extra], paths, /eve is not an upload account made by sftp-setup \(sshd has no sftp-setup Match block for it and there is no \/etc\/ssh\/sftp-setup\/authorized_keys\/eve\); nothing was changed/);
    }
    expect(await h.sh('cat /home/eve/notes.txt')).toBe("eve's notes\n");
    expect((await h.run(['getent', 'passwd', 'eve'])).exitCode).toBe(0);
  });

  it('a system account without our markers, and one whose Match block is ours but which is a login account: refused', async () => {
    await h.sh('useradd -r -d /srv/svc -s /usr/sbin/nologin svc && install -d /srv/svc && echo data > /srv/svc/data');
    await refused(['uninstall', '--yes', '--purge', '--user', 'svc'], [...ACCOUNT_FILES, '/srv/svc'], /svc is not an upload account made by sftp-setup/);
    // A drop-in with our name for mallory, but mallory logs in with a shell and lives in /home/mallory.
    await h.sh(`useradd -m -s /bin/bash mallory && printf "Match User mallory\\n    ChrootDirectory /srv/mallory\\n" > ${dropIn('mallory')}`);
    await refused(
      ['uninstall', '--yes', '--purge', '--user', 'mallory'], [...ACCOUNT_FILES, '/home/mallory', '/etc/ssh'],
      /account mallory does not look like an upload account sftp-setup made \(its shell is \/bin\/bash, a login shell, its home is \/home\/mallory, not the chroot \/srv\/mallory of sftp-setup's Match block\); nothing was changed/,
    );
    await h.sh(`rm ${dropIn('mallory')}`);
  });

  it('--purge of a managed account removes its tree without following links out of it; /etc is as before init', async () => {
    const etcBefore = withoutShadowBackups(await snapshot(h, ['/etc'], { mtime: false }));
    const init = await cli(h, ['init', '--yes', '--no-verify']);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    // Planted by anything running with the upload uid: a link to a directory and to a file outside the tree.
    await h.sh(`echo outside > /srv/target-file && ln -s /etc ${ROOT}/images/evil && ln -s /srv/target-file ${ROOT}/images/evil-file && chown -h ${USER}: ${ROOT}/images/evil ${ROOT}/images/evil-file`);
    const etcHashes = await h.sh('find /etc -xdev -type f ! -name "passwd*" ! -name "shadow*" ! -name "group*" ! -name "gshadow*" ! -path "/etc/ssh/*" -print0 | sort -z | xargs -0 sha256sum');
    const r = await cli(h, ['uninstall', '--yes', '--purge', '--user', USER]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await exists(ROOT)).toBe(false);
    expect(await h.sh('cat /srv/target-file')).toBe('outside\n');
    expect(await h.sh('find /etc -xdev -type f ! -name "passwd*" ! -name "shadow*" ! -name "group*" ! -name "gshadow*" ! -path "/etc/ssh/*" -print0 | sort -z | xargs -0 sha256sum')).toBe(etcHashes);
    expect(withoutShadowBackups(await snapshot(h, ['/etc'], { mtime: false }))).toBe(etcBefore);
    expect(await exists('/etc/hostname')).toBe(true);
    expect(await exists('/bin/sh')).toBe(true);
  });

  it('--purge deletes the ChrootDirectory of our block, not the account\'s home field, and refuses a system directory there', async () => {
    const init = await cli(h, ['init', '--yes', '--no-verify', '--user', 'up4', '--root', '/srv/up4']);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    // Someone pointed the block and the home at /home: sftp-setup's rules still refuse to delete it.
    await h.sh(`sed -i "s#ChrootDirectory /srv/up4#ChrootDirectory /home#" ${dropIn('up4')} && usermod -d /home up4`);
    await refused(['uninstall', '--yes', '--purge', '--user', 'up4'], [...ACCOUNT_FILES, '/home', '/etc/ssh', '/srv/up4'], /--purge would delete \/home, the chroot in sftp-setup's Match block for up4, but \/home is a system directory; nothing was changed/);
    // Home field elsewhere than the block's chroot: the account does not look like ours.
    await h.sh(`sed -i "s#ChrootDirectory /home#ChrootDirectory /srv/up4#" ${dropIn('up4')} && usermod -d /srv/other up4`);
    await refused(['uninstall', '--yes', '--purge', '--user', 'up4'], [...ACCOUNT_FILES, '/etc/ssh', '/srv'], /its home is \/srv\/other, not the chroot \/srv\/up4/);
    await h.sh('usermod -d /srv/up4 up4');
    const r = await cli(h, ['uninstall', '--yes', '--purge', '--user', 'up4']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await exists('/srv/up4')).toBe(false);
    expect(await exists('/home')).toBe(true);
  });

  it('half-removed states converge: a block without its account, a keys file without its block', async () => {
    for (const u of ['half-a', 'half-b']) {
      const r = await cli(h, ['init', '--yes', '--no-verify', '--user', u, '--root', `/srv/${u}`]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    }
    await h.sh('userdel half-a');
    await h.sh(`rm ${dropIn('half-b')} && kill -HUP "$(cat /run/sshd.pid)"`);
    for (const u of ['half-a', 'half-b']) {
      const r = await cli(h, ['uninstall', '--yes', '--user', u]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(await exists(keysFileFor(u))).toBe(false);
      expect(await exists(dropIn(u))).toBe(false);
      expect((await h.run(['getent', 'passwd', u])).exitCode).toBe(2);
      const again = await cli(h, ['uninstall', '--yes', '--user', u]);
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toMatch(new RegExp(`Nothing to remove: there is no upload account ${u} made by sftp-setup here`));
    }
    expect((await h.run(['sshd', '-t'])).exitCode).toBe(0);
  });
});

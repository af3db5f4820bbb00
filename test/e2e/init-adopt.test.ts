/**
 * `init` on hosts that are not fresh: one set up by hand with the manual guide (--adopt), one whose
 * sshd_config has no Include of sshd_config.d (marked block at the end of the main file), and one where sshd
 * is not running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, dropIn, KEYS_FILE, ROOT, sftpAs, snapshot, startPair, USER, type Pair } from './helpers.js';

async function upload(p: Pair, key: string, remote: string) {
  return sftpAs(p.camera, { key }, `put /etc/hostname ${remote}`);
}

async function keyPair(p: Pair, name: string): Promise<string> {
  await p.camera.sh(`ssh-keygen -q -t ed25519 -N '' -C ${name}@camera -f /root/${name}`);
  return (await p.camera.sh(`cat /root/${name}.pub`)).trim();
}

describe('--adopt of a host set up with the manual guide', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair();
    const home = await keyPair(p, 'homekey');
    const chrootKey = await keyPair(p, 'chrootkey');
    // What the guide does: a login account with a home in /home, keys owned by the user (in its home and,
    // in the guide's later revision, in a .ssh inside the chroot), a Match block appended to sshd_config,
    // the chroot tree made by hand.
    await p.collector.sh(`
      set -e
      useradd -m -d /home/${USER} -s /bin/bash ${USER}
      install -d -o ${USER} -g ${USER} -m 700 /home/${USER}/.ssh
      echo '${home}' > /home/${USER}/.ssh/authorized_keys
      chown ${USER}:${USER} /home/${USER}/.ssh/authorized_keys && chmod 600 /home/${USER}/.ssh/authorized_keys
      mkdir -p ${ROOT}
      for d in images videos keograms startrails allsky; do install -d -o ${USER} -g ${USER} -m 755 ${ROOT}/$d; done
      install -d -o ${USER} -g ${USER} -m 700 ${ROOT}/.ssh
      echo '${chrootKey}' > ${ROOT}/.ssh/authorized_keys
      chown ${USER}:${USER} ${ROOT}/.ssh/authorized_keys && chmod 600 ${ROOT}/.ssh/authorized_keys
      cp /home/${USER}/.bashrc /home/${USER}/.profile ${ROOT}/
      printf '\\nMatch User ${USER}\\n    ChrootDirectory ${ROOT}\\n    ForceCommand internal-sftp\\n    AllowTcpForwarding no\\n    X11Forwarding no\\n' >> /etc/ssh/sshd_config
      kill -HUP $(cat /run/sshd.pid)
    `);
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('the guide-made host works before (the home key logs in and uploads)', async () => {
    const r = await upload(p, '/root/homekey', '/images/before.jpg');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('plain init refuses it and points at --adopt; nothing changes', async () => {
    const before = await snapshot(p.collector, ['/etc', '/var/lib', '/home']);
    const r = await cli(p.collector, ['init', '--yes']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--adopt/);
    expect(await snapshot(p.collector, ['/etc', '/var/lib', '/home'])).toBe(before);
  });

  it('init --adopt migrates it without losing keys or uploads', async () => {
    const r = await cli(p.collector, ['init', '--yes', '--adopt']);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.exitCode).toBe(0);
    expect(await p.collector.sh(`getent passwd ${USER} | cut -d: -f6,7`)).toBe(`${ROOT}:/usr/sbin/nologin\n`);
    // Both keys moved to the root-owned file outside the chroot; nothing of the guide's layout is left inside.
    const keys = await p.collector.sh(`cat ${KEYS_FILE}`);
    expect(keys).toMatch(/restrict ssh-ed25519 \S+ homekey@camera/);
    expect(keys).toMatch(/restrict ssh-ed25519 \S+ chrootkey@camera/);
    expect(await p.collector.sh(`ls -A ${ROOT} | sort`)).toBe('allsky\narchive\nimages\nkeograms\nstartrails\nvideos\n');
    expect(await p.collector.sh(`cat ${ROOT}/images/before.jpg`)).toBe(await p.camera.sh('cat /etc/hostname'));
    for (const key of ['homekey', 'chrootkey']) {
      const up = await upload(p, `/root/${key}`, `/images/after-${key}.jpg`);
      expect(up.exitCode, key).toBe(0);
    }
    // The account can no longer rewrite its keys: a .ssh it makes is ignored.
    expect((await p.collector.run(['test', '-e', `${ROOT}/.ssh`])).exitCode).toBe(1);
  });

  it('a re-run without --adopt changes nothing', async () => {
    const before = await snapshot(p.collector, ['/etc', ROOT]);
    const r = await cli(p.collector, ['init', '--yes']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Already set up: nothing changed\./);
    expect(await snapshot(p.collector, ['/etc', ROOT])).toBe(before);
  });
});

describe('an sshd_config without an Include of sshd_config.d', () => {
  let p: Pair;
  let original: string;
  beforeAll(async () => {
    p = await startPair();
    await p.collector.sh("sed -i '/^Include /d' /etc/ssh/sshd_config && echo 'Match Address 192.0.2.1' >> /etc/ssh/sshd_config && echo '    PermitRootLogin no' >> /etc/ssh/sshd_config");
    original = await p.collector.sh('cat /etc/ssh/sshd_config');
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('puts the block at the end of the main file between markers, closed by Match all', async () => {
    const key = await keyPair(p, 'k');
    const r = await cli(p.collector, ['init', '--yes', '--key', key]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Match block at the end of \/etc\/ssh\/sshd_config/);
    const text = await p.collector.sh('cat /etc/ssh/sshd_config');
    expect(text.startsWith(original)).toBe(true);
    const added = text.slice(original.length);
    expect(added).toMatch(new RegExp(`^# BEGIN sftp-setup ${USER}\\n[^]*\\nMatch User ${USER}\\n[^]*\\nMatch all\\n# END sftp-setup ${USER}\\n$`));
    expect((await p.collector.run(['ls', dropIn()])).exitCode).not.toBe(0);
    expect((await p.collector.run(['sshd', '-t'])).exitCode).toBe(0);
    expect((await upload(p, '/root/k', '/images/x.jpg')).exitCode).toBe(0);
    // A line appended later is global again, not swallowed by our Match.
    expect(await p.collector.sh('echo "MaxStartups 7" >> /etc/ssh/sshd_config && sshd -T | grep ^maxstartups && sed -i "$ d" /etc/ssh/sshd_config')).toMatch(/^maxstartups 7/);
  });

  it('a re-run changes nothing; uninstall gives the main file back byte for byte', async () => {
    const before = await snapshot(p.collector, ['/etc', ROOT]);
    const r = await cli(p.collector, ['init', '--yes']);
    expect(r.exitCode).toBe(0);
    expect(await snapshot(p.collector, ['/etc', ROOT])).toBe(before);
    const u = await cli(p.collector, ['uninstall', '--yes', '--user', USER]);
    expect(u.stderr).toBe('');
    expect(u.exitCode).toBe(0);
    expect(await p.collector.sh('cat /etc/ssh/sshd_config')).toBe(original);
    expect((await p.collector.run(['sshd', '-t'])).exitCode).toBe(0);
  });
});

describe('sshd not running', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair();
    await p.collector.stopSshd();
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('init sets up the account, then says sshd is not running and how to start it (exit 1)', async () => {
    for (const args of [[], ['--no-verify']]) {
      const r = await cli(p.collector, ['init', '--yes', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/sshd is not running.*sudo mkdir -p \/run\/sshd && sudo \/usr\/sbin\/sshd/);
    }
  });

  it('once sshd runs, init changes no file and its self-test passes', async () => {
    await p.collector.startSshd();
    const before = await snapshot(p.collector, ['/etc', ROOT]);
    const r = await cli(p.collector, ['init', '--yes']);
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.exitCode).toBe(0);
    expect(await snapshot(p.collector, ['/etc', ROOT])).toBe(before);
  });
});

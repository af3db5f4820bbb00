/**
 * `init` end to end: a fresh collector, a real upload from the camera over the veth link with the key given
 * by --key, Allsky's lftp upload sequence in every directory, a re-run and a dry run that change nothing,
 * and every refusal the locked-down account must give, tried from the camera with the real key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DIRS } from '../../src/collector/layout.js';
import { cli, DEST, KEYS_FILE, KNOWN_HOSTS, makeKey, pinHostKey, ROOT, sftpAs, snapshot, sshOptions, startPair, TEST_KEY, USER, type Pair } from './helpers.js';

// The camera's ssh options: the real key only, no prompts, the collector's host key pinned. VERBOSE_SSH
// (LogLevel INFO) is for tests that read ssh's own messages.
const CAMERA = { key: TEST_KEY, knownHosts: KNOWN_HOSTS, timeout: 5 };
const SSH = sshOptions(CAMERA).sh;
const VERBOSE_SSH = sshOptions({ ...CAMERA, logLevel: 'INFO' }).sh;

describe('init on a fresh collector', () => {
  let p: Pair;
  let pub: string;
  const cam = (script: string) => p.camera.run(['bash', '-c', script], { timeoutMs: 30_000 });
  const sftp = (batch: string) => sftpAs(p.camera, CAMERA, batch);

  beforeAll(async () => {
    p = await startPair();
    pub = await makeKey(p.camera, TEST_KEY);
    await pinHostKey(p);
    await p.camera.sh('head -c 200000 /dev/urandom > /tmp/image.jpg');
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('sets up the account and its self-test passes', async () => {
    const r = await cli(p.collector, ['init', '--yes', '--key', pub]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Done\./);
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.stdout).toMatch(/pass {2}key login as allsky-upload/);
    expect(await p.collector.sh(`getent passwd ${USER} | cut -d: -f6,7`)).toBe(`${ROOT}:/usr/sbin/nologin\n`);
    expect(await p.collector.sh(`getent shadow ${USER} | cut -d: -f2`)).toBe('*\n');
    expect(await p.collector.sh(`stat -c '%U:%G %a' ${ROOT} ${KEYS_FILE}`)).toBe('root:root 755\nroot:root 644\n');
    expect(await p.collector.sh(`ls -A ${ROOT} | sort`)).toBe('allsky\narchive\nimages\nkeograms\nstartrails\nvideos\n');
    expect(await p.collector.sh(`cat ${KEYS_FILE}`)).toMatch(/^# sftp-setup: added \S+Z\nrestrict ssh-ed25519 /);
  });

  it('takes a real upload from the camera with the key given by --key', async () => {
    const r = await sftp('put /tmp/image.jpg /images/image.jpg');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const there = await p.collector.sh(`stat -c '%U %a' ${ROOT}/images/image.jpg; sha256sum < ${ROOT}/images/image.jpg`);
    const here = await p.camera.sh('sha256sum < /tmp/image.jpg');
    expect(there).toBe(`${USER} 644\n${here}`);
  });

  it("accepts Allsky's lftp upload sequence (put temp, rm -f, mv) in every directory", async () => {
    const connect = `ssh -a -x ${SSH}`;
    const perDir = DEFAULT_DIRS.map((d) => `cd /${d}/\nput /tmp/image.jpg -o image-1234.jpg\nrm -f image.jpg\nmv image-1234.jpg image.jpg`).join('\n');
    const script = `set sftp:connect-program "${connect}"\nset net:max-retries 2\nset net:timeout 10\nopen --user ${USER} --env-password sftp://collector\ncd .\n${perDir}\n`;
    // Twice: the second run replaces every image.jpg that the first one left.
    for (let i = 0; i < 2; i++) {
      const r = await p.camera.run(['lftp', '-c', script], { env: { LFTP_PASSWORD: 'unused' }, timeoutMs: 60_000 });
      expect(r.stderr + r.stdout).toBe('');
      expect(r.exitCode).toBe(0);
    }
    const listing = await p.collector.sh(`cd ${ROOT} && for d in ${DEFAULT_DIRS.join(' ')}; do ls -A "$d" | grep -v '^[a-z]*$' | sed "s|^|$d/|"; done`);
    expect(listing.trim().split('\n').sort()).toEqual(DEFAULT_DIRS.map((d) => `${d}/image.jpg`).sort());
  });

  it('changes nothing when run again, timestamps included, and says so', async () => {
    const paths = ['/etc', ROOT];
    const before = await snapshot(p.collector, paths);
    const r = await cli(p.collector, ['init', '--yes', '--key', pub]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Already set up: nothing changed\./);
    expect(r.stdout).not.toMatch(/changed {2}/);
    expect(await snapshot(p.collector, paths)).toBe(before);
    const again = await cli(p.collector, ['init', '--yes', '--no-verify', '--key', pub, '--json']);
    expect(JSON.parse(again.stdout).steps.every((s: { status: string }) => s.status === 'unchanged')).toBe(true);
    expect(await snapshot(p.collector, paths)).toBe(before);
  });

  it("a re-run sweeps a crashed probe's key and files, in every upload directory at once, and only those", async () => {
    const dirs = ['images', 'images/videos/thumbnails', 'allsky'];
    await p.collector.sh(`mkdir -p /run/sftp-setup/probe-keys && echo 'restrict ssh-ed25519 AAAA stale' > /run/sftp-setup/probe-keys/${USER}` +
      dirs.map((d) => `; cd ${ROOT}/${d} && touch .sftp-setup-probe-0123456789ab.tmp .sftp-setup-probe-0123456789ab .sftp-setup-probe.read keep.sftp-setup-probe .sftp-setup-probe-x`).join(''));
    const r = await cli(p.collector, ['init', '--yes', '--key', pub]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pass {2}key login as allsky-upload/);
    expect(await p.collector.sh(`ls -A /run/sftp-setup/probe-keys; cd ${ROOT} && find ${dirs.join(' ')} -maxdepth 1 -name '*sftp-setup-probe*' | LC_ALL=C sort`)).toBe(
      dirs.flatMap((d) => [`${d}/.sftp-setup-probe-x`, `${d}/keep.sftp-setup-probe`]).sort().join('\n') + '\n');
    await p.collector.sh(`cd ${ROOT} && for d in ${dirs.join(' ')}; do rm "$d/.sftp-setup-probe-x" "$d/keep.sftp-setup-probe"; done`);
  });

  it('a re-run that changes something self-tests the new configuration, and leaves no connection, key or file of either probe', async () => {
    // A re-run opens the self-test's connection beside its checks; a change means closing it and starting
    // afresh: here a file init repairs, then the Match block, which makes it reload sshd.
    const traces = () => p.collector.sh('ls -A /run/sftp-setup/probe-keys; ls /run | grep sftp-setup- || true; pgrep -af "[s]sh .*sftp-setup-probe" || true; find /run /srv /tmp -name ".sftp-setup-probe*"');
    const block = `/etc/ssh/sshd_config.d/50-sftp-setup-${USER}.conf`;
    const edits = [
      { change: `chmod 600 ${KEYS_FILE}`, changed: /changed +authorized keys/, undone: `stat -c %a ${KEYS_FILE}`, is: '644\n' },
      { change: `echo '# edited' >> ${block}`, changed: /changed +sshd reloaded/, undone: `grep -c edited ${block} || true`, is: '0\n' },
    ];
    for (const e of edits) {
      await p.collector.sh(e.change);
      const r = await cli(p.collector, ['init', '--yes', '--key', pub]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(e.changed);
      expect(r.stdout).toMatch(/pass {2}key login as allsky-upload/);
      expect(r.stdout).not.toMatch(/FAIL/);
      expect(await p.collector.sh(e.undone)).toBe(e.is);
      expect(await traces()).toBe('');
    }
  });

  it('--dry-run prints the plan with diffs and changes nothing', async () => {
    const other = await makeKey(p.camera, '/root/other_key');
    const paths = ['/etc', '/var/lib', '/home', '/run/sshd.pid'];
    const before = await snapshot(p.collector, paths);
    const r = await cli(p.collector, ['init', '--dry-run', '--key', pub, '--key', other, '--from', '10.250.0.0/24', '--profile', 'dropbox']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/would .*authorized keys/);
    expect(r.stdout).toMatch(/\+restrict,from="10\.250\.0\.0\/24" ssh-ed25519 /);
    expect(r.stdout).toMatch(/-restrict ssh-ed25519 /);
    expect(r.stdout).toMatch(/\+ +ForceCommand internal-sftp -u 0022 -p \S+\n/);
    expect(r.stdout).toMatch(/Dry run: nothing was changed\./);
    expect(await snapshot(p.collector, paths)).toBe(before);
  });

  describe('what the locked-down account refuses, tried from the camera with its real key', () => {
    it('a shell', async () => {
      const r = await cam(`ssh ${SSH} -T ${DEST} </dev/null`);
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/This service allows sftp connections only/);
    });
    it('a command', async () => {
      const r = await cam(`ssh ${SSH} ${DEST} id`);
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout).not.toMatch(/uid=/);
      expect(r.stdout + r.stderr).toMatch(/This service allows sftp connections only/);
    });
    it('a terminal (ssh -tt)', async () => {
      const r = await cam(`ssh ${VERBOSE_SSH} -tt ${DEST} </dev/null`);
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/PTY allocation request failed/);
      expect(r.stdout + r.stderr).not.toMatch(/\$ |# /);
    });
    it('a local forward (-L)', async () => {
      const r = await cam(
        `ssh ${VERBOSE_SSH} -N -L 127.0.0.1:2222:127.0.0.1:22 ${DEST} 2>/tmp/L.err & pid=$!; sleep 1;` +
          // A connection to the forwarded port would carry the collector sshd's banner if the forward worked.
          ` timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2222 && cat <&3' > /tmp/L.out; kill $pid; wait $pid; cat /tmp/L.err; cat /tmp/L.out`,
      );
      expect(r.stdout).toMatch(/administratively prohibited/);
      expect(r.stdout).not.toMatch(/SSH-2\.0/);
    });
    it('a remote forward (-R)', async () => {
      const r = await cam(`timeout 10 ssh ${VERBOSE_SSH} -N -o ExitOnForwardFailure=yes -R 127.0.0.1:2223:127.0.0.1:22 ${DEST}`);
      expect(r.exitCode).toBe(255);
      expect(r.stderr).toMatch(/remote port forwarding failed/);
      expect((await p.collector.run(['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/2223'])).exitCode).not.toBe(0);
    });
    it('a dynamic forward (-D, SOCKS)', async () => {
      const r = await cam(
        `ssh ${VERBOSE_SSH} -N -D 127.0.0.1:1080 ${DEST} 2>/tmp/D.err & pid=$!; sleep 1;` +
          // SOCKS5 by hand (no curl on a minimal system): no authentication, then CONNECT 127.0.0.1:22. If the
          // forward worked, the collector sshd's banner would follow the SOCKS reply.
          ` timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/1080 && printf "\\005\\001\\000" >&3 && head -c 2 <&3 >/dev/null &&` +
          ` printf "\\005\\001\\000\\001\\177\\000\\000\\001\\000\\026" >&3 && cat <&3' > /tmp/D.out; kill $pid; wait $pid; cat /tmp/D.err; cat /tmp/D.out`,
      );
      expect(r.stdout).toMatch(/administratively prohibited/);
      expect(r.stdout).not.toMatch(/SSH-2\.0/);
    });
    it('a stdio forward (-W)', async () => {
      const r = await cam(`ssh ${VERBOSE_SSH} -W 127.0.0.1:22 ${DEST} </dev/null`);
      expect(r.exitCode).toBe(255);
      expect(r.stderr).toMatch(/administratively prohibited/);
      expect(r.stdout).not.toMatch(/SSH-2\.0/);
    });
    it('legacy scp (scp -O), while scp over SFTP works', async () => {
      const legacy = await cam(`scp ${SSH} -O /tmp/image.jpg ${DEST}:/images/legacy.jpg`);
      expect(legacy.exitCode).not.toBe(0);
      expect((await p.collector.run(['test', '-e', `${ROOT}/images/legacy.jpg`])).exitCode).toBe(1);
      const modern = await cam(`scp ${SSH} /tmp/image.jpg ${DEST}:/images/modern.jpg`);
      expect(modern.exitCode).toBe(0);
    });
    it('reading outside the chroot: / is the chroot, /etc does not exist, .. stays inside', async () => {
      const etc = await sftp('get /etc/passwd /tmp/stolen');
      expect(etc.exitCode).not.toBe(0);
      expect((await p.camera.run(['test', '-e', '/tmp/stolen'])).exitCode).toBe(1);
      const up = await sftp('cd /images\ncd ../../..\npwd\nls -1a');
      expect(up.exitCode).toBe(0);
      expect(up.stdout).toMatch(/Remote working directory: \/\n/);
      expect(up.stdout).not.toMatch(/\b(etc|usr|var|bin)\b/);
    });
    it('uploaded files cannot be read back (no read in the allsky profile)', async () => {
      const r = await sftp('get /images/image.jpg /tmp/readback.jpg');
      expect(r.exitCode).not.toBe(0);
    });
    it('writing to the chroot root', async () => {
      const put = await sftp('put /tmp/image.jpg /image.jpg');
      expect(put.exitCode).not.toBe(0);
      const mk = await sftp('mkdir /newdir');
      expect(mk.exitCode).not.toBe(0);
      expect(await p.collector.sh(`ls -A ${ROOT} | sort`)).toBe('allsky\narchive\nimages\nkeograms\nstartrails\nvideos\n');
    });
    it('replacing its own keys: no .ssh in the chroot, and one it makes is ignored by sshd', async () => {
      const attacker = await makeKey(p.camera, '/root/attacker_key');
      await p.camera.sh(`echo '${attacker}' > /tmp/authorized_keys`);
      expect((await sftp('mkdir /.ssh')).exitCode).not.toBe(0);
      // The keys file lives outside the chroot: its path does not even exist inside.
      expect((await sftp(`put /tmp/authorized_keys ${KEYS_FILE}`)).exitCode).not.toBe(0);
      // A .ssh the account can write, below an upload directory: sshd never reads it.
      const planted = await sftp('mkdir /images/.ssh\nput /tmp/authorized_keys /images/.ssh/authorized_keys');
      expect(planted.exitCode).toBe(0);
      const login = await cam(`ssh ${sshOptions({ ...CAMERA, key: '/root/attacker_key', logLevel: 'INFO' }).sh} ${DEST} true`);
      expect(login.exitCode).toBe(255);
      expect(login.stderr).toMatch(/Permission denied \(publickey\)/);
      expect(await p.collector.sh(`grep -c ssh- ${KEYS_FILE}`)).toBe('1\n');
    });
    it('password login: the server offers public keys only', async () => {
      const r = await cam(`ssh ${VERBOSE_SSH} -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive ${DEST} true`);
      expect(r.exitCode).toBe(255);
      expect(r.stderr).toMatch(/Permission denied \(publickey\)\./);
      const eff = await p.collector.sh(`sshd -T -C user=${USER},host=camera,addr=10.250.0.2 | grep -E '^(passwordauthentication|kbdinteractiveauthentication) '`);
      expect(eff).toBe('passwordauthentication no\nkbdinteractiveauthentication no\n');
    });
    it('the Match block itself is a second line of defence: forwarding off whatever the key options say', async () => {
      const eff = await p.collector.sh(`sshd -T -C user=${USER},host=camera,addr=10.250.0.2`);
      for (const line of [
        'disableforwarding yes', 'allowstreamlocalforwarding no', 'allowtcpforwarding no', 'x11forwarding no',
        'allowagentforwarding no', 'permittunnel no', 'permittty no', 'permituserrc no', 'permitopen none', 'permitlisten none',
      ]) expect(eff.split('\n')).toContain(line);
    });
  });
});

/**
 * `keys rotate` end to end on two hosts: a camera set up as allsky-config leaves it (user pi, key, pinned
 * known_hosts, ~/.lftp/rc, a current-generation Allsky install with its hard-linked settings.json) and a
 * collector made by `init`. Every scenario starts from a working camera and must end with one: after each
 * rotation the old key is refused, the new one works, the collector holds exactly one key, and an
 * Allsky-style upload succeeds. Scenarios run in sequence on the same pair, each rotating the key again.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectProgramSetLine } from '../../src/lftp/connect-program.js';
import {
  authorizeAdmin, CAMERA_KEY, cli, holdCollectorLock, installRemoteCli, KEYS_FILE, login, PI_KNOWN_HOSTS, REMOTE_CLI, snapshot, startPair, USER, type Pair,
} from './helpers.js';

const ALLSKY = '/home/pi/allsky';
const FIXTURES = new URL('../fixtures/allsky/', import.meta.url);
const CAMERA_FILES = ['/home/pi/.ssh', '/home/pi/.lftp', ALLSKY];

describe('keys rotate', () => {
  let p: Pair;
  const rotate = (args: string[], env: Record<string, string> = {}) =>
    cli(p.camera, ['keys', 'rotate', ...args], { env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE_CLI, ...env }, timeoutMs: 120_000 });

  /** Allsky's own upload sequence (scripts/upload.sh) as pi, with the LFTP commands from env.json. */
  async function allskyUpload(): Promise<{ exitCode: number; out: string }> {
    const env = JSON.parse(await p.camera.sh(`cat ${ALLSKY}/env.json`)) as Record<string, string>;
    const script = [
      env.REMOTESERVER_LFTP_COMMANDS,
      'set dns:fatal-timeout 10; set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1',
      `open --user ${USER} --env-password sftp://collector`,
      'cd .', 'cd images/', 'put /tmp/image.jpg -o image-123.jpg', 'rm -f image.jpg', 'mv image-123.jpg image.jpg',
    ].join('\n');
    const r = await p.camera.run(['sh', '-c', 'f=$HOME/.up.lftp && cat > $f && lftp -f $f; rc=$?; rm -f $f; exit $rc'], {
      user: 'pi', input: script + '\n', env: { LFTP_PASSWORD: 'n/a' }, timeoutMs: 60_000,
    });
    return { exitCode: r.exitCode, out: r.stdout + r.stderr };
  }

  /** Does the collector accept this private key (as a plain sftp login from the camera)? */
  async function accepts(key: string): Promise<boolean> {
    const r = await login(p.camera, { key, knownHosts: PI_KNOWN_HOSTS, extra: ['UpdateHostKeys=no'] });
    if (!r.ok && !/Permission denied \(publickey/.test(r.stderr)) throw new Error(`sftp failed for another reason: ${r.stderr}`);
    return r.ok;
  }

  const fingerprint = async (path: string) => (await p.camera.sh(`ssh-keygen -lf ${path}`)).split(' ')[1]!;
  const collectorKeyCount = async () => Number((await p.collector.sh(`grep -c '^[^#]' ${KEYS_FILE} || true`)).trim());

  /** Keep a copy of the current key (as root, outside pi's files) to prove it is refused afterwards. */
  async function saveCurrentKey(name: string): Promise<string> {
    await p.camera.sh(`mkdir -p /root/oldkeys && cp ${CAMERA_KEY} /root/oldkeys/${name} && chmod 600 /root/oldkeys/${name}`);
    return `/root/oldkeys/${name}`;
  }

  /** The end state every scenario must reach. */
  async function expectRotated(oldCopy: string, oldFp: string): Promise<void> {
    const newFp = await fingerprint(CAMERA_KEY);
    expect(newFp).not.toBe(oldFp);
    expect(await fingerprint(`${CAMERA_KEY}.pub`)).toBe(newFp);
    expect(await p.camera.sh(`stat -c '%U:%G %a' ${CAMERA_KEY} ${CAMERA_KEY}.pub`)).toBe('pi:pi 600\npi:pi 644\n');
    // No .new, .old, state or lock file left.
    expect(await p.camera.sh(`ls -A /home/pi/.ssh | grep -v '^known_hosts' | sort`)).toBe('allsky_upload\nallsky_upload.pub\n');
    // Uploads through the connect-program (UpdateHostKeys=no) leave the pinned known_hosts as it was: one key, no .old.
    expect(await p.camera.sh(`ls -A /home/pi/.ssh | grep '^known_hosts'; grep -c . /home/pi/.ssh/known_hosts`)).toBe('known_hosts\n1\n');
    expect(await accepts(oldCopy)).toBe(false);
    expect(await accepts(CAMERA_KEY)).toBe(true);
    expect(await collectorKeyCount()).toBe(1);
    expect(await p.collector.sh(`cat ${KEYS_FILE}`)).toContain((await p.camera.sh(`cut -d' ' -f2 ${CAMERA_KEY}.pub`)).trim());
    const up = await allskyUpload();
    expect(up.out).toBe('');
    expect(up.exitCode).toBe(0);
    // settings.json is untouched by a rotation and keeps its hard link.
    expect(await p.camera.sh(`stat -c %h ${ALLSKY}/config/settings.json`)).toBe('2\n');
  }

  beforeAll(async () => {
    p = await startPair();
    const lftpLine = connectProgramSetLine({ keyPath: CAMERA_KEY });
    const env = JSON.parse(readFileSync(new URL('env.json', FIXTURES), 'utf8')) as Record<string, string>;
    Object.assign(env, { REMOTESERVER_HOST: 'collector', REMOTESERVER_PORT: '22', REMOTESERVER_USER: USER, REMOTESERVER_PASSWORD: 'n/a', REMOTESERVER_LFTP_COMMANDS: lftpLine });
    const settings = JSON.parse(readFileSync(new URL('settings.json', FIXTURES), 'utf8')) as Record<string, unknown>;
    Object.assign(settings, { useremoteserver: true, remoteserverprotocol: 'sftp', remoteserverimagedir: 'images' });
    // The camera, as allsky-config leaves it.
    await p.camera.sh(
      `useradd -m -s /bin/bash pi && install -d -o pi -g pi -m 700 /home/pi/.ssh /home/pi/.lftp && install -d -o pi -g pi ${ALLSKY} ${ALLSKY}/config` +
        ` && cat > ${ALLSKY}/config/settings_RPi_HQ.json && ln ${ALLSKY}/config/settings_RPi_HQ.json ${ALLSKY}/config/settings.json` +
        ` && chown pi:pi ${ALLSKY}/config/settings_RPi_HQ.json && head -c 100000 /dev/urandom > /tmp/image.jpg && chmod 644 /tmp/image.jpg`,
      { input: JSON.stringify(settings, null, '\t') + '\n' },
    );
    await p.camera.sh(`cat > ${ALLSKY}/env.json && chown pi:pi ${ALLSKY}/env.json && chmod 664 ${ALLSKY}/env.json`, { input: JSON.stringify(env, null, '\t') + '\n' });
    await p.camera.sh(`printf '%s\\n' '${lftpLine.replace(/'/g, `'\\''`)}' > /home/pi/.lftp/rc && chown pi:pi /home/pi/.lftp/rc`);
    await p.camera.sh(`ssh-keygen -q -t ed25519 -N '' -C pi@camera -f ${CAMERA_KEY} && ssh-keyscan -t ed25519 collector 2>/dev/null | grep -v '^#' > ${PI_KNOWN_HOSTS}`, { user: 'pi' });
    const pub = (await p.camera.sh(`cat ${CAMERA_KEY}.pub`)).trim();
    const init = await cli(p.collector, ['init', '--yes', '--key', '-'], { input: pub + '\n' });
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    // --via: the camera's root logs in to the collector's root with its own key; sftp-setup is callable there.
    await authorizeAdmin(p.camera, p.collector);
    await installRemoteCli(p.collector);
    const up = await allskyUpload();
    expect(up.out).toBe('');
    expect(up.exitCode).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await p?.destroy();
  });

  it('dry run: prints the plan and changes nothing', async () => {
    const before = await snapshot(p.camera, CAMERA_FILES);
    const r = await rotate(['--via', 'root@collector', '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/would .*generate/);
    expect(await snapshot(p.camera, CAMERA_FILES)).toBe(before);
  });

  it('bad input: a missing --allsky-dir is refused with exit 2 and nothing changed', async () => {
    const before = await snapshot(p.camera, CAMERA_FILES);
    const r = await rotate(['--allsky-dir', '/home/pi/nope', '--yes']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--allsky-dir \/home\/pi\/nope: no such directory/);
    expect(await snapshot(p.camera, CAMERA_FILES)).toBe(before);
  });

  it('rotates through --via: old key refused, new key works, one key on the collector, Allsky upload works', async () => {
    const oldFp = await fingerprint(CAMERA_KEY);
    const oldCopy = await saveCurrentKey('via');
    const started = performance.now();
    const r = await rotate(['--via', 'root@collector', '--yes']);
    const ms = performance.now() - started;
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/done +done: the camera uploads with SHA256:/);
    await expectRotated(oldCopy, oldFp);
    console.log(`rotation through --via took ${ms.toFixed(0)} ms`);
  });

  it('a config naming the key by another spelling is pointed at the key path (through the apply path, backed up)', async () => {
    const oldFp = await fingerprint(CAMERA_KEY);
    const oldCopy = await saveCurrentKey('spelling');
    const other = connectProgramSetLine({ keyPath: '/home/pi/.ssh/./allsky_upload' });
    await p.camera.sh(`printf '%s\\n' '${other.replace(/'/g, `'\\''`)}' > /home/pi/.lftp/rc && chown pi:pi /home/pi/.lftp/rc`);
    const r = await rotate(['--via', 'root@collector', '--yes']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`/home/pi/.lftp/rc now name ${CAMERA_KEY}`);
    expect(await p.camera.sh('cat /home/pi/.lftp/rc')).toBe(connectProgramSetLine({ keyPath: CAMERA_KEY }) + '\n');
    expect(await p.camera.sh('stat -c "%U:%G" /home/pi/.lftp/rc')).toBe('pi:pi\n');
    expect(await p.camera.sh('cat /home/pi/.sftp-setup/backups/*/home/pi/.lftp/rc')).toBe(other + '\n');
    await p.camera.sh('rm -rf /home/pi/.sftp-setup');
    await expectRotated(oldCopy, oldFp);
  });

  it('manual flow: prints the collector line, stops with exit 4, resumes after it was run', async () => {
    const oldFp = await fingerprint(CAMERA_KEY);
    const oldCopy = await saveCurrentKey('manual');
    const first = await rotate(['--yes']);
    expect(first.exitCode).toBe(4);
    const add = /^\s*(sudo sftp-setup keys add --user allsky-upload '.*')$/m.exec(first.stdout)?.[1];
    expect(add).toBeDefined();
    expect((await allskyUpload()).exitCode).toBe(0); // still uploading with the old key
    // Running it again before anyone acted changes nothing and prints the same line.
    const again = await rotate(['--yes']);
    expect(again.exitCode).toBe(4);
    expect(again.stdout).toContain(add!);
    await p.collector.sh(add!.replace(/^sudo sftp-setup/, REMOTE_CLI));

    const second = await rotate(['--yes']);
    expect(second.exitCode).toBe(4);
    const remove = /^\s*(sudo sftp-setup keys remove --user allsky-upload SHA256:\S+)$/m.exec(second.stdout)?.[1];
    expect(remove).toBe(`sudo sftp-setup keys remove --user allsky-upload ${oldFp}`);
    expect((await allskyUpload()).exitCode).toBe(0); // now with the new key, the old one still authorized
    expect(await collectorKeyCount()).toBe(2);
    await p.collector.sh(remove!.replace(/^sudo sftp-setup/, REMOTE_CLI));

    const third = await rotate(['--yes']);
    expect(third.stderr).toBe('');
    expect(third.exitCode).toBe(0);
    await expectRotated(oldCopy, oldFp);
  });

  it('collector unreachable after the new key was made: fails, camera keeps its old key, next run converges', async () => {
    const oldFp = await fingerprint(CAMERA_KEY);
    const oldCopy = await saveCurrentKey('down');
    await p.camera.sh('ip link set eth0 down');
    let r;
    try {
      r = await rotate(['--via', 'root@collector', '--yes']);
    } finally {
      await p.camera.sh('ip link set eth0 up');
    }
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the collector as root@collector/);
    expect(await fingerprint(CAMERA_KEY)).toBe(oldFp);
    // wait for the link to carry traffic again
    await p.camera.sh('for i in $(seq 50); do ssh-keyscan -T 1 collector 2>/dev/null | grep -q "^[^#]" && exit 0; sleep 0.1; done; exit 1');
    expect((await allskyUpload()).exitCode).toBe(0);
    const again = await rotate(['--via', 'root@collector', '--yes']);
    expect(again.exitCode, again.stderr).toBe(0);
    await expectRotated(oldCopy, oldFp);
  });

  it('new key not authorized (keys add fails on the collector): camera keeps its old key, next run converges', async () => {
    const oldFp = await fingerprint(CAMERA_KEY);
    const oldCopy = await saveCurrentKey('noauth');
    const r = await rotate(['--via', 'root@collector', '--yes'], { SFTP_SETUP_REMOTE_COMMAND: '/bin/false' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the collector did not add the new key/);
    expect(await fingerprint(CAMERA_KEY)).toBe(oldFp);
    expect((await allskyUpload()).exitCode).toBe(0);
    const again = await rotate(['--via', 'root@collector', '--yes']);
    expect(again.exitCode, again.stderr).toBe(0);
    await expectRotated(oldCopy, oldFp);
  });

  it("the collector's lock held by another run: its keys add waits as long as the camera's --wait says, then the camera keeps its old key; next run converges", async () => {
    const oldFp = await fingerprint(CAMERA_KEY);
    const oldCopy = await saveCurrentKey('lock-held');
    const pid = await holdCollectorLock(p.collector);
    try {
      const r = await rotate(['--via', 'root@collector', '--yes', '--wait', '1']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`the collector did not add the new key \\(.*another sftp-setup run \\(pid ${pid}\\) is still changing this host after 1 s \\(--wait 1\\)`));
      expect(await fingerprint(CAMERA_KEY)).toBe(oldFp);
    } finally {
      await p.collector.sh(`kill ${pid}; rm -f /run/sftp-setup/lock`);
    }
    const again = await rotate(['--via', 'root@collector', '--yes']);
    expect(again.exitCode, again.stderr).toBe(0);
    await expectRotated(oldCopy, oldFp);
  });

  for (const stop of ['generated', 'authorized', 'proven', 'switching', 'half-switched', 'switched', 'old-removed']) {
    it(`killed after "${stop}": the camera still uploads, and the next run converges`, async () => {
      const oldFp = await fingerprint(CAMERA_KEY);
      const oldCopy = await saveCurrentKey(`kill-${stop}`);
      const r = await rotate(['--via', 'root@collector', '--yes'], { SFTP_SETUP_ROTATE_STOP_AFTER: stop });
      expect(r.exitCode).toBe(137);
      const up = await allskyUpload();
      expect(up.out).toBe('');
      expect(up.exitCode).toBe(0);
      const again = await rotate(['--via', 'root@collector', '--yes']);
      expect(again.stderr).toBe('');
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toMatch(/resume/);
      await expectRotated(oldCopy, oldFp);
    });
  }
});

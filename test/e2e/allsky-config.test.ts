/**
 * `sftp-setup allsky-config` between a real collector (sshd, init) and a camera with a fake Allsky install:
 * the whole flow, re-runs, host key pinning, known_hosts, hard links, legacy Allsky, bad inputs, exit 3.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CAMERA_FILES, CAMERA_KEY, cli, hostKeyFingerprint, ROOT, snapshot, startPair, USER, type Pair } from './helpers.js';
import { installAllsky } from './allsky-fixture.js';
import { readConnectProgram, splitWords } from '../../src/lftp/rc.js';

// CAMERA_FILES, and the top level of the camera's /root (an overlay of the real, large one) listed below.
// The camera's lock directory of a non-root run (~/.cache/sftp-setup) gets a new mtime from every run that
// takes the lock: its own line is left out (its owner and mode are checked in the lock tests).
const cameraState = async (h: Pair['camera'], extra: string[] = []) =>
  (await snapshot(h, [...CAMERA_FILES, ...extra])).replace(/^d pi:pi 700 \d+ [\d.]+ \/home\/pi\/\.cache\/sftp-setup\n/m, '') +
  (await h.sh('ls -la --time-style=full-iso /root'));
let pair: Pair | undefined;

afterEach(async () => {
  await pair?.destroy();
  pair = undefined;
});

interface Setup extends Pair {
  hostKey: string;
}

async function setup(generation: 'current' | 'legacy' | 'none' = 'current', opts: { init?: boolean } = {}): Promise<Setup> {
  pair = await startPair();
  const p = pair;
  await Promise.all([
    generation === 'none' ? p.camera.sh('useradd -m -s /bin/bash pi') : installAllsky(p.camera, generation),
    opts.init === false ? Promise.resolve() : cli(p.collector, ['init', '--yes', '--no-verify']).then((r) => expect(r.exitCode, r.stderr).toBe(0)),
  ]);
  return { ...p, hostKey: await hostKeyFingerprint(p.collector) };
}

/** Authorize the camera's public key on the collector with init --key - (the collector-side handoff). */
async function authorize(s: Setup): Promise<void> {
  const pub = await s.camera.sh(`cat ${CAMERA_KEY}.pub`);
  const r = await cli(s.collector, ['init', '--yes', '--no-verify', '--key', '-'], { input: pub });
  expect(r.exitCode, r.stderr).toBe(0);
}

const config = (s: Setup, extra: string[] = [], user = 'pi') =>
  cli(s.camera, ['allsky-config', '--collector', 'collector', '--host-key', s.hostKey, '--yes', ...extra], { user });

describe('allsky-config', () => {
  it('configures the camera, exits 3 until the key is authorized, then uploads like Allsky', async () => {
    const s = await setup();
    const first = await config(s);
    expect(first.exitCode, first.stdout + first.stderr).toBe(3);
    expect(first.stdout).toMatch(/sudo sftp-setup keys add --user allsky-upload 'ssh-ed25519 AAAA\S+ pi@camera'/);
    expect(first.stdout).toContain(s.hostKey);

    // Files: owned by pi with the right modes; Allsky settings point at the collector.
    const ls = await s.camera.sh('stat -c "%U %a %n" /home/pi/.ssh /home/pi/.ssh/allsky_upload /home/pi/.ssh/allsky_upload.pub /home/pi/.ssh/known_hosts /home/pi/.lftp/rc');
    expect(ls).toBe(
      'pi 700 /home/pi/.ssh\npi 600 /home/pi/.ssh/allsky_upload\npi 644 /home/pi/.ssh/allsky_upload.pub\npi 600 /home/pi/.ssh/known_hosts\npi 644 /home/pi/.lftp/rc\n',
    );
    const env = JSON.parse(await s.camera.sh('cat /home/pi/allsky/env.json'));
    expect(env).toMatchObject({ REMOTESERVER_HOST: 'collector', REMOTESERVER_PORT: '22', REMOTESERVER_USER: 'allsky-upload', REMOTESERVER_PASSWORD: 'n/a' });
    expect(env.REMOTESERVER_LFTP_COMMANDS).toBe(
      'set sftp:connect-program "ssh -F /dev/null -o StrictHostKeyChecking=yes -a -x -i /home/pi/.ssh/allsky_upload -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no"',
    );
    const settings = JSON.parse(await s.camera.sh('cat /home/pi/allsky/config/settings.json'));
    expect(settings).toMatchObject({ useremoteserver: true, remoteserverprotocol: 'sftp', remoteserverimagedir: 'images' });
    expect(await s.camera.sh('stat -c "%a %G" /home/pi/allsky/env.json')).toBe('664 www-data\n');
    // known_hosts is checked by ssh itself: the pinned key verifies the collector.
    expect((await s.camera.run(['ssh-keygen', '-F', 'collector', '-f', '/home/pi/.ssh/known_hosts'])).exitCode).toBe(0);

    await authorize(s);
    const second = await config(s);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('Already configured: nothing changed.');
    expect(second.stdout.match(/pass {2}images/g)?.length).toBe(5);
    // Cleaned up on the collector, and Allsky's own upload (its env.json commands, as pi) works.
    expect(await s.collector.sh(`find ${ROOT} -name "*sftp-setup-test*" -o -name "test-*"`)).toBe('');
    await s.camera.sh('head -c 1000 /dev/urandom > /tmp/image.jpg; chmod 644 /tmp/image.jpg');
    const lftpCommands = env.REMOTESERVER_LFTP_COMMANDS as string;
    await s.camera.sh(
      `printf '%s\\n' '${lftpCommands}' 'set dns:fatal-timeout 10; set net:max-retries 2; set net:timeout 10' 'open --user ${USER} --env-password -p 22 sftp://collector' 'cd .' 'cd images/' 'put /tmp/image.jpg -o image-123' 'rm -f image.jpg' 'mv image-123 image.jpg' > /tmp/up.lftp && LFTP_PASSWORD=n/a lftp -f /tmp/up.lftp`,
      { user: 'pi' },
    );
    expect((await s.collector.sh(`stat -c %s ${ROOT}/images/image.jpg`)).trim()).toBe('1000');

    // A third run changes nothing at all on the camera.
    const before = await cameraState(s.camera);
    const third = await config(s);
    expect(third.exitCode, third.stderr).toBe(0);
    expect(await cameraState(s.camera)).toBe(before);
  });

  it('keeps the settings.json hard link (same inode as settings_<camera>.json)', async () => {
    const s = await setup();
    const inode = () => s.camera.sh('stat -c "%i %h" /home/pi/allsky/config/settings.json /home/pi/allsky/config/settings_ZWO_ASI120MM.json');
    const before = await inode();
    expect(before.split('\n')[0]).toMatch(/ 2$/);
    expect((await config(s, ['--no-test'])).exitCode).toBe(0);
    expect(await inode()).toBe(before);
    expect(await s.camera.sh('grep -c remoteserverprotocol /home/pi/allsky/config/settings_ZWO_ASI120MM.json')).toBe('1\n');
    expect(await s.camera.sh('grep remoteserverprotocol /home/pi/allsky/config/settings.json')).toContain('"sftp"');
  });

  it('configures legacy Allsky (ftp-settings.sh) and uploads into its separate directories', async () => {
    const s = await setup('legacy');
    expect((await config(s, ['--no-test'])).exitCode).toBe(0);
    await authorize(s);
    const r = await config(s);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const d of ['images', 'videos', 'keograms', 'startrails']) expect(r.stdout).toContain(`pass  ${d}/`);
    const ftp = await s.camera.sh('cat /home/pi/allsky/config/ftp-settings.sh');
    expect(ftp).toContain('PROTOCOL="sftp"');
    expect(ftp).toContain('REMOTE_HOST="collector"');
    expect(ftp).toContain("REMOTE_PASSWORD='s3cr$t!'"); // an existing password is kept
    expect(ftp).toContain('# Extra lftp commands, separated by semicolons.');
  });

  it('runs as root for the owner of /home/pi/allsky: files end up owned by pi', async () => {
    const s = await setup();
    const r = await config(s, [], 'root');
    expect(r.exitCode, r.stdout + r.stderr).toBe(3);
    expect(await s.camera.sh('stat -c "%U:%G %a" /home/pi/.ssh /home/pi/.ssh/allsky_upload /home/pi/.ssh/known_hosts /home/pi/.lftp /home/pi/.lftp/rc /home/pi/allsky/config/settings.json'))
      .toBe('pi:pi 700\npi:pi 600\npi:pi 600\npi:pi 755\npi:pi 644\npi:pi 644\n');
    expect(await s.camera.sh('ls -A /root')).not.toContain('.lftp');
    await authorize(s);
    const again = await config(s, [], 'root');
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
  });

  it('replaces a stale known_hosts entry only with --yes, keeping a backup', async () => {
    const s = await setup();
    await s.camera.sh('mkdir -m 700 -p /home/pi/.ssh && ssh-keygen -q -t ed25519 -N "" -f /tmp/old && echo "collector $(cut -d" " -f1,2 /tmp/old.pub)" > /home/pi/.ssh/known_hosts && echo "other.host $(cut -d" " -f1,2 /tmp/old.pub)" >> /home/pi/.ssh/known_hosts && chown -R pi:pi /home/pi/.ssh && chmod 600 /home/pi/.ssh/known_hosts');
    const before = await cameraState(s.camera);
    const refused = await cli(s.camera, ['allsky-config', '--collector', 'collector', '--host-key', s.hostKey], { user: 'pi' });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/stale host key for collector.*--yes/);
    expect(await cameraState(s.camera)).toBe(before);

    const r = await config(s, ['--no-test']);
    expect(r.exitCode, r.stderr).toBe(0);
    const kh = await s.camera.sh('cat /home/pi/.ssh/known_hosts');
    expect(kh).toContain('other.host ssh-ed25519');
    expect(kh.split('\n').filter((l) => l.startsWith('collector ')).length).toBe(0);
    const collectorKey = (await s.collector.sh('cut -d" " -f2 /etc/ssh/ssh_host_ed25519_key.pub')).trim();
    expect(kh).toContain(collectorKey);
    const backups = await s.camera.sh('find /home/pi/.local/state/sftp-setup/backups -name known_hosts');
    expect(backups.trim()).not.toBe('');
  });

  it('refuses a wrong pinned fingerprint and changes nothing', async () => {
    const s = await setup();
    const wrong = (await s.camera.sh('ssh-keygen -q -t ed25519 -N "" -f /tmp/x && ssh-keygen -lf /tmp/x.pub')).split(' ')[1]!;
    const before = await cameraState(s.camera);
    const r = await cli(s.camera, ['allsky-config', '--collector', 'collector', '--host-key', wrong, '--yes'], { user: 'pi' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`not the pinned --host-key ${wrong}; nothing was changed`);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(await cameraState(s.camera)).toBe(before);
  });

  it('bad inputs: a clear one-line message, non-zero exit, every file unchanged', async () => {
    const s = await setup('current', { init: false });
    await s.camera.sh('useradd -m -s /bin/bash bob');
    const cases: { name: string; args: string[]; user?: string; prep?: string; code: number; msg: RegExp }[] = [
      { name: 'unreachable host', args: ['--collector', '10.250.0.77', '--yes'], code: 1, msg: /cannot reach the collector 10\.250\.0\.77 on port 22/ },
      { name: 'closed port', args: ['--collector', 'collector', '--port', '2222', '--yes'], code: 1, msg: /cannot reach the collector collector on port 2222/ },
      { name: 'malformed fingerprint', args: ['--collector', 'collector', '--host-key', 'SHA256:nope'], code: 2, msg: /--host-key "SHA256:nope" is not a SHA256 key fingerprint/ },
      { name: 'missing Allsky directory', args: ['--collector', 'collector', '--yes'], user: 'bob', code: 2, msg: /no Allsky install at \/home\/bob\/allsky.*--no-allsky/ },
      { name: 'no such --allsky-dir', args: ['--collector', 'collector', '--yes', '--allsky-dir', '/home/pi/nope'], code: 2, msg: /--allsky-dir \/home\/pi\/nope does not exist/ },
      { name: 'env.json not JSON', prep: 'echo "{ broken" > /home/pi/allsky/env.json', args: ['--collector', 'collector', '--yes'], code: 2, msg: /env\.json is not a JSON object/ },
      { name: 'settings.json read-only', prep: 'chmod 444 /home/pi/allsky/config/settings.json', args: ['--collector', 'collector', '--yes'], code: 2, msg: /settings\.json is read-only \(mode 0444\)/ },
      { name: 'reserved upload user', args: ['--collector', 'collector', '--user', 'root'], code: 2, msg: /--user "root" is a reserved system account/ },
    ];
    for (const c of cases) {
      if (c.prep) await s.camera.sh(c.prep);
      const before = await cameraState(s.camera, ['/home/bob']);
      const r = await cli(s.camera, ['allsky-config', ...c.args], { user: c.user ?? 'pi' });
      expect(r.exitCode, `${c.name}: ${r.stderr}`).toBe(c.code);
      expect(r.stderr, c.name).toMatch(c.msg);
      expect(r.stderr.trim().split('\n').length, `${c.name}: one line`).toBe(1);
      expect(await cameraState(s.camera, ['/home/bob']), c.name).toBe(before);
      if (c.prep) await installAllsky(s.camera);
    }
  });

  it('--dry-run shows the plan and changes nothing; --no-allsky writes only key, known_hosts and lftp rc', async () => {
    const s = await setup();
    const before = await cameraState(s.camera);
    const dry = await config(s, ['--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(dry.stdout).toContain('+\t"REMOTESERVER_HOST" : "collector",');
    expect(await cameraState(s.camera)).toBe(before);

    const r = await config(s, ['--no-allsky']);
    expect(r.exitCode).toBe(3);
    expect(await s.camera.sh('cat /home/pi/allsky/env.json')).not.toContain('collector');
    expect(await s.camera.sh('cat /home/pi/.lftp/rc')).toContain('set sftp:connect-program "ssh -F /dev/null -o StrictHostKeyChecking=yes -a -x -i /home/pi/.ssh/allsky_upload');
  });

  it('never re-pins a changed collector host key on trust: an impostor at the same address is refused', async () => {
    const s = await setup();
    expect((await config(s, ['--no-test'])).exitCode).toBe(0); // pinned to the collector's first keys
    /** New host keys on the collector (an impostor answering at its address); returns the new ed25519 fingerprint. */
    const impostor = async () => {
      await s.collector.sh(
        'rm -f /etc/ssh/ssh_host_*key* && ssh-keygen -A >/dev/null && kill -HUP "$(cat /run/sshd.pid)" && ' +
          'want=$(cut -d" " -f2 /etc/ssh/ssh_host_ed25519_key.pub); for i in $(seq 100); do ssh-keyscan -t ed25519 127.0.0.1 2>/dev/null | grep -qF "$want" && break; sleep 0.1; done',
      );
      return hostKeyFingerprint(s.collector);
    };
    const presented = async () => (await s.collector.sh('cut -d" " -f2 /etc/ssh/ssh_host_ed25519_key.pub')).trim();
    const b = await impostor();
    const before = await cameraState(s.camera);
    const khBefore = await s.camera.sh('cat /home/pi/.ssh/known_hosts');
    for (const extra of [[], ['--dry-run']]) {
      const r = await cli(s.camera, ['allsky-config', '--collector', 'collector', '--yes', '--no-test', ...extra], { user: 'pi' });
      expect(r.exitCode, `${extra.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/pins another host key for collector than the one the collector presents now .*: the collector may be an impostor; nothing was changed/);
      expect(r.stderr).toContain(`run again with --host-key ${b}, or with --replace-host-key`);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(await s.camera.sh('cat /home/pi/.ssh/known_hosts')).toBe(khBefore);
      expect(await cameraState(s.camera)).toBe(before);
    }
    // The new key, named and proved by the collector: replaced.
    const named = await cli(s.camera, ['allsky-config', '--collector', 'collector', '--host-key', b, '--yes', '--no-test'], { user: 'pi' });
    expect(named.exitCode, named.stderr).toBe(0);
    expect(await s.camera.sh('cat /home/pi/.ssh/known_hosts')).toContain(await presented());
    // Changed again: the flag that says it replaces a pinned key.
    await impostor();
    const again = await cli(s.camera, ['allsky-config', '--collector', 'collector', '--yes', '--no-test'], { user: 'pi' });
    expect(again.exitCode).toBe(2);
    const replaced = await cli(s.camera, ['allsky-config', '--collector', 'collector', '--replace-host-key', '--yes', '--no-test'], { user: 'pi' });
    expect(replaced.exitCode, replaced.stderr).toBe(0);
    const kh = await s.camera.sh('cat /home/pi/.ssh/known_hosts');
    expect(kh).toContain(await presented());
    expect(kh).not.toContain(khBefore.split(' ')[2]!.trim());
  });

  it('the connect-program keeps host-key checking when ~/.ssh/config turns it off; doctor flags an old line and a re-run updates it', async () => {
    const s = await setup();
    expect((await config(s, ['--no-test'])).exitCode).toBe(0);
    await authorize(s);
    await s.camera.sh(
      "printf 'Host *\\n    StrictHostKeyChecking no\\n    UserKnownHostsFile /dev/null\\n    LogLevel ERROR\\n' > /home/pi/.ssh/config && chown pi:pi /home/pi/.ssh/config && chmod 600 /home/pi/.ssh/config",
    );
    const env = JSON.parse(await s.camera.sh('cat /home/pi/allsky/env.json'));
    const words = splitWords(readConnectProgram(env.REMOTESERVER_LFTP_COMMANDS)!);
    const login = (w: string[], host: string) => s.camera.run([...w, '-s', '-l', USER, '-p', '22', host, 'sftp'], { user: 'pi', input: '' });
    // Control: by the pinned name the login works.
    expect((await login(words, 'collector')).exitCode).toBe(0);
    // By its address the collector's key is unknown (pinned under its name only): refused, whatever ~/.ssh/config says.
    const byAddr = await login(words, s.collectorAddr);
    expect(byAddr.exitCode).not.toBe(0);
    expect(byAddr.stderr).toMatch(/Host key verification failed/);
    // The first release's connect-program let that config accept any key.
    const old = ['ssh', '-a', '-x', '-i', '/home/pi/.ssh/allsky_upload', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'UpdateHostKeys=no'];
    expect((await login(old, s.collectorAddr)).exitCode).toBe(0);
    // Allsky's own upload to the address fails and leaves nothing on the collector.
    await s.camera.sh('head -c 100 /dev/urandom > /tmp/image.jpg; chmod 644 /tmp/image.jpg');
    await s.camera.run(['sh', '-c', 'cat > /tmp/up.lftp'], {
      input: `${env.REMOTESERVER_LFTP_COMMANDS}\nset net:max-retries 1; set net:timeout 5\nopen --user ${USER} --env-password -p 22 sftp://${s.collectorAddr}\ncd images/\nput /tmp/image.jpg -o impostor.jpg\n`,
    });
    const up = await s.camera.run(['sh', '-c', 'LFTP_PASSWORD=n/a lftp -f /tmp/up.lftp'], { user: 'pi' });
    expect(up.exitCode).not.toBe(0);
    expect((await s.collector.run(['test', '-e', `${ROOT}/images/impostor.jpg`])).exitCode).toBe(1);

    // An install made before this release: doctor names the old line; allsky-config brings the new one.
    const oldLine = `set sftp:connect-program "${old.join(' ')}"`;
    await s.camera.sh(`sed -i 's#set sftp:connect-program .*#${oldLine}#' /home/pi/.lftp/rc`);
    await s.camera.run(['sh', '-c', `node -e 'const f="/home/pi/allsky/env.json";const e=JSON.parse(require("fs").readFileSync(f,"utf8"));e.REMOTESERVER_LFTP_COMMANDS=process.argv[1];require("fs").writeFileSync(f,JSON.stringify(e,null,"\\t"))' '${oldLine}'`]);
    const cpCheck = async () => {
      const d = await cli(s.camera, ['doctor', '--json', '--no-probe'], { user: 'pi' });
      return (JSON.parse(d.stdout).checks as Array<{ id: string; status: string; evidence: string[]; fix?: string }>).find((c) => c.id === 'camera.connect-program')!;
    };
    const stale = await cpCheck();
    expect(stale.status).toBe('warn');
    expect(stale.evidence.join('\n')).toMatch(/does not pin host-key checking \(-F \/dev\/null -o StrictHostKeyChecking=yes\)/);
    expect(stale.fix).toMatch(/^sftp-setup allsky-config --collector collector/);
    const rerun = await config(s);
    expect(rerun.exitCode, rerun.stdout + rerun.stderr).toBe(0);
    expect(await s.camera.sh('cat /home/pi/.lftp/rc')).toContain('set sftp:connect-program "ssh -F /dev/null -o StrictHostKeyChecking=yes ');
    expect(JSON.parse(await s.camera.sh('cat /home/pi/allsky/env.json')).REMOTESERVER_LFTP_COMMANDS).toBe(env.REMOTESERVER_LFTP_COMMANDS);
    expect((await cpCheck()).status).toBe('pass');
  });
});


/**
 * `allsky-config --via ADMIN@COLLECTOR`: the key is authorized on the collector over the admin's own SSH
 * access (collector-side `keys add`) and the host key is read through that session, so no trust on first
 * use; and `--multiplex`: uploads share one SSH connection that closeSharedConnection ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeAdmin, CAMERA_KEY, cli, holdCollectorLock, installRemoteCli, KEYS_FILE, PI_KNOWN_HOSTS, REMOTE_CLI, startPair, USER, type Pair } from './helpers.js';
import { installAllsky } from './allsky-fixture.js';
import { closeSharedConnection } from '../../src/system/ssh-client.js';

let pair: Pair;

beforeAll(async () => {
  pair = await startPair();
  await Promise.all([
    installAllsky(pair.camera),
    cli(pair.collector, ['init', '--yes', '--no-verify']).then((r) => expect(r.exitCode, r.stderr).toBe(0)),
    installRemoteCli(pair.collector),
  ]);
  // The admin (root on the camera) can log in as root on the collector with its own key and known_hosts.
  await authorizeAdmin(pair.camera, pair.collector);
  await pair.camera.sh('ssh-keyscan -t ed25519 collector 2>/dev/null | grep -v "^#" > /root/.ssh/known_hosts');
});

afterAll(async () => {
  await pair?.destroy();
});

describe('allsky-config --via and --multiplex', () => {
  it('authorizes the key over the admin session, pins the host key read there, and uploads', async () => {
    const r = await cli(pair.camera, ['allsky-config', '--via', 'root@collector', '--yes'], { env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE_CLI } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/WARNING: trusting/);
    expect(r.stdout).toContain('key authorized on the collector via root@collector');
    expect(r.stdout.match(/pass {2}images/g)?.length).toBe(5);
    const pub = (await pair.camera.sh(`cut -d" " -f2 ${CAMERA_KEY}.pub`)).trim();
    expect(await pair.collector.sh(`cat ${KEYS_FILE}`)).toContain(pub);
    const hostKey = (await pair.collector.sh('cut -d" " -f2 /etc/ssh/ssh_host_ed25519_key.pub')).trim();
    expect(await pair.camera.sh(`cat ${PI_KNOWN_HOSTS}`)).toContain(hostKey);
    expect(await pair.camera.sh(`stat -c %U ${CAMERA_KEY} ${PI_KNOWN_HOSTS}`)).toBe('pi\npi\n');

    // Again: nothing changes, the key is already there.
    const again = await cli(pair.camera, ['allsky-config', '--via', 'root@collector', '--yes'], { env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE_CLI } });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('Already configured: nothing changed.');
  });

  it("the collector's keys add waits for its lock as long as the camera's --wait says, not its own default", async () => {
    const pid = await holdCollectorLock(pair.collector);
    try {
      const r = await cli(pair.camera, ['allsky-config', '--via', 'root@collector', '--yes', '--wait', '1'], { env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE_CLI } });
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`authorizing the key on collector failed \\(exit 1\\): .*another sftp-setup run \\(pid ${pid}\\) is still changing this host after 1 s \\(--wait 1\\)`));
    } finally {
      await pair.collector.sh(`kill ${pid}; rm -f /run/sftp-setup/lock`);
    }
  });

  it('--multiplex shares one connection, and closeSharedConnection ends it', async () => {
    const r = await cli(pair.camera, ['allsky-config', '--collector', 'collector', '--via', 'root@collector', '--multiplex', '--yes'], {
      env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE_CLI },
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const env = JSON.parse(await pair.camera.sh('cat /home/pi/allsky/env.json'));
    expect(env.REMOTESERVER_LFTP_COMMANDS).toContain('-o ControlMaster=auto -o ControlPath=/home/pi/.ssh/sftp-setup-cm/cm-%C -o ControlPersist=60');
    // The master the test upload opened is still there, owned by pi.
    expect(await pair.camera.sh('stat -c "%U %a" /home/pi/.ssh/sftp-setup-cm; ls /home/pi/.ssh/sftp-setup-cm | wc -l')).toBe('pi 700\n1\n');
    const pi = { name: 'pi', uid: Number(await pair.camera.sh('id -u pi')), gid: Number(await pair.camera.sh('id -g pi')), home: '/home/pi' };
    const closed = await pair.camera.run(['node', '--input-type=module', '-e',
      `import('${new URL('../../dist/system/ssh-client.js', import.meta.url).pathname}').then(async (m) => { const ok = await m.closeSharedConnection(${JSON.stringify(pi)}, { controlPath: '/home/pi/.ssh/sftp-setup-cm/cm-%C', host: 'collector', port: 22, user: '${USER}' }); console.log(ok); })`]);
    expect(closed.stdout.trim(), closed.stderr).toBe('true');
    // The master removes its socket as it exits, which OpenSSH 10 does just after answering -O exit.
    expect(await pair.camera.sh('for i in $(seq 50); do [ -z "$(ls -A /home/pi/.ssh/sftp-setup-cm)" ] && break; sleep 0.1; done; ls /home/pi/.ssh/sftp-setup-cm | wc -l')).toBe('0\n');
    expect(typeof closeSharedConnection).toBe('function');
  });
});

/**
 * `allsky-config --via ADMIN@COLLECTOR`: the key is authorized on the collector over the admin's own SSH
 * access (collector-side `keys add`) and the host key is read through that session, so no trust on first
 * use; and `--multiplex`: uploads share one SSH connection that closeSharedConnection ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, startPair, type Pair } from './helpers.js';
import { installAllsky } from './allsky-fixture.js';
import { closeSharedConnection } from '../../src/system/ssh-client.js';

// sftp-setup is not installed on the test collector: a wrapper in an overlaid directory stands in for it.
const REMOTE = '/opt/sftp-setup-test/sftp-setup';
let pair: Pair;

beforeAll(async () => {
  pair = await startPair();
  await Promise.all([
    installAllsky(pair.camera),
    cli(pair.collector, ['init', '--yes', '--no-verify']).then((r) => expect(r.exitCode, r.stderr).toBe(0)),
    pair.collector.sh(`mkdir -p /opt/sftp-setup-test && printf '#!/bin/sh\\nexec node ${CLI} "$@"\\n' > ${REMOTE} && chmod 755 ${REMOTE}`),
  ]);
  // The admin (root on the camera) can log in as root on the collector with its own key and known_hosts.
  await pair.camera.sh('mkdir -p -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519 && ssh-keyscan -t ed25519 collector 2>/dev/null | grep -v "^#" > /root/.ssh/known_hosts');
  const adminKey = await pair.camera.sh('cat /root/.ssh/id_ed25519.pub');
  await pair.collector.sh(`mkdir -p -m 700 /root/.ssh && echo '${adminKey.trim()}' >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys`);
});

afterAll(async () => {
  await pair?.destroy();
});

describe('allsky-config --via and --multiplex', () => {
  it('authorizes the key over the admin session, pins the host key read there, and uploads', async () => {
    const r = await cli(pair.camera, ['allsky-config', '--via', 'root@collector', '--yes'], { env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/WARNING: trusting/);
    expect(r.stdout).toContain('key authorized on the collector via root@collector');
    expect(r.stdout.match(/pass {2}images/g)?.length).toBe(5);
    const pub = (await pair.camera.sh('cut -d" " -f2 /home/pi/.ssh/allsky_upload.pub')).trim();
    expect(await pair.collector.sh('cat /etc/ssh/sftp-setup/authorized_keys/allsky-upload')).toContain(pub);
    const hostKey = (await pair.collector.sh('cut -d" " -f2 /etc/ssh/ssh_host_ed25519_key.pub')).trim();
    expect(await pair.camera.sh('cat /home/pi/.ssh/known_hosts')).toContain(hostKey);
    expect(await pair.camera.sh('stat -c %U /home/pi/.ssh/allsky_upload /home/pi/.ssh/known_hosts')).toBe('pi\npi\n');

    // Again: nothing changes, the key is already there.
    const again = await cli(pair.camera, ['allsky-config', '--via', 'root@collector', '--yes'], { env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE } });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('Already configured: nothing changed.');
  });

  it('--multiplex shares one connection, and closeSharedConnection ends it', async () => {
    const r = await cli(pair.camera, ['allsky-config', '--collector', 'collector', '--via', 'root@collector', '--multiplex', '--yes'], {
      env: { SFTP_SETUP_REMOTE_COMMAND: REMOTE },
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const env = JSON.parse(await pair.camera.sh('cat /home/pi/allsky/env.json'));
    expect(env.REMOTESERVER_LFTP_COMMANDS).toContain('-o ControlMaster=auto -o ControlPath=/home/pi/.ssh/sftp-setup-cm/cm-%C -o ControlPersist=60');
    // The master the test upload opened is still there, owned by pi.
    expect(await pair.camera.sh('stat -c "%U %a" /home/pi/.ssh/sftp-setup-cm; ls /home/pi/.ssh/sftp-setup-cm | wc -l')).toBe('pi 700\n1\n');
    const pi = { name: 'pi', uid: Number(await pair.camera.sh('id -u pi')), gid: Number(await pair.camera.sh('id -g pi')), home: '/home/pi' };
    const closed = await pair.camera.run(['node', '--input-type=module', '-e',
      `import('${new URL('../../dist/system/ssh-client.js', import.meta.url).pathname}').then(async (m) => { const ok = await m.closeSharedConnection(${JSON.stringify(pi)}, { controlPath: '/home/pi/.ssh/sftp-setup-cm/cm-%C', host: 'collector', port: 22, user: 'allsky-upload' }); console.log(ok); })`]);
    expect(closed.stdout.trim(), closed.stderr).toBe('true');
    // The master removes its socket as it exits, which OpenSSH 10 does just after answering -O exit.
    expect(await pair.camera.sh('for i in $(seq 50); do [ -z "$(ls -A /home/pi/.ssh/sftp-setup-cm)" ] && break; sleep 0.1; done; ls /home/pi/.ssh/sftp-setup-cm | wc -l')).toBe('0\n');
    expect(typeof closeSharedConnection).toBe('function');
  });
});

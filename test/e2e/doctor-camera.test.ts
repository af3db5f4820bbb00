/**
 * doctor on the camera, by fault injection: a collector made by init and a camera set up by hand the way
 * allsky-config sets it up (key in ~pi/.ssh, lftp rc, known_hosts from ssh-keyscan, Allsky's settings).
 * Break one thing, check that doctor fails naming it, apply its fix, check that it passes again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAMERA_KEY, cli, DEST, KEYS_FILE, makeKey, PI_KNOWN_HOSTS, ROOT, snapshot, sshOptions, startPair, USER, type Pair } from './helpers.js';
import { LIMITS_FILE_NAME } from '../../src/sshd/limits.js';

const LIMITS = `/etc/ssh/sshd_config.d/${LIMITS_FILE_NAME}`;

/** The connect-program this camera's Allsky settings hold (set up by hand, not by allsky-config). */
const CP = `ssh -a -x -i ${CAMERA_KEY} -o IdentitiesOnly=yes -o BatchMode=yes`;

interface Check { id: string; title: string; status: string; evidence: string[]; fix?: string; reason?: string }

describe('doctor on the camera', () => {
  let p: Pair;
  let pub: string;

  const setEnv = (host: string) =>
    p.camera.sh(`cat > /home/pi/allsky/env.json <<'J'
${JSON.stringify({ REMOTESERVER_HOST: host, REMOTESERVER_PORT: '22', REMOTESERVER_USER: USER, REMOTESERVER_PASSWORD: 'n/a', REMOTESERVER_LFTP_COMMANDS: `set sftp:connect-program "${CP}"` })}
J
chown pi:pi /home/pi/allsky/env.json`);
  const doctor = async (args: string[] = [], user?: string) => {
    const r = await cli(p.camera, ['doctor', '--json', ...args], { user });
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { ok: boolean; role: string; checks: Check[] };
    return { code: r.exitCode, report, failed: report.checks.filter((c) => c.status === 'fail') };
  };
  const failedCheck = async (id: string, args: string[] = []) => {
    const d = await doctor(args);
    expect(d.code).toBe(1);
    const c = d.failed.find((x) => x.id === id);
    expect(c, `expected ${id} to fail; not passed: ${JSON.stringify(d.report.checks.filter((x) => x.status !== "pass"), null, 1)}`).toBeDefined();
    return c!;
  };
  const healthy = async (args: string[] = [], user?: string) => {
    const d = await doctor(args, user);
    expect(d.failed, JSON.stringify(d.failed, null, 1)).toEqual([]);
    expect(d.code).toBe(0);
    return d;
  };
  /** A printed camera fix, run as the Allsky owner (doctor ran as root, so it says sudo -u pi). */
  const runFix = (fix: string | undefined) => {
    expect(fix).toBeTruthy();
    return p.camera.sh(fix!.replace(/sudo -u pi /g, ''), { user: 'pi' });
  };

  beforeAll(async () => {
    p = await startPair();
    await p.camera.sh('useradd -m -s /bin/bash pi && install -d -o pi -g pi -m 0700 /home/pi/.ssh && install -d -o pi -g pi /home/pi/.lftp /home/pi/allsky /home/pi/allsky/config');
    pub = await makeKey(p.camera, CAMERA_KEY, { user: 'pi' });
    const r = await cli(p.collector, ['init', '--yes', '--key', '-'], { input: pub });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    await p.camera.sh(`echo 'set sftp:connect-program "${CP}"' > /home/pi/.lftp/rc && ssh-keyscan -t ed25519 collector 2>/dev/null | grep -v '^#' > ${PI_KNOWN_HOSTS}`, { user: 'pi' });
    await p.camera.sh(`cat > /home/pi/allsky/config/settings.json <<'J'
{"useremoteserver": true, "remoteserverprotocol": "sftp", "remoteserverimagedir": "images", "imageuploadfrequency": 1}
J
echo v2024.12.06 > /home/pi/allsky/version; chown -R pi:pi /home/pi/allsky`);
    await setEnv('collector');
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('passes on a healthy camera, as root and as the Allsky owner, and changes nothing on the camera', async () => {
    const before = await snapshot(p.camera, ['/home/pi', '/etc/ssh']);
    const d = await healthy();
    expect(d.report.role).toBe('camera');
    expect(d.report.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['camera.key', 'camera.known-hosts', 'camera.login', 'camera.remote-dirs']));
    expect(d.report.checks.find((c) => c.id === 'camera.remote-dirs')?.title).toContain('images/videos/thumbnails');
    await healthy([], 'pi');
    expect(await snapshot(p.camera, ['/home/pi', '/etc/ssh'])).toBe(before);
    // nothing left behind on the collector
    expect(await p.collector.sh(`find ${ROOT} -name ".sftp-setup*"`)).toBe('');
  });

  it('a private key readable by others: named, chmod fixes it', async () => {
    await p.camera.sh(`chmod 0644 ${CAMERA_KEY}`);
    const c = await failedCheck('camera.key');
    expect(c.evidence.join('\n')).toMatch(/readable by others/);
    await runFix(c.fix);
    await healthy(['--no-probe']);
  });

  it('a passphrase-protected key: named', async () => {
    await p.camera.sh(`ssh-keygen -q -p -P '' -N secret -f ${CAMERA_KEY}`, { user: 'pi' });
    const c = await failedCheck('camera.key');
    expect(c.evidence.join('\n')).toMatch(/has a passphrase/);
    expect(c.fix).toContain(`ssh-keygen -p -N '' -f ${CAMERA_KEY}`);
    await p.camera.sh(`ssh-keygen -q -p -P secret -N '' -f ${CAMERA_KEY}`, { user: 'pi' });
    await healthy(['--no-probe']);
  });

  it('a changed collector host key: names the stale line; the fix re-pins it', async () => {
    await p.collector.sh("rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && kill -HUP \"$(cat /run/sshd.pid)\" && sleep 0.3");
    const c = await failedCheck('camera.known-hosts');
    expect(c.evidence[0]).toMatch(/^\/home\/pi\/.ssh\/known_hosts line 1: /);
    expect(c.reason).toMatch(/host key changed/);
    await runFix(c.fix);
    await healthy();
  });

  it('the camera pointing at the wrong host, and a stale known_hosts after the collector\'s address changed', async () => {
    await setEnv('nosuchhost.invalid');
    let c = await failedCheck('camera.reach');
    expect(c.evidence[0]).toMatch(/nosuchhost.invalid does not resolve/);
    // the collector is now known by its address: known_hosts has only the old name
    await setEnv(p.collectorAddr);
    c = await failedCheck('camera.known-hosts');
    expect(c.evidence[0]).toBe(`/home/pi/.ssh/known_hosts: no entry for ${p.collectorAddr}`);
    await runFix(c.fix);
    await healthy();
    await setEnv('collector');
  });

  it('key not authorized on the collector: the login fails and says where to look', async () => {
    const saved = await p.collector.sh(`cat ${KEYS_FILE}`);
    await p.collector.sh(`: > ${KEYS_FILE}`);
    const c = await failedCheck('camera.login');
    expect(c.evidence[0]).toMatch(/Permission denied \(publickey\)/);
    expect(c.reason).toMatch(/refused the key/);
    await p.collector.sh(`cat > ${KEYS_FILE} <<'K'\n${saved}K`);
    await healthy();
  });

  it('a missing Allsky subdirectory on the collector: the camera names it', async () => {
    await p.collector.sh(`rmdir ${ROOT}/images/keograms`);
    const c = await failedCheck('camera.remote-dirs');
    expect(c.evidence[0]).toMatch(/^images\/keograms: /);
    expect(c.reason).toMatch(/does not exist on the collector/);
    const fixed = await cli(p.collector, ['doctor', '--fix', '--no-probe']);
    expect(fixed.exitCode, fixed.stdout).toBe(0);
    await healthy();
  });

  // Last: it leaves the camera refused by the collector for a while.
  it('sshd refusing the camera after failed logins (PerSourcePenalties, where sshd -T has it) is named on both ends', async () => {
    const penalties = (await p.collector.run(['sh', '-c', '/usr/sbin/sshd -T 2>/dev/null | grep -i "^persourcepenalties "'])).exitCode === 0;
    const exempt = p.collector.sshdArgs;
    p.collector.sshdArgs = [];
    // sshd's own penalties, as on a collector without init's connection limits (they shorten authfail to 1 s,
    // so that a camera with a stale key is not locked out: then there would be nothing to diagnose).
    await p.collector.sh(`mv ${LIMITS} /root/limits.conf 2>/dev/null; true`);
    await p.collector.stopSshd();
    await p.collector.startSshd();
    try {
      // Five logins with a key the collector does not know, as a misconfigured camera would retry.
      await p.camera.sh(`ssh-keygen -q -t ed25519 -N '' -f /tmp/stranger && for i in 1 2 3 4 5; do` +
        ` ssh ${sshOptions({ key: '/tmp/stranger', knownHosts: PI_KNOWN_HOSTS }).sh} ${DEST} true; done; true`);
      const camera = await doctor();
      const reach = camera.report.checks.find((c) => c.id === 'camera.reach');
      const r = await cli(p.collector, ['doctor', '--json', '--no-probe']);
      const collector = JSON.parse(r.stdout) as { checks: Check[] };
      if (penalties) {
        expect(reach?.status).toBe('fail');
        expect(reach?.evidence[0]).toMatch(/Not allowed at this time/);
        expect(reach?.reason).toMatch(/refuses this camera's address for a while \(PerSourcePenalties/);
        expect(reach?.fix).toMatch(/PerSourcePenaltyExemptList/);
        const log = collector.checks.find((c) => c.id === 'logs.recent' && c.status === 'fail' && /PerSourcePenalties/.test(c.reason ?? ''));
        expect(log?.title).toBe(`latest login of ${USER} from ${p.cameraAddr} failed`);
        expect(log?.evidence.join('\n')).toMatch(/drop connection #\d+ from \[10\.250\.0\.2\]:\d+ on .* penalty: failed authentication/);
        expect(log?.fix).toContain(`"PerSourcePenaltyExemptList ${p.cameraAddr}" to /etc/ssh/sshd_config before any Match block`);
      } else {
        expect(reach?.status).toBe('pass');
        // Only the collector's sshd.penalties check names the feature, to say this sshd has none.
        const named = collector.checks.filter((c) => c.id === 'sshd.penalties');
        expect(named.map((c) => c.status)).toEqual(['skip']);
        const others = collector.checks.filter((c) => c.id !== 'sshd.penalties');
        expect(JSON.stringify(camera.report.checks) + JSON.stringify(others)).not.toMatch(/PerSourcePenalt/);
      }
    } finally {
      p.collector.sshdArgs = exempt;
      await p.collector.sh(`[ ! -e /root/limits.conf ] || mv /root/limits.conf ${LIMITS}`);
      await p.collector.stopSshd();
      await p.collector.startSshd();
    }
  });
});

/**
 * `sftp-setup sync` (issue 16) between a real collector (sshd, init) and a camera configured by allsky-config,
 * with an Allsky-like archive of several days: delivery byte for byte, nothing sent twice, the link cut while
 * new files appear, SIGKILL in the middle of a file, an interface that is down (no connection at all), a
 * spool deleted only after the collector has the full size, a collector disk that fills up, hostile names,
 * and the systemd timer (files and reversal; the hosts have no running systemd).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cli, cliPath, ROOT, snapshot, startPair, type Pair } from './helpers.js';
import { installAllsky } from './allsky-fixture.js';

/**
 * Root running sync from the copy of the build the Allsky owner can read: root's sync runs again as pi, and in
 * a 0700 home (a clone in /home/user, as CI makes it) pi could not read the clone's own bin/sftp-setup.
 */
const rootCli = async (host: Pair['camera'], args: string[], opts: Parameters<typeof cli>[2] = {}) =>
  host.run(['node', await cliPath(host, 'pi'), ...args], opts);
const ARCHIVE = '/home/pi/allsky/images';
const REMOTE = `${ROOT}/archive`;
let pair: Pair | undefined;

afterEach(async () => {
  await pair?.destroy();
  pair = undefined;
});

/** A configured camera whose key the collector accepts; the camera's /sys shows its own interfaces. */
async function setup(): Promise<Pair> {
  pair = await startPair();
  const p = pair;
  await Promise.all([
    installAllsky(p.camera),
    cli(p.collector, ['init', '--yes', '--no-verify']).then((r) => expect(r.exitCode, r.stderr).toBe(0)),
  ]);
  const hostKey = (await p.collector.sh('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1]!;
  const c = await cli(p.camera, ['allsky-config', '--collector', 'collector', '--host-key', hostKey, '--yes', '--no-test'], { user: 'pi' });
  expect(c.exitCode, c.stdout + c.stderr).toBe(0);
  const pub = await p.camera.sh('cat /home/pi/.ssh/allsky_upload.pub');
  const a = await cli(p.collector, ['init', '--yes', '--no-verify', '--key', '-'], { input: pub });
  expect(a.exitCode, a.stderr).toBe(0);
  // The host's own sysfs: /sys/class/net then lists this network namespace's interfaces (eth0, lo).
  await p.camera.sh('mount -t sysfs sysfs /sys');
  return p;
}

/**
 * Allsky's layout for each day: images, thumbnails, keogram, startrails and the timelapse, of realistic
 * sizes (scaled down: about 7 MB a day), dated an hour back (older than sync's --min-age).
 */
async function makeDays(p: Pair, days: string[], root = ARCHIVE, images = 20): Promise<void> {
  const script = days.map((d) => `
    mkdir -p ${root}/${d}/thumbnails ${root}/${d}/keogram ${root}/${d}/startrails
    for i in $(seq -f %02g 1 ${images}); do
      head -c $((150000 + 10007 * 1$i % 100000)) /dev/urandom > ${root}/${d}/image-${d}21\${i}00.jpg
      head -c $((8000 + 37 * 1$i)) /dev/urandom > ${root}/${d}/thumbnails/image-${d}21\${i}00.jpg
    done
    head -c 480000 /dev/urandom > ${root}/${d}/keogram/keogram-${d}.jpg
    head -c 390000 /dev/urandom > ${root}/${d}/startrails/startrails-${d}.jpg
    head -c 2100000 /dev/urandom > ${root}/${d}/allsky-${d}.mp4`).join('\n');
  await p.camera.sh(`set -e\n${script}\nchown -R pi:pi ${root}\nfind ${root} -exec touch -h -d '1 hour ago' {} +`);
}

/** sha256 of every file below a directory, paths relative to it. */
const sums = (h: Pair['camera'], dir: string) => h.sh(`cd ${dir} && find . -type f -print0 | sort -z | xargs -0 -r sha256sum`);

const sync = (p: Pair, args: string[] = [], user = 'pi') => cli(p.camera, ['sync', '--json', ...args], { user, timeoutMs: 300_000 });
const report = (r: { stdout: string }) => JSON.parse(r.stdout);

describe('sync', () => {
  it('delivers the archive byte for byte, sends nothing twice, and catches up after the link was cut', async () => {
    const p = await setup();
    await makeDays(p, ['20240101', '20240102', '20240103']);
    const total = Number((await p.camera.sh(`find ${ARCHIVE} -type f | wc -l`)).trim());

    const dry = await sync(p, ['--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(report(dry)).toMatchObject({ ok: true, dryRun: true, wouldSend: { files: total }, delivered: { files: 0 } });
    expect(await p.collector.sh(`find ${REMOTE} -mindepth 1`)).toBe('');
    expect((await p.camera.run(['test', '-e', '/home/pi/.local/state/sftp-setup/sync.json'])).exitCode).toBe(1);

    const first = await sync(p);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(report(first)).toMatchObject({ ok: true, delivered: { files: total }, present: { files: 0 }, backlog: { files: 0 } });
    expect(await sums(p.collector, REMOTE)).toBe(await sums(p.camera, ARCHIVE));
    // Delivered as the upload account, no part file left.
    expect(await p.collector.sh(`find ${REMOTE} ! -user allsky-upload -o -name '*sftp-setup-part*'`)).toBe('');

    const second = await sync(p);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(report(second)).toMatchObject({ delivered: { files: 0, bytes: 0 }, present: { files: total } });

    // The link goes down; Allsky keeps writing (its own uploads fail), sync fails and says why.
    await p.camera.sh('ip link set eth0 down');
    await makeDays(p, ['20240104']);
    const newFiles = Number((await p.camera.sh(`find ${ARCHIVE}/20240104 -type f | wc -l`)).trim());
    await p.camera.sh(`touch -d '1 hour ago' ${ARCHIVE}/20240103/image-20240103210100.jpg && head -c 1234 /dev/urandom >> ${ARCHIVE}/20240103/keogram/keogram-20240103.jpg && touch -d '1 hour ago' ${ARCHIVE}/20240103/keogram/keogram-20240103.jpg`);
    const down = await cli(p.camera, ['sync', '--json', '--retries', '1'], { user: 'pi', env: { SFTP_SETUP_SYNC_BACKOFF_MS: '50' } });
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toMatch(/the collector did not answer or the connection broke \(.*Network is unreachable/);
    // Without a listing the backlog is estimated: none after the last run, plus the files that appeared since.
    expect(report(down)).toMatchObject({ ok: false, attempts: 2, delivered: { files: 0 }, backlog: { files: newFiles } });
    const human = await cli(p.camera, ['sync', '--retries', '1'], { user: 'pi', env: { SFTP_SETUP_SYNC_BACKOFF_MS: '50' } });
    expect(human.stdout).toMatch(/^the collector did not answer .*; trying again in 0 s \(attempt 2 of 2\)$/m);
    const failing = JSON.parse((await cli(p.camera, ['doctor', '--role', 'camera', '--no-probe', '--json'], { user: 'pi' })).stdout);
    expect(failing.checks.find((c: { id: string }) => c.id === 'camera.sync')).toMatchObject({ status: 'fail', evidence: expect.arrayContaining([expect.stringMatching(/^last failure .*: the collector did not answer/)]) });
    const cameraBefore = await snapshot(p.camera, [ARCHIVE]);
    await p.camera.sh('ip link set eth0 up');
    await p.camera.sh('for i in $(seq 100); do ssh-keyscan -T 1 collector 2>/dev/null | grep -q "^[^#]" && exit 0; sleep 0.1; done; exit 1');

    const back = await sync(p);
    expect(back.exitCode, back.stderr).toBe(0);
    // exactly the new day and the one file that changed size
    expect(report(back)).toMatchObject({ delivered: { files: newFiles + 1 }, present: { files: total - 1 } });
    expect(await sums(p.collector, REMOTE)).toBe(await sums(p.camera, ARCHIVE));
    expect(await snapshot(p.camera, [ARCHIVE])).toBe(cameraBefore); // the camera's files are only read
    expect(report(await sync(p))).toMatchObject({ delivered: { files: 0 } });

    // A file written a moment ago may still grow: it waits for a later run (--min-age, 120 s by default).
    await p.camera.sh(`head -c 5000 /dev/urandom > ${ARCHIVE}/20240104/image-20240104235900.jpg && chown pi:pi ${ARCHIVE}/20240104/image-20240104235900.jpg`);
    expect(report(await sync(p))).toMatchObject({ delivered: { files: 0 }, waiting: { files: 1, bytes: 5000 }, backlog: { files: 1, bytes: 5000 } });
    expect(report(await sync(p, ['--min-age', '0']))).toMatchObject({ delivered: { files: 1, bytes: 5000 }, waiting: { files: 0 }, backlog: { files: 0 } });

    // doctor shows the last success and the backlog from the state file.
    const d = await cli(p.camera, ['doctor', '--role', 'camera', '--no-probe', '--json'], { user: 'pi' });
    const check = JSON.parse(d.stdout).checks.find((c: { id: string }) => c.id === 'camera.sync');
    expect(check.status).toBe('pass');
    expect(check.evidence[0]).toMatch(/^last successful sync .* ago\): 1 files, 4.9 KiB$/);
    expect(check.evidence.join('\n')).toMatch(/backlog 0 files/);
  });

  it('killed with SIGKILL in the middle of a file, resumes it on the next run and converges', async () => {
    const p = await setup();
    await makeDays(p, ['20240105'], ARCHIVE, 4);
    await p.camera.sh(`head -c 6000000 /dev/urandom > ${ARCHIVE}/20240105/allsky-20240105.mp4 && chown pi:pi ${ARCHIVE}/20240105/allsky-20240105.mp4 && touch -d '1 hour ago' ${ARCHIVE}/20240105/allsky-20240105.mp4`);
    const part = `${REMOTE}/20240105/.allsky-20240105.mp4.sftp-setup-part`;
    // A slow run in its own process group, killed (node, sftp and ssh at once) once the big file is partly there.
    const cmd = `exec setpriv --reuid=pi --regid=pi --init-groups env HOME=/home/pi node ${await cliPath(p.camera, 'pi')} sync --limit-rate 1M`;
    await p.camera.sh(`setsid sh -c 'echo $$ > /tmp/sync.pid; ${cmd}' > /tmp/sync.log 2>&1 < /dev/null &`);
    await p.collector.sh(`for i in $(seq 600); do [ "$(stat -c %s ${part} 2>/dev/null || echo 0)" -gt 100000 ] && exit 0; sleep 0.1; done; exit 1`);
    await p.camera.sh('env kill -KILL -- -$(cat /tmp/sync.pid); for i in $(seq 100); do pgrep -x sftp >/dev/null || exit 0; sleep 0.05; done; exit 1');
    const cut = Number((await p.collector.sh(`stat -c %s ${part}`)).trim());
    expect(cut).toBeGreaterThan(100000);
    expect(cut).toBeLessThan(6000000);
    expect(await p.collector.sh(`ls ${REMOTE}/20240105`)).not.toContain('allsky-20240105.mp4');

    const again = await sync(p);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(report(again)).toMatchObject({ ok: true, resumed: 1 });
    // Everything but the part of the cut file already on the collector.
    const total = Number((await p.camera.sh(`find ${ARCHIVE} -type f -printf '%s\\n' | awk '{ n += $1 } END { print n }'`)).trim());
    expect(report(again).delivered.bytes).toBe(total - cut);
    expect(await sums(p.collector, REMOTE)).toBe(await sums(p.camera, ARCHIVE));
    expect(await p.collector.sh(`find ${REMOTE} -name '*sftp-setup-part*'`)).toBe('');
    expect(report(await sync(p))).toMatchObject({ delivered: { files: 0 } });
  });

  it('with the chosen interface down or without carrier makes no connection at all', async () => {
    const p = await setup();
    await makeDays(p, ['20240106'], ARCHIVE, 3);
    await p.collector.stopSshd();
    await p.collector.startSshd(['-o', 'LogLevel=VERBOSE']); // logs every TCP connection ("Connection from …")
    const connections = async () => Number((await p.collector.sh('grep -c "Connection from" /var/log/auth.log || true')).trim());
    await p.camera.sh('ip link add wlan0 type veth peer name wlan0p');
    const before = await connections();
    const cameraBefore = await snapshot(p.camera, [ARCHIVE, '/home/pi/.local/state']);

    const down = await cli(p.camera, ['sync', '--only-when-interface', 'wlan0'], { user: 'pi' });
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/^Not syncing: wlan0 is down \(no connection made\)\. Backlog about \d+ files/m);
    await p.camera.sh('ip link set wlan0 up'); // up, but its peer is down: no carrier
    const noCarrier = await sync(p, ['--only-when-interface', 'wlan0']);
    expect(report(noCarrier)).toMatchObject({ ok: true, skipped: 'wlan0 is lowerlayerdown', delivered: { files: 0 } });
    expect(report(await sync(p, ['--only-when-interface', 'wlan9']))).toMatchObject({ skipped: 'wlan9 does not exist' });
    expect(await connections()).toBe(before);
    // Only the state file changed (the skip and the estimated backlog are recorded for doctor).
    expect((await snapshot(p.camera, [ARCHIVE]))).toBe(cameraBefore.split('\n').filter((l) => !l.includes('/home/pi/.local/state')).join('\n'));
    expect(JSON.parse(await p.camera.sh('cat /home/pi/.local/state/sftp-setup/sync.json'))).toMatchObject({ lastSkip: { reason: 'wlan9 does not exist' }, backlog: { files: 9, estimated: true } });

    await p.camera.sh('ip link set wlan0p up');
    // On a terminal (script(1) gives it one): a progress line rewritten in place, then the summary.
    const cmd = `node ${await cliPath(p.camera, 'pi')} sync --only-when-interface wlan0`;
    const up = await p.camera.run(['script', '-qec', cmd, '/dev/null'], { user: 'pi' });
    expect(up.exitCode, up.stdout).toBe(0);
    expect(up.stdout).toMatch(/\r {2}0\/9 files {2}0\.0\/\d\.\d MiB {2}0 B\/s {2}ETA —\x1b\[K/);
    expect(up.stdout).toMatch(/\r\x1b\[KDelivered 9 files \(\d\.\d MiB\) in \d+ s, .*; 0 already on the collector; backlog 0\.\r?\n/);
    expect(await connections()).toBeGreaterThan(before);
    expect(report(await sync(p, ['--only-when-interface', 'wlan0']))).toMatchObject({ delivered: { files: 0 }, present: { files: 9 } });
  });

  it('deletes spool files only once the collector has their full size; a full collector disk stops the run, nothing lost', async () => {
    const p = await setup();
    const spool = '/home/pi/spool';
    await p.camera.sh(`mkdir -p ${spool} && chown pi:pi ${spool}`);
    await makeDays(p, ['20240201', '20240202'], spool);
    const original = await sums(p.camera, spool);
    const files = original.trim().split('\n').length;
    await p.collector.sh(`mount -t tmpfs -o size=4m,mode=0755,uid=$(id -u allsky-upload),gid=$(id -g allsky-upload) small ${REMOTE}`);

    // Bad input changes nothing.
    const camera = () => snapshot(p.camera, [spool, '/home/pi/.local/state']);
    const untouched = await camera();
    for (const bad of [['--delete-after-upload', '/etc'], ['--delete-after-upload', ARCHIVE], ['--delete-after-upload', 'spool'], ['--limit-rate', 'fast']]) {
      const r = await cli(p.camera, ['sync', '--from', spool, ...bad], { user: 'pi' });
      expect(r.exitCode, `${bad.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await camera()).toBe(untouched);

    // The disk fills up: the run stops, says why, and the camera's files are all still there.
    const full = await cli(p.camera, ['sync', '--from', spool], { user: 'pi' });
    expect(full.exitCode).toBe(1);
    expect(full.stderr).toMatch(/the collector could not store archive\/2024020\d\/\S+ \(write remote .*\): its disk is probably full — fix: free space on the collector/);
    expect(await sums(p.camera, spool)).toBe(original);

    // With the spool named, what the collector has in full goes from the camera, nothing else.
    const r2 = await sync(p, ['--from', spool, '--delete-after-upload', spool]);
    expect(r2.exitCode).toBe(1);
    const deleted: string[] = report(r2).deleted;
    expect(deleted.length).toBeGreaterThan(0);
    for (const rel of deleted) {
      const want = original.split('\n').find((l) => l.endsWith(`./${rel}`))!;
      expect(await p.collector.sh(`cd ${REMOTE} && sha256sum ./${rel}`)).toBe(`${want}\n`);
      expect((await p.camera.run(['test', '-e', `${spool}/${rel}`])).exitCode).toBe(1);
    }
    const left = (await sums(p.camera, spool)).trim().split('\n');
    expect(left.length + deleted.length).toBe(files);
    for (const l of left) expect(original).toContain(l); // the rest untouched

    // Space again: the next run delivers the rest, resuming the cut file, and empties the spool.
    await p.collector.sh(`mount -o remount,size=64m ${REMOTE}`);
    const r3 = await sync(p, ['--from', spool, '--delete-after-upload', spool]);
    expect(r3.exitCode, r3.stderr).toBe(0);
    expect(report(r3)).toMatchObject({ ok: true, resumed: 1, backlog: { files: 0 } });
    expect(await p.camera.sh(`find ${spool} -type f`)).toBe('');
    expect(await sums(p.collector, REMOTE)).toBe(original);
  });

  it('skips hostile names in the camera archive and reports them escaped; never trusts a forged remote listing', async () => {
    const p = await setup();
    const day = `${ARCHIVE}/20240301`;
    await makeDays(p, ['20240301'], ARCHIVE, 2);
    const hostile = ['x$(touch pwned).jpg', 'a;touch pwned;.jpg', 'new\nline.jpg', 'esc\x1b[31mred.jpg', '!touch pwned', '-rf', 'sp ace.jpg'];
    await p.camera.sh(`cd ${day} && ${hostile.map((n) => `printf x > "$(printf '%b' '${n.replace(/\x1b/g, '\\033')}')"`).join(' && ')}` +
      ` && mkdir "${ARCHIVE}/2024030\\$(id)" && printf x > "${ARCHIVE}/2024030\\$(id)/y.jpg" && ln -s /etc/shadow ${day}/shadow.jpg && mkfifo ${day}/fifo.jpg` +
      ` && chown -hR pi:pi ${ARCHIVE} && find ${ARCHIVE} -exec touch -h -d '1 hour ago' {} +`);
    // Root acting for the owner: sync runs as pi, so the link would not even be readable.
    const r = await rootCli(p.camera, ['sync'], { timeoutMs: 300_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/\x1b/);
    expect(r.stdout).toContain('skipped  "20240301/new\\nline.jpg" — not a plain name');
    expect(r.stdout).toContain('skipped  "20240301/esc\\u001b[31mred.jpg" — not a plain name');
    expect(r.stdout).toContain('skipped  20240301/shadow.jpg — a link (not followed)');
    expect(r.stdout).toContain('skipped  20240301/fifo.jpg — not a regular file');
    expect(r.stdout).toContain('skipped  "2024030$(id)" — not a plain name');
    expect(r.stdout).toMatch(/^Delivered 7 files .* 10 skipped \(see above\)/m);
    expect(await p.camera.sh('find / -xdev -name pwned 2>/dev/null; true')).toBe('');
    expect(await p.collector.sh(`cd ${REMOTE} && find . | sort`)).toBe(['.', './20240301', './20240301/allsky-20240301.mp4', './20240301/image-20240301210100.jpg', './20240301/image-20240301210200.jpg',
      './20240301/keogram', './20240301/keogram/keogram-20240301.jpg', './20240301/startrails', './20240301/startrails/startrails-20240301.jpg',
      './20240301/thumbnails', './20240301/thumbnails/image-20240301210100.jpg', './20240301/thumbnails/image-20240301210200.jpg'].join('\n') + '\n');
    expect(await p.camera.sh('stat -c %U /home/pi/.local/state/sftp-setup/sync.json')).toBe('pi\n');
    const json = report(await sync(p));
    expect(json.refused.map((s: { path: string }) => s.path)).toContain('20240301/new\nline.jpg');

    // The key holder plants a name whose newline forges a listing line "victim.jpg is here, full size". A name
    // cannot hold a "/", so the forged line never names a path below a listed directory: it is ignored, and the
    // spool copy goes only once the real upload was confirmed at its exact path.
    const size = 4321;
    await p.camera.sh(`head -c ${size} /dev/urandom > ${day}/victim.jpg && chown pi:pi ${day}/victim.jpg && touch -d '1 hour ago' ${day}/victim.jpg`);
    const victim = await p.camera.sh(`sha256sum < ${day}/victim.jpg`);
    await p.collector.sh(`cd ${REMOTE}/20240301 && touch "$(printf 'z\\n-rw-r--r--    ? 999      995 %12d Nov 30 06:50 victim.jpg' ${size})" && chown -R allsky-upload: .`);
    const forged = report(await sync(p, ['--delete-after-upload', day]));
    expect(forged).toMatchObject({ ok: true, delivered: { files: 1, bytes: size } });
    // The day was named: everything the collector confirmed went from the camera, victim.jpg included;
    // the skipped names, the link and the FIFO stay.
    expect(forged.deleted).toHaveLength(8);
    expect(forged.deleted).toContain('20240301/victim.jpg');
    expect(Number((await p.camera.sh(`find ${day} -type f -printf x | wc -c`)).trim())).toBe(hostile.length);
    expect(await p.collector.sh(`sha256sum < ${REMOTE}/20240301/victim.jpg`)).toBe(victim);
  });

  it('--install writes a service and timer that run sync as the owner, validated and reversible', async () => {
    const p = await setup();
    await makeDays(p, ['20240401'], ARCHIVE, 2);
    // Files and links with owner, mode and content; directories are left out (adding and removing an entry
    // gives them a new mtime, and the host's overlay a new size).
    const unitsNow = async () => (await snapshot(p.camera, ['/etc/systemd/system'])).split('\n').filter((l) => !l.startsWith('d ')).join('\n');
    const before = await unitsNow();
    const args = ['sync', '--install', '--only-when-interface', 'eth0', '--limit-rate', '500K', '--every', '30', '--yes'];

    const notRoot = await cli(p.camera, args, { user: 'pi' });
    expect(notRoot.exitCode).toBe(2);
    expect(notRoot.stderr).toMatch(/sync --install writes a systemd service and timer: it must run as root/);
    expect((await rootCli(p.camera, [...args, '--every', '7'])).exitCode).toBe(2);
    const dry = await rootCli(p.camera, [...args, '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would .*service \/etc\/systemd\/system\/sftp-setup-sync\.service/);
    expect(await unitsNow()).toBe(before);

    const r = await rootCli(p.camera, args);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Sync timer installed.');
    expect(r.stdout).toContain('systemd is not running here: the timer starts at the next boot.');
    const service = await p.camera.sh('cat /etc/systemd/system/sftp-setup-sync.service');
    expect(service).toMatch(/^User=pi$/m);
    expect(service).toMatch(/^Type=oneshot$/m);
    const exec = /^ExecStart=(.*)$/m.exec(service)![1]!.split(' ');
    expect(exec.slice(2)).toEqual(['sync', '--allsky-dir', '/home/pi/allsky', '--only-when-interface', 'eth0', '--limit-rate', '500K']);
    expect(await p.camera.sh('cat /etc/systemd/system/sftp-setup-sync.timer')).toMatch(/^OnCalendar=\*:0\/30\nPersistent=true$/m);
    expect(await p.camera.sh('readlink /etc/systemd/system/timers.target.wants/sftp-setup-sync.timer')).toBe('../sftp-setup-sync.timer\n');
    expect(await p.camera.sh('stat -c "%U %a" /etc/systemd/system/sftp-setup-sync.service /etc/systemd/system/sftp-setup-sync.timer')).toBe('root 644\nroot 644\n');
    const verify = await p.camera.run(['sh', '-c', 'command -v systemd-analyze >/dev/null || exit 0; systemd-analyze verify /etc/systemd/system/sftp-setup-sync.service /etc/systemd/system/sftp-setup-sync.timer']);
    expect(verify.exitCode, verify.stderr).toBe(0);

    // What systemd would run, run as the unit's user: it delivers.
    const run = await p.camera.run(['setpriv', '--reuid=pi', '--regid=pi', '--init-groups', 'env', 'HOME=/home/pi', ...exec, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(report(run)).toMatchObject({ ok: true, delivered: { files: 7 } });

    const again = await rootCli(p.camera, args);
    expect(again.stdout).toContain('Already installed: nothing changed.');
    const doctor = JSON.parse((await cli(p.camera, ['doctor', '--role', 'camera', '--no-probe', '--json'])).stdout);
    expect(doctor.checks.find((c: { id: string }) => c.id === 'camera.sync').evidence.join('\n')).toContain('timer: /etc/systemd/system/sftp-setup-sync.timer');

    const un = await rootCli(p.camera, ['sync', '--uninstall', '--yes']);
    expect(un.exitCode, un.stderr).toBe(0);
    expect(un.stdout).toContain('Sync timer removed.');
    expect(await unitsNow()).toBe(before);
    expect((await rootCli(p.camera, ['sync', '--uninstall', '--yes'])).stdout).toContain('Already removed: nothing changed.');

    // A unit of that name that is not ours is never replaced.
    await p.camera.sh('printf "[Service]\\nExecStart=/bin/true\\n" > /etc/systemd/system/sftp-setup-sync.service');
    const mine = await unitsNow();
    const foreign = await rootCli(p.camera, args);
    expect(foreign.exitCode).toBe(2);
    expect(foreign.stderr).toMatch(/sftp-setup-sync\.service exists and was not written by sftp-setup; nothing was changed/);
    expect(await unitsNow()).toBe(mine);
  });
});

/**
 * Issue 15, `sftp-setup watch`: a camera uploads to a real collector the way Allsky does (upload.sh's lftp
 * sequence: put TYPE-RANDOM, rm -f, mv), with `sftp put`, with scp and with our raw SFTP client; the watcher
 * on the collector makes exactly one event per completed file and hands it to a real mosquitto broker on
 * loopback, an HTTP receiver and a command. Temporary names and files still being written make none; a
 * broker that was down gets the event when it comes back; a hostile name arrives as data and runs nothing.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allskyUploadScript } from '../../src/camera/upload-script.js';
import { cli, makeKey, startPair, type Pair } from './helpers.js';
import { HTTP_PORT, jsonLines, startBroker, startHttpReceiver, startWatch, stopBroker, subscribe, until, W, type Ev } from './watch-helpers.js';

const USER = 'allsky-upload';
const ROOT = '/var/lib/allsky-uploads';
const KEY = '/root/cam_key';
const RAW = fileURLToPath(new URL('./raw-sftp.mjs', import.meta.url));
const SSH_OPTS = `-F /dev/null -i ${KEY} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=/root/kh -o StrictHostKeyChecking=yes -o LogLevel=ERROR`;
const LFTP = `set sftp:connect-program "ssh -a -x ${SSH_OPTS}"`;
// The command sink: the event's JSON from stdin, its path and size from the environment, into files.
const EXEC = `cat >> ${W}/exec.jsonl; printf '%s' "$SFTP_SETUP_PATH" > ${W}/exec-last-path; echo "$SFTP_SETUP_KIND $SFTP_SETUP_SIZE" >> ${W}/exec-env`;

/** Allsky's five products, the remote names and directories it uses (facts/allsky.md), and upload.sh's temporary names. */
const ALLSKY = [
  { temp: 'SaveImage-server-12345', dir: 'images', dest: 'image.jpg', size: 70_001, kind: 'image' },
  { temp: 'Keogram-981', dir: 'images/keograms', dest: 'keogram.jpg', size: 50_002, kind: 'keogram' },
  { temp: 'Startrails-22222', dir: 'images/startrails', dest: 'startrails.jpg', size: 40_003, kind: 'startrails' },
  { temp: 'Timelapse-7', dir: 'images/videos', dest: 'allsky.mp4', size: 300_004, kind: 'timelapse' },
  { temp: 'TimelapseThumbnail-31999', dir: 'images/videos/thumbnails', dest: 'allsky.jpg', size: 5_005, kind: 'thumbnail' },
];

describe('watch', () => {
  let p: Pair;
  let sentinels = 0;
  const events = () => jsonLines(p.collector, `${W}/watch.out`);
  const watchDoctor = async () => {
    const r = await cli(p.collector, ['doctor', '--json', '--no-probe']);
    return (JSON.parse(r.stdout).checks as Array<{ id: string; status: string; evidence: string[] }>).find((c) => c.id === 'watch.sinks')!;
  };

  /** Allsky's upload of one file: its own lftp command file, one lftp run, as upload.sh does it. */
  const allskyUpload = async (local: string, dir: string, dest: string, temp: string) => {
    const script = allskyUploadScript({ lftpCommands: LFTP, host: 'collector', port: 22, user: USER, dir, file: local, dest, temp });
    await p.camera.sh(`cat > /tmp/up.lftp <<'EOF'\n${script}EOF`);
    const r = await p.camera.run(['lftp', '-f', '/tmp/up.lftp'], { env: { LFTP_PASSWORD: 'n/a' }, timeoutMs: 60_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  };
  /** The raw SFTP client with a list of requests, from the camera. */
  const raw = (requests: unknown[], background = false) =>
    p.camera.sh(`cat > /tmp/raw.json <<'EOF'\n${JSON.stringify(requests)}\nEOF\n${background ? '(' : ''}node ${RAW} /tmp/raw.json -- ssh ${SSH_OPTS} -s ${USER}@collector sftp > /tmp/raw.out 2>&1${background ? ' &)' : ''}`);
  /**
   * Everything the watcher emitted up to a sentinel upload made now (an Allsky upload of a name of its own):
   * events are made in order, so once the sentinel's is there, nothing before it is still to come.
   */
  const settled = async (): Promise<Ev[]> => {
    const name = `sentinel-${++sentinels}.jpg`;
    await allskyUpload('/tmp/small', 'images', name, `SaveImage-server-${sentinels}`);
    const all = await until(events, (evs) => evs.some((e) => e.path === `images/${name}`), `the event for ${name}`);
    return all.slice(0, all.findIndex((e) => e.path === `images/${name}`));
  };

  beforeAll(async () => {
    p = await startPair();
    const pub = await makeKey(p.camera, KEY);
    const hostKey = (await p.collector.sh('cat /etc/ssh/ssh_host_ed25519_key.pub')).trim().split(' ').slice(0, 2).join(' ');
    await p.camera.sh(`echo 'collector ${hostKey}' > /root/kh && head -c 100 /dev/urandom > /tmp/small`);
    for (const f of ALLSKY) await p.camera.sh(`head -c ${f.size} /dev/urandom > /tmp/${f.kind}`);
    const r = await cli(p.collector, ['init', '--yes', '--no-verify', '--key', pub]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    await Promise.all([startBroker(p.collector), startHttpReceiver(p.collector)]);
    await subscribe(p.collector, `${W}/mqtt.log`);
    await startWatch(p.collector, ['--mqtt', 'mqtt://127.0.0.1:1883', '--http', `http://127.0.0.1:${HTTP_PORT}/events`, '--exec', EXEC, '--sha256']);
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it("Allsky's upload sequence makes exactly one event per file, for all five kinds, and every sink gets it", async () => {
    const before = (await events()).length;
    for (const f of ALLSKY) await allskyUpload(`/tmp/${f.kind}`, f.dir, f.dest, f.temp);
    const evs = (await settled()).slice(before);
    expect(evs.map((e) => [e.path, e.size, e.kind])).toEqual(ALLSKY.map((f) => [`${f.dir}/${f.dest}`, f.size, f.kind]));
    for (const [i, f] of ALLSKY.entries()) {
      const e = evs[i]!;
      expect(e.account).toBe(USER);
      expect(e.file).toBe(`${ROOT}/${f.dir}/${f.dest}`);
      expect(e.sha256).toBe((await p.camera.sh(`sha256sum < /tmp/${f.kind}`)).split(' ')[0]);
      expect(Date.parse(e.time)).toBeGreaterThan(0);
    }
    // No event ever names a temporary file.
    expect((await events()).filter((e) => ALLSKY.some((f) => e.path.endsWith(f.temp)))).toEqual([]);

    // The same events, in the same order, at each sink: MQTT (topic per kind), HTTP (POST, JSON), the command.
    const wanted = evs.map((e) => JSON.stringify(e));
    const mqtt = await until(() => p.collector.sh(`cat ${W}/mqtt.log`), (t) => ALLSKY.every((f) => t.includes(`"${f.dir}/${f.dest}"`)), 'the MQTT messages');
    const msgs = mqtt.split('\n').filter((l) => l.startsWith('sftp-setup/') && !l.includes('sentinel'));
    expect(msgs.slice(-5)).toEqual(evs.map((e, i) => `sftp-setup/${USER}/${ALLSKY[i]!.kind} ${wanted[i]}`));
    const http = await until(() => jsonLines<{ method: string; type: string; body: string }>(p.collector, `${W}/http.log`), (l) => l.length >= before + 6, 'the HTTP posts');
    expect(http.slice(before, before + 5)).toEqual(wanted.map((body) => ({ method: 'POST', type: 'application/json', body })));
    const exec = await until(() => jsonLines(p.collector, `${W}/exec.jsonl`), (l) => l.length >= before + 6, 'the command runs');
    expect(exec.slice(before, before + 5)).toEqual(evs);
    const env = (await p.collector.sh(`cat ${W}/exec-env`)).trim().split('\n');
    expect(env.slice(before, before + 5)).toEqual(ALLSKY.map((f) => `${f.kind} ${f.size}`));
    // The latest image is retained: a subscriber that comes later gets it at once.
    const retained = await p.collector.sh(`mosquitto_sub -h 127.0.0.1 -C 1 -W 10 -t sftp-setup/${USER}/image`);
    expect(JSON.parse(retained).path).toMatch(/^images\/(image|sentinel-\d+)\.jpg$/);
  });

  it('a replaced image.jpg makes a new event; a temporary name that is never renamed makes none', async () => {
    const before = (await events()).length;
    await allskyUpload('/tmp/keogram', 'images', 'image.jpg', 'SaveImage-server-404');
    // put to a temporary name only (an upload that died before its mv), and lftp's own temp-file name
    await p.camera.sh(`printf 'put /tmp/small /images/SaveImage-server-555\\nput /tmp/small /images/.in.image.jpg.\\n' | sftp ${SSH_OPTS} -b - ${USER}@collector`);
    const evs = (await settled()).slice(before);
    expect(evs.map((e) => [e.path, e.size])).toEqual([['images/image.jpg', 50_002]]);
  });

  it('plain sftp put, scp, and an overwrite: one event each, with the final size', async () => {
    const before = (await events()).length;
    await p.camera.sh(`head -c 123457 /dev/urandom > /tmp/put.jpg && printf 'put /tmp/put.jpg /images/put.jpg\\n' | sftp ${SSH_OPTS} -b - ${USER}@collector`);
    await p.camera.sh(`head -c 65537 /dev/urandom > /tmp/scp.jpg && scp -q ${SSH_OPTS} /tmp/scp.jpg ${USER}@collector:/images/scp.jpg`);
    await p.camera.sh(`printf 'put /tmp/small /images/put.jpg\\n' | sftp ${SSH_OPTS} -b - ${USER}@collector`);
    const evs = (await settled()).slice(before);
    expect(evs.map((e) => [e.path, e.size]), JSON.stringify(evs)).toEqual([['images/put.jpg', 123_457], ['images/scp.jpg', 65_537], ['images/put.jpg', 100]]);
  });

  it('a file still being written makes no event until its writer closes it', async () => {
    const before = (await events()).length;
    await raw([
      { op: 'open', path: '/images/slow.jpg', pflags: ['write', 'creat', 'trunc'], attrs: { permissions: 0o644 }, as: 'f' },
      { op: 'write', handle: '@f', offset: 0, data: { repeat: 'a', count: 1000 } },
      { op: 'wait-file', path: '/tmp/go' },
      { op: 'write', handle: '@f', offset: 1000, data: { repeat: 'b', count: 2000 } },
      { op: 'close', handle: '@f' },
    ], true);
    await until(() => p.collector.sh(`stat -c %s ${ROOT}/images/slow.jpg 2>/dev/null; true`), (s) => s.trim() === '1000', 'the first part of slow.jpg');
    // Half-written, held open: uploads after it are reported, it is not.
    expect((await settled()).slice(before).filter((e) => e.path === 'images/slow.jpg')).toEqual([]);
    await p.camera.sh('touch /tmp/go');
    const all = await until(events, (evs) => evs.some((e) => e.path === 'images/slow.jpg'), 'the event for slow.jpg');
    expect((await settled()).slice(before).filter((e) => e.path === 'images/slow.jpg').map((e) => e.size)).toEqual([3000]);
    expect(all.length).toBeGreaterThan(before);
  });

  it('a broker that is down gets the event when it comes back; HTTP and the command do not wait for it', async () => {
    await stopBroker(p.collector);
    await p.camera.sh('head -c 12345 /dev/urandom > /tmp/while-down');
    await allskyUpload('/tmp/while-down', 'images', 'image.jpg', 'SaveImage-server-9');
    await until(() => jsonLines(p.collector, `${W}/http.log`), (l) => l.some((x) => JSON.parse(x.body as string).size === 12345), 'the HTTP post while the broker is down');
    await until(() => jsonLines(p.collector, `${W}/exec.jsonl`), (l) => l.some((e) => e.size === 12345), 'the command while the broker is down');
    await until(() => p.collector.sh(`cat ${W}/watch.err`), (t) => /mqtt mqtt:\/\/127\.0\.0\.1:1883\/?: cannot reach the broker/.test(t), 'the note that the broker is away');
    const failing = await watchDoctor();
    expect(failing.status).toBe('warn');
    expect(failing.evidence.join('\n')).toMatch(/mqtt mqtt:\/\/127\.0\.0\.1:1883\/?: FAILING \(cannot reach the broker/);
    await startBroker(p.collector);
    // The broker kept nothing (no persistence): a retained image can only be the watcher's publish since.
    const msg = JSON.parse(await p.collector.sh(`mosquitto_sub -h 127.0.0.1 -C 1 -W 20 -t sftp-setup/${USER}/image`));
    expect([msg.path, msg.size]).toEqual(['images/image.jpg', 12345]);
    expect(await p.collector.sh(`cat ${W}/watch.err`)).toMatch(/delivering again/);
    const healthy = await until(watchDoctor, (c) => c.status === 'pass', 'doctor to see the sinks healthy');
    expect(healthy.evidence[0]).toMatch(/^last event: images\/\S+ \(\d+ bytes\) at /);
  });

  it('a hostile name arrives as data: exact in JSON and the environment, escaped on a terminal, nothing runs', async () => {
    const name = "h\n$(cd;touch PWNED-dollar)`cd;touch PWNED-tick`'\";cd;touch PWNED-semi;\x1b[2J\u009b31m.jpg";
    const bytes = Buffer.concat([Buffer.from('images/'), Buffer.from([0xff, 0xfe]), Buffer.from('.jpg')]);
    await raw([
      { op: 'open', path: `/images/${name}`, pflags: ['write', 'creat', 'trunc'], attrs: { permissions: 0o644 }, as: 'f' },
      { op: 'write', handle: '@f', offset: 0, data: 'payload' },
      { op: 'close', handle: '@f' },
      { op: 'open', path: { b64: Buffer.concat([Buffer.from('/'), bytes]).toString('base64') }, pflags: ['write', 'creat', 'trunc'], as: 'g' },
      { op: 'write', handle: '@g', offset: 0, data: 'bytes' },
      { op: 'close', handle: '@g' },
    ]);
    const evs = await settled();
    const e = evs.find((x) => x.path === `images/${name}`)!;
    expect(e).toBeDefined();
    expect([e.size, e.kind, e.file]).toEqual([7, 'image', `${ROOT}/images/${name}`]);
    // Not UTF-8: the bytes travel in base64.
    const odd = evs.find((x) => x.pathBase64 !== undefined)!;
    expect(Buffer.from(odd.pathBase64!, 'base64')).toEqual(bytes);
    const execPath = await until(() => p.collector.sh(`base64 -w0 ${W}/exec-last-path`), (b) => b !== '', 'the command');
    expect(execPath).not.toBe('');
    const execEvents = await jsonLines(p.collector, `${W}/exec.jsonl`);
    expect(execEvents.some((x) => x.path === `images/${name}`)).toBe(true);
    expect(await p.collector.sh(`ls -a / /root /tmp ${W} | grep -c PWNED; true`)).toBe('0\n');
    // The notes on stderr carry no raw control character.
    expect(await p.collector.sh(`cat ${W}/watch.err`)).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/);
  });

  it('links planted by the upload uid are never followed; a renamed directory is followed under its new name', async () => {
    const asUpload = (cmd: string[]) => p.collector.run(cmd, { user: USER }).then((r) => expect(r.exitCode, r.stderr).toBe(0));
    await asUpload(['mkdir', `${ROOT}/images/d`]);
    await settled(); // the watcher has seen d
    await asUpload(['ln', '-s', '/root', `${ROOT}/images/linkdir`]);
    await asUpload(['ln', '-s', '/etc/passwd', `${ROOT}/images/passwd.jpg`]);
    await asUpload(['mv', `${ROOT}/images/d`, `${ROOT}/images/d2`]);
    await asUpload(['ln', '-s', '/root', `${ROOT}/images/d`]);
    const before = (await events()).length;
    await p.collector.sh('head -c 99 /dev/urandom > /root/planted.jpg');
    await p.camera.sh(`printf 'put /tmp/small /images/d2/z.jpg\\n' | sftp ${SSH_OPTS} -b - ${USER}@collector`);
    const evs = (await settled()).slice(before);
    expect(evs.map((e) => [e.path, e.file])).toEqual([['images/d2/z.jpg', `${ROOT}/images/d2/z.jpg`]]);
    expect((await events()).filter((e) => /linkdir|passwd|planted/.test(e.path))).toEqual([]);
  });

  it('bad options are refused before anything starts', async () => {
    const r = await cli(p.collector, ['watch', '--mqtt', 'http://127.0.0.1']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--mqtt http:\/\/127\.0\.0\.1\/: the scheme must be mqtt or mqtts/);
    const t = await cli(p.collector, ['watch', '--mqtt-topic', 'a/#']);
    expect(t.exitCode).toBe(2);
    const u = await cli(p.collector, ['watch', '--user', 'nobody-here']);
    expect(u.exitCode).toBe(2);
    expect(u.stderr).toMatch(/nobody-here is not an upload account set up by sftp-setup/);
  });
});

import { describe, expect, it } from 'vitest';
import { eventEnv, humanLine, isTemporaryName, kindOf, pathFields, type UploadEvent } from '../../src/watch/event.js';
import { CompletionTracker } from '../../src/watch/tracker.js';
import { SinkError, SinkQueue, type Sink } from '../../src/watch/queue.js';
import { mqttTopic, parseWatchInputs, shownUrl, watchArgs } from '../../src/watch/options.js';
import { UsageError } from '../../src/errors.js';

const ev = (path: string, extra: Partial<UploadEvent> = {}): UploadEvent => ({
  account: 'allsky-upload', path, file: `/var/lib/allsky-uploads/${path}`, size: 10, time: '2025-01-01T00:00:00.000Z',
  mtime: '2025-01-01T00:00:00.000Z', kind: kindOf(path), ...extra,
});

describe('temporary names', () => {
  it("Allsky's TYPE-RANDOM, our hex, lftp's .in.NAME., hidden, *.tmp, *.part", () => {
    for (const n of ['SaveImage-server-12345', 'Keogram-981', 'TimelapseThumbnail-0', 'MiniTimelapse-server-32767', 'x-1', 'image-a1b2c3d4e5f6',
      '.in.image.jpg.', '.sftp-setup-probe-abc', '.hidden.jpg', 'image.jpg.tmp', 'video.mp4.part', 'image.jpg~']) {
      expect(isTemporaryName(n), n).toBe(true);
    }
  });
  it('final names are not', () => {
    for (const n of ['image.jpg', 'allsky.mp4', 'keogram.jpg', 'image-1234.jpg', 'keogram-20240101', 'image-20240101-000000.jpg', 'notes', 'Keogram-123456']) {
      expect(isTemporaryName(n), n).toBe(false);
    }
  });
});

describe('kinds', () => {
  it("Allsky's places", () => {
    expect(kindOf('images/image.jpg')).toBe('image');
    expect(kindOf('images/keograms/keogram.jpg')).toBe('keogram');
    expect(kindOf('images/startrails/startrails.jpg')).toBe('startrails');
    expect(kindOf('images/videos/allsky.mp4')).toBe('timelapse');
    expect(kindOf('images/videos/thumbnails/allsky.jpg')).toBe('thumbnail');
    expect(kindOf('images/mini-timelapse.mp4')).toBe('timelapse');
    expect(kindOf('keograms/keogram-20240101.jpg')).toBe('keogram');
    expect(kindOf('images/notes.txt')).toBe('file');
  });
});

describe('event fields', () => {
  it('a name that is not UTF-8 travels as base64 too', () => {
    expect(pathFields(Buffer.from('images/a.jpg'))).toEqual({ path: 'images/a.jpg' });
    const odd = Buffer.from([0x61, 0xff, 0x2e, 0x6a]);
    expect(pathFields(odd)).toEqual({ path: 'a\uFFFD.j', pathBase64: odd.toString('base64') });
  });
  it('the environment holds the values as they are; no NUL', () => {
    const name = 'images/$(touch x)\n`id`.jpg';
    const env = eventEnv(ev(name, { sha256: 'ab' }));
    expect(env).toMatchObject({ SFTP_SETUP_PATH: name, SFTP_SETUP_SIZE: '10', SFTP_SETUP_KIND: 'image', SFTP_SETUP_SHA256: 'ab', SFTP_SETUP_ACCOUNT: 'allsky-upload' });
    expect(eventEnv(ev('a\0b')).SFTP_SETUP_PATH).toBe('a\uFFFDb');
  });
  it('a line for a person escapes the name and stays one line', () => {
    expect(humanLine(ev('images/image.jpg'))).toBe('2025-01-01T00:00:00.000Z allsky-upload image images/image.jpg 10 bytes');
    const line = humanLine(ev('images/x\n  pass  \x1b[2J\u009b.jpg'));
    expect(line).not.toMatch(/[\n\x1b\u009b]/);
    expect(line).toContain('"images/x\\n  pass  \\u001b[2J\\u{9b}.jpg"');
  });
});

describe('completion', () => {
  const seen = (key: string, sig: string, size: number, writing = false, temp = false) => ({ key, sig, size, writing, temp });
  it('Allsky: the temporary name never, the final name once when it appears complete', () => {
    const t = new CompletionTracker(250);
    expect(t.observe(seen('d/T-1', 'i1:0', 0, true, true), 0)).toBe('ignore');
    expect(t.observe(seen('d/T-1', 'i1:5', 5, false, true), 1)).toBe('ignore');
    expect(t.observe({ key: 'd/image.jpg', gone: true }, 2)).toBe('ignore');
    expect(t.observe(seen('d/image.jpg', 'i1:5', 5), 3)).toBe('emit');
    expect(t.observe(seen('d/image.jpg', 'i1:5', 5), 4)).toBe('ignore');
    expect(t.observe({ key: 'd/T-1', gone: true }, 5)).toBe('ignore');
  });
  it('a file being written waits; closed, it is one event', () => {
    const t = new CompletionTracker(250);
    expect(t.observe(seen('d/a.jpg', 's0', 0, true), 0)).toBe('pending');
    expect(t.observe(seen('d/a.jpg', 's1', 1000, true), 100)).toBe('pending');
    expect(t.pending()).toEqual(['d/a.jpg']);
    expect(t.observe(seen('d/a.jpg', 's2', 3000), 200)).toBe('emit');
    expect(t.pending()).toEqual([]);
  });
  it('an empty file nobody holds counts only after it settled (open() may not have handed it over yet)', () => {
    const t = new CompletionTracker(250);
    expect(t.observe(seen('d/e.jpg', 'e0', 0), 0)).toBe('pending');
    expect(t.observe(seen('d/e.jpg', 'e0', 0), 100)).toBe('pending');
    expect(t.observe(seen('d/e.jpg', 'e0', 0), 300)).toBe('emit');
    // the race: empty and free, then written after all
    const r = new CompletionTracker(250);
    expect(r.observe(seen('d/r.jpg', 'r0', 0), 0)).toBe('pending');
    expect(r.observe(seen('d/r.jpg', 'r1', 500, true), 50)).toBe('pending');
    expect(r.observe(seen('d/r.jpg', 'r2', 900), 400)).toBe('emit');
  });
  it('files there at the start make no event until they change; a removed name starts afresh', () => {
    const t = new CompletionTracker();
    t.baseline('d/old.jpg', 'o1');
    expect(t.known('d/old.jpg', 'o1')).toBe(true);
    expect(t.observe(seen('d/old.jpg', 'o1', 9), 0)).toBe('ignore');
    expect(t.observe(seen('d/old.jpg', 'o2', 9), 1)).toBe('emit');
    t.observe({ key: 'd/old.jpg', gone: true }, 2);
    expect(t.observe(seen('d/old.jpg', 'o2', 9), 3)).toBe('emit');
  });
});

/** A sink whose behaviour a test scripts: fail while `failing`, record what it got. */
function scripted(): Sink & { got: string[]; failing: boolean; permanent: boolean } {
  const s = {
    name: 'test', got: [] as string[], failing: false, permanent: false,
    async deliver(e: UploadEvent) {
      if (s.failing) throw new SinkError('down', !s.permanent);
      s.got.push(e.path);
    },
    async close() {},
  };
  return s;
}
/** Wait (up to 5 s, a loaded machine is slow) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe('sink queue', () => {
  it('delivers in order; a failing sink keeps events up to the bound, drops the oldest and says so, then catches up', async () => {
    const sink = scripted();
    const notes: string[] = [];
    const q = new SinkQueue(sink, { max: 2, retries: Infinity, backoffMs: () => 5, note: (l) => notes.push(l) });
    q.push(ev('a'));
    await until(() => q.health().delivered === 1 && q.health().queued === 0);
    sink.failing = true;
    // b is in delivery (out of the queue), c and d wait, e pushes out c.
    for (const p of ['b', 'c', 'd', 'e']) q.push(ev(p));
    await until(() => q.health().lastError === 'down');
    expect(q.health()).toMatchObject({ ok: false, queued: 3, dropped: 1, delivered: 1, lastError: 'down' });
    expect(notes.some((n) => /queue full \(2 events\): dropped the oldest, "c"/.test(n))).toBe(true);
    sink.failing = false;
    await until(() => sink.got.length === 4);
    expect(sink.got).toEqual(['a', 'b', 'd', 'e']);
    expect(q.health()).toMatchObject({ ok: true, queued: 0, delivered: 4 });
    expect(notes.some((n) => /delivering again/.test(n))).toBe(true);
  });
  it('bounded retries, then the event is given up and the next one goes', async () => {
    const sink = scripted();
    const notes: string[] = [];
    const q = new SinkQueue(sink, { max: 10, retries: 2, backoffMs: () => 1, note: (l) => notes.push(l) });
    sink.failing = true;
    q.push(ev('x'));
    await until(() => notes.some((n) => /gave up on "x" after 3 attempts: down/.test(n)));
    sink.failing = false;
    q.push(ev('y'));
    await until(() => sink.got.length === 1);
    expect(sink.got).toEqual(['y']);
    expect(q.health()).toMatchObject({ failed: 1, delivered: 1 });
  });
  it('a failure that retrying cannot mend is not retried', async () => {
    const sink = scripted();
    let calls = 0;
    const q = new SinkQueue({ ...sink, async deliver() { calls++; throw new SinkError('HTTP 400', false); } }, { max: 10, retries: 5, backoffMs: () => 1, note: () => {} });
    q.push(ev('z'));
    await until(() => q.health().failed === 1);
    expect(calls).toBe(1);
  });
  it('one sink failing does not hold another', async () => {
    const bad = scripted();
    const good = scripted();
    bad.failing = true;
    const qs = [bad, good].map((s) => new SinkQueue(s, { max: 10, retries: Infinity, backoffMs: () => 50, note: () => {} }));
    for (const q of qs) q.push(ev('one'));
    for (const q of qs) q.push(ev('two'));
    await until(() => good.got.length === 2);
    expect(good.got).toEqual(['one', 'two']);
    expect(bad.got).toEqual([]);
    await qs[0]!.close(0);
  });
});

describe('options', () => {
  const base = { user: 'allsky-upload', mqttTopic: 'sftp-setup', sha256: false, queue: '1000' };
  it('accepts the sinks and gives the service its command line back', () => {
    const s = parseWatchInputs({ ...base, mqtt: 'mqtt://u:secret@broker:1883', http: 'https://h/x', exec: 'logger -t up', queue: '50', sha256: true, mqttTopic: 'allsky' });
    expect(watchArgs(s)).toEqual(['watch', '--user', 'allsky-upload', '--exec', 'logger -t up', '--http', 'https://h/x', '--mqtt', 'mqtt://u:secret@broker:1883', '--mqtt-topic', 'allsky', '--sha256', '--queue', '50']);
    expect(shownUrl(s.mqtt!)).toBe('mqtt://u:***@broker:1883');
    expect(mqttTopic('allsky', { account: 'cam1', kind: 'image' })).toBe('allsky/cam1/image');
  });
  it('refuses what it cannot use, naming the option', () => {
    for (const [o, re] of [
      [{ mqtt: 'http://x' }, /--mqtt .*scheme must be mqtt or mqtts/],
      [{ http: 'ftp://x' }, /--http .*scheme must be http or https/],
      [{ http: 'not a url' }, /--http "not a url" is not a URL/],
      [{ mqttTopic: 'a/+/b' }, /--mqtt-topic/],
      [{ mqttTopic: '/a' }, /--mqtt-topic/],
      [{ queue: '0' }, /--queue/],
      [{ queue: '1e3' }, /--queue/],
      [{ exec: 'a\nb' }, /--exec/],
      [{ exec: ' ' }, /--exec/],
      [{ user: 'Root' }, /--user/],
    ] as const) {
      expect(() => parseWatchInputs({ ...base, ...o })).toThrow(UsageError);
      expect(() => parseWatchInputs({ ...base, ...o })).toThrow(re);
    }
  });
});

/** systemd's reading of one double-quoted ExecStart= word (systemd.service(5), systemd.unit(5)), for the round trip. */
function systemdUnquote(word: string): string {
  expect(word.startsWith('"') && word.endsWith('"')).toBe(true);
  const inner = word.slice(1, -1).replace(/%%/g, '%').replace(/\$\$/g, '$');
  return inner.replace(/\\(.)/g, '$1');
}

describe('the systemd unit', () => {
  it('quotes every argument so systemd reads it back unchanged', async () => {
    const { systemdQuote } = await import('../../src/watch/unit.js');
    for (const a of ['plain', 'two words', 'say "hi"', 'back\\slash', '100%', '$HOME', '${X}', "it's", '%n %% $$', '--exec=a;b']) {
      const q = systemdQuote(a);
      expect(systemdUnquote(q)).toBe(a);
      // no lone % or $ left for systemd to expand
      expect(q.replace(/%%|\$\$/g, '')).not.toMatch(/[%$]/);
    }
    expect(() => systemdQuote('a\nb')).toThrow(UsageError);
    expect(() => systemdQuote(';')).toThrow(UsageError);
  });
  it('restarts on failure but not on bad input, drops every capability but two, and writes only its own directory', async () => {
    const { renderWatchUnit, holdsSecret } = await import('../../src/watch/unit.js');
    const text = renderWatchUnit({ user: 'cam', node: '/usr/bin/node', launcher: '/usr/lib/sftp-setup/bin/sftp-setup', args: ['watch', '--user', 'cam'] });
    expect(text).toContain('\nExecStart="/usr/bin/node" "/usr/lib/sftp-setup/bin/sftp-setup" "watch" "--user" "cam"\n');
    for (const l of ['Restart=on-failure', 'RestartPreventExitStatus=2', 'CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH', 'ProtectSystem=strict', 'RuntimeDirectory=sftp-setup-watch-cam', 'NoNewPrivileges=yes']) {
      expect(text).toContain(`\n${l}\n`);
    }
    expect(holdsSecret(['--mqtt', 'mqtt://u:p@h'])).toBe(true);
    expect(holdsSecret(['--mqtt', 'mqtt://u@h', '--exec', 'x'])).toBe(false);
  });
});

describe('doctor watch.sinks', () => {
  const sink = { sink: 'mqtt mqtt://127.0.0.1:1883/', ok: true, queued: 0, delivered: 3, dropped: 0, failed: 0 };
  const state = { pid: 1, alive: true, lastEvent: ev('images/image.jpg'), sinks: [sink] };
  it('skips without a watcher; passes when every sink delivers; warns on a failing sink, drops, or a dead watcher', async () => {
    const { watchCheck } = await import('../../src/doctor/watch.js');
    expect(watchCheck('cam', null).status).toBe('skip');
    const ok = watchCheck('cam', state);
    expect(ok.status).toBe('pass');
    expect(ok.evidence[0]).toBe('last event: images/image.jpg (10 bytes) at 2025-01-01T00:00:00.000Z');
    const down = watchCheck('cam', { ...state, sinks: [{ ...sink, ok: false, queued: 4, lastError: 'cannot reach the broker: ECONNREFUSED' }] });
    expect(down.status).toBe('warn');
    expect(down.evidence[0]).toBe('mqtt mqtt://127.0.0.1:1883/: FAILING (cannot reach the broker: ECONNREFUSED), 3 delivered, 4 queued, 0 dropped, 0 given up');
    expect(watchCheck('cam', { ...state, sinks: [{ ...sink, dropped: 2 }] }).status).toBe('warn');
    expect(watchCheck('cam', { ...state, alive: false }).evidence[0]).toMatch(/not running any more/);
  });
});

import { describe, expect, it } from 'vitest';
import { confirmBatch, listingBatch, SYNC_REQUESTS, uploadBatch } from '../../src/sync/batch.js';
import { SFTP_PROFILES } from '../../src/sshd/render.js';
import { sftpArgs, sftpArgsFromConnectProgram } from '../../src/sync/connect.js';
import { chunks, computeDelta, localDirs, type LocalFile } from '../../src/sync/delta.js';
import { backoffDelays, classifySftpFailure } from '../../src/sync/failure.js';
import { interfaceVerdict } from '../../src/sync/interface.js';
import { confirmedSize, parseListing, sections } from '../../src/sync/listing.js';
import { finalOfPart, isPlainName, isPlainPath, partPath } from '../../src/sync/names.js';
import { kbitOf, onCalendar, parseEvery, parseInterface, parseRate, parseRemoteDir } from '../../src/sync/options.js';
import { humanBytes, progressLine, summaryLine } from '../../src/sync/progress.js';
import { emptyState, parseState, renderState } from '../../src/sync/state.js';
import { Transcript } from '../../src/sync/transcript.js';
import { execWord, renderService, renderTimer } from '../../src/sync/units.js';
import { connectProgram } from '../../src/lftp/connect-program.js';
import { usageError } from './helpers.js';

const f = (rel: string, size: number, mtimeMs = 1000): LocalFile => ({ rel, size, mtimeMs });
const line = (type: string, size: number, path: string, date = 'Nov 30 06:50') => `${type}rw-r--r--    ? 999      995 ${String(size).padStart(12)} ${date} ${path}`;

describe('sync names', () => {
  it('accepts Allsky\'s names and nothing an sftp batch would read as more than a path', () => {
    for (const ok of ['image-20240101203012.jpg', 'keogram', 'allsky-20240101.mp4', '_x', 'a.b']) expect(isPlainName(ok), ok).toBe(true);
    for (const bad of ['', '.', '..', '.hidden', '-rf', 'a b', 'a\nb', 'x$(id)', 'a;b', 'a\x1b[31m', '!ls', 'a"b', "a'b", 'a\\b', 'a*', 'ü', 'x'.repeat(201)]) {
      expect(isPlainName(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(isPlainPath('20240101/keogram/keogram-20240101.jpg')).toBe(true);
    expect(isPlainPath('20240101//x')).toBe(false);
    expect(isPlainPath('/abs')).toBe(false);
  });

  it('names part files next to their final name and reads them back', () => {
    expect(partPath('20240101/image.jpg')).toBe('20240101/.image.jpg.sftp-setup-part');
    expect(partPath('x.jpg')).toBe('.x.jpg.sftp-setup-part');
    expect(finalOfPart('.image.jpg.sftp-setup-part')).toBe('image.jpg');
    expect(finalOfPart('.a b.sftp-setup-part')).toBeUndefined();
    expect(finalOfPart('image.jpg')).toBeUndefined();
    expect(() => partPath('a/$(x)')).toThrow(/non-plain/);
  });
});

describe('sync listing', () => {
  const dirs = ['archive', 'archive/20240101'];
  it('reads sizes and types of plain names in the listed directories only', () => {
    const out = [
      'sftp> ls -lan archive',
      line('d', 60, 'archive/.'), line('d', 100, 'archive/..'), line('d', 60, 'archive/20240101'),
      'sftp> -ls -lan archive/20240101',
      line('-', 300000, 'archive/20240101/image-1.jpg'),
      line('-', 1000, 'archive/20240101/.image-2.jpg.sftp-setup-part', 'Nov 30  2023'),
      line('-', 5, 'archive/20240101/sp ace'),
      line('-', 5, 'archive/elsewhere/x.jpg'),
      line('l', 5, 'archive/20240101/link'),
      'garbage line',
    ].join('\n');
    const m = parseListing(out, dirs);
    expect(Object.fromEntries(m)).toEqual({
      'archive/20240101': { type: 'dir', size: 60 },
      'archive/20240101/image-1.jpg': { type: 'file', size: 300000 },
      'archive/20240101/.image-2.jpg.sftp-setup-part': { type: 'file', size: 1000 },
      'archive/20240101/link': { type: 'other', size: 5 },
    });
  });

  it('ignores a line forged by a name with a newline (it cannot name a path: names hold no "/"), and a path seen twice', () => {
    const forged = `x\n${line('-', 300000, 'image-2.jpg')}`;
    // What shows is the first line's "x" (the key holder could make a file "x" anyway), never image-2.jpg.
    expect([...parseListing(line('-', 0, `archive/20240101/${forged}`), dirs).keys()]).toEqual(['archive/20240101/x']);
    const twice = [line('-', 300000, 'archive/20240101/image-1.jpg'), line('-', 5, 'archive/20240101/image-1.jpg')].join('\n');
    expect(parseListing(twice, dirs).has('archive/20240101/image-1.jpg')).toBe(false);
  });

  it('confirms a size only from a one-line section naming exactly the path asked for', () => {
    const sent = ['-ls -ln archive/d/a.jpg', '-ls -ln archive/d/b.jpg', '-ls -ln archive/d/c.jpg'];
    const out = [
      'sftp> -ls -ln archive/d/a.jpg', line('-', 10, 'archive/d/a.jpg'),
      'sftp> -ls -ln archive/d/b.jpg', line('-', 7, 'archive/d/b.jpg/x'), line('-', 20, 'archive/d/b.jpg'), // a directory with a forged entry
      'sftp> -ls -ln archive/d/c.jpg',
    ].join('\n');
    const secs = sections(out, sent)!;
    expect(confirmedSize(secs[0]!, 'archive/d/a.jpg')).toBe(10);
    expect(confirmedSize(secs[1]!, 'archive/d/b.jpg')).toBeUndefined();
    expect(confirmedSize(secs[2]!, 'archive/d/c.jpg')).toBeUndefined();
    expect(confirmedSize({ lines: [line('d', 10, 'archive/d/a.jpg')] }, 'archive/d/a.jpg')).toBeUndefined();
  });

  it('trusts no section when an echo line was forged or is out of order', () => {
    const sent = ['-ls -ln archive/d/a.jpg', '-ls -ln archive/d/b.jpg'];
    expect(sections('sftp> -ls -ln archive/d/b.jpg\n', sent)).toBeNull();
    expect(sections(`sftp> -ls -ln archive/d/a.jpg\n${line('-', 1, 'archive/d/a.jpg/')}\nsftp> -ls -ln archive/d/b.jpg\nsftp> -ls -ln archive/d/b.jpg\n`, sent)).toBeNull();
    expect(sections('junk before\nsftp> -ls -ln archive/d/a.jpg\n', sent)).toBeNull();
    expect(sections('sftp> -ls -ln archive/d/a.jpg\n', sent)).toEqual([{ cmd: sent[0], lines: [] }]);
  });
});

describe('sync delta', () => {
  const files = [f('20240101/a.jpg', 100), f('20240101/b.jpg', 200, 5), f('20240101/keogram/k.jpg', 300), f('20240102/c.jpg', 50)];
  const remote = new Map([
    ['archive/20240101', { type: 'dir' as const, size: 0 }],
    ['archive/20240101/a.jpg', { type: 'file' as const, size: 100 }],
    ['archive/20240101/.b.jpg.sftp-setup-part', { type: 'file' as const, size: 80 }],
    ['archive/20240101/keogram/k.jpg', { type: 'file' as const, size: 299 }],
  ]);

  it('sends what is missing or differs in size, resumes only a part this camera started from the same file', () => {
    const d = computeDelta(files, remote, 'archive', { '20240101/b.jpg': { size: 200, mtimeMs: 5 } });
    expect(d.present.map((x) => x.rel)).toEqual(['20240101/a.jpg']);
    expect(d.send.map((t) => [t.file.rel, t.how, t.offset])).toEqual([
      ['20240101/b.jpg', 'reput', 80], ['20240101/keogram/k.jpg', 'put', 0], ['20240102/c.jpg', 'put', 0],
    ]);
    expect(d.mkdirs).toEqual(['20240102', '20240101/keogram']);
  });

  it('starts over when the part was not ours or the file changed since', () => {
    expect(computeDelta(files, remote, 'archive', {}).send[0]).toMatchObject({ how: 'put', offset: 0 });
    expect(computeDelta(files, remote, 'archive', { '20240101/b.jpg': { size: 200, mtimeMs: 6 } }).send[0]).toMatchObject({ how: 'put' });
    const whole = new Map(remote).set('archive/20240101/.b.jpg.sftp-setup-part', { type: 'file', size: 200 });
    expect(computeDelta(files, whole, 'archive', { '20240101/b.jpg': { size: 200, mtimeMs: 5 } }).send[0]).toMatchObject({ how: 'rename', offset: 200 });
  });

  it('lists parents before children and splits sessions by files and bytes', () => {
    expect(localDirs(files)).toEqual(['20240101', '20240102', '20240101/keogram']);
    const send = [1, 2, 3, 4, 5].map((i) => ({ file: f(`d/${i}`, 10), how: 'put' as const, offset: 0 }));
    expect(chunks(send, 2).map((c) => c.length)).toEqual([2, 2, 1]);
    expect(chunks(send, 10, 25).map((c) => c.length)).toEqual([2, 2, 1]);
    expect(chunks([{ file: f('big', 1000), how: 'put', offset: 0 }], 10, 25).length).toBe(1);
  });
});

describe('sync batches', () => {
  it('writes relative local paths, part names and renames, an fsync and an exact-path check for spool files', () => {
    const b = uploadBatch('archive', [
      { file: f('20240101/a.jpg', 1), how: 'put', offset: 0 },
      { file: f('20240101/b.jpg', 2), how: 'reput', offset: 1 },
      { file: f('20240101/c.jpg', 2), how: 'rename', offset: 2 },
    ], { mkdirs: ['20240101'], confirm: (t) => t.file.rel.endsWith('b.jpg') });
    expect(b.text).toBe([
      '-mkdir archive/20240101',
      'put 20240101/a.jpg archive/20240101/.a.jpg.sftp-setup-part',
      'rename archive/20240101/.a.jpg.sftp-setup-part archive/20240101/a.jpg',
      'reput -f 20240101/b.jpg archive/20240101/.b.jpg.sftp-setup-part',
      'rename archive/20240101/.b.jpg.sftp-setup-part archive/20240101/b.jpg',
      '-ls -ln archive/20240101/b.jpg',
      'rename archive/20240101/.c.jpg.sftp-setup-part archive/20240101/c.jpg',
    ].join('\n') + '\n');
    expect(listingBatch('archive', ['20240101']).sent).toEqual(['ls -lan archive', '-ls -lan archive/20240101']);
    expect(confirmBatch('archive', ['d/x']).sent).toEqual(['-ls -ln archive/d/x']);
  });

  it.each(['a\n!touch /tmp/x', 'x $(id)', '-x', '../x', 'a b', 'x;y'])('never writes the name %j into a batch', (bad) => {
    expect(() => uploadBatch('archive', [{ file: f(`20240101/${bad}`, 1), how: 'put', offset: 0 }], { mkdirs: [], confirm: () => false })).toThrow(/non-plain/);
    expect(() => listingBatch('archive', [bad])).toThrow(/non-plain/);
    expect(() => confirmBatch('archive', [bad])).toThrow(/non-plain/);
    expect(() => uploadBatch(bad, [], { mkdirs: [], confirm: () => false })).not.toThrow(); // nothing to write
    expect(() => listingBatch(bad, [])).toThrow(/non-plain/);
  });
});

describe('sync and the collector\'s allsky profile', () => {
  it('needs only requests the allsky profile allows, and none that reads, changes modes or links', () => {
    for (const r of SYNC_REQUESTS) expect(SFTP_PROFILES.allsky, r).toContain(r);
    for (const r of ['read', 'setstat', 'fsetstat', 'lsetstat', 'symlink', 'hardlink', 'readlink'] as const) {
      expect(SYNC_REQUESTS as readonly string[]).not.toContain(r);
      expect(SFTP_PROFILES.allsky).not.toContain(r);
    }
  });
});

describe('sync transcript', () => {
  const b = uploadBatch('archive', [f('d/a', 1), f('d/b', 2)].map((file) => ({ file, how: 'put' as const, offset: 0 })), { mkdirs: [], confirm: () => false });
  const echo = (i: number) => `sftp> ${b.sent[i]}\n`;

  it('reports a put as sent when its rename starts, a rename as placed when the next command starts or the session ends well', () => {
    const events: string[] = [];
    const t = new Transcript(b, (e) => events.push(`${e.kind}:${e.index}`));
    t.feed(echo(0) + echo(1).slice(0, 5));
    t.feed(echo(1).slice(5) + echo(2));
    expect(events).toEqual(['sent:0', 'placed:0']);
    t.feed(echo(3));
    expect(t.finish(0)).toEqual({ trusted: true, failedCommand: undefined });
    expect(events).toEqual(['sent:0', 'placed:0', 'sent:1', 'placed:1']);
  });

  it('names the command that failed and stops following forged echoes', () => {
    const t = new Transcript(b);
    t.feed(echo(0) + echo(1) + echo(2));
    expect(t.finish(1)).toEqual({ trusted: true, failedCommand: b.sent[2] });
    const events: string[] = [];
    const forged = new Transcript(b, (e) => events.push(e.kind));
    forged.feed(echo(0) + echo(2) + echo(1));
    expect(forged.finish(0).trusted).toBe(false);
    expect(events).toEqual([]);
  });
});

describe('sync connection', () => {
  it('passes the connect-program allsky-config writes to sftp', () => {
    const cp = connectProgram({ keyPath: '/home/pi/.ssh/allsky_upload', knownHostsPath: '/home/pi/.ssh/kh', controlDir: '/home/pi/.ssh/cm' });
    expect(sftpArgsFromConnectProgram(cp)).toEqual([
      '-F', '/dev/null', '-o', 'StrictHostKeyChecking=yes', '-i', '/home/pi/.ssh/allsky_upload', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'UpdateHostKeys=no', '-o', 'UserKnownHostsFile=/home/pi/.ssh/kh', '-o', 'ControlMaster=auto', '-o', 'ControlPath=/home/pi/.ssh/cm/cm-%C', '-o', 'ControlPersist=60',
    ]);
    // -a -x dropped (sftp turns forwarding off itself); the settings' port comes last and wins.
    expect(sftpArgs({ connectProgram: 'ssh -axi /k -p 2222', user: 'u', host: 'fe80::1', port: 22, batchFile: '/t/b', limitKbit: 800 })).toEqual([
      '-i', '/k', '-P', '2222', '-o', 'BatchMode=yes', '-o', 'UpdateHostKeys=no', '-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=15',
      '-o', 'ServerAliveCountMax=4', '-P', '22', '-l', '800', '-b', '/t/b', 'u@[fe80::1]',
    ]);
    expect(sftpArgsFromConnectProgram('/usr/bin/ssh -4 -C -l pi -S /x -m hmac-sha2-256')).toEqual(['-S', '/usr/bin/ssh', '-4', '-C', '-o', 'User=pi', '-o', 'ControlPath=/x', '-o', 'MACs=hmac-sha2-256']);
  });

  it('refuses what sftp cannot take, rather than guess', () => {
    expect(() => sftpArgsFromConnectProgram('sh -c evil')).toThrow(/not ssh/);
    expect(() => sftpArgsFromConnectProgram('ssh -O exit')).toThrow(/ssh -O/);
    expect(() => sftpArgsFromConnectProgram('ssh host')).toThrow(/not an ssh option/);
    expect(() => sftpArgsFromConnectProgram('ssh -i')).toThrow(/no value/);
  });
});

describe('sync options', () => {
  it('reads rates, interfaces, directories and intervals', () => {
    expect(parseRate('500K')).toBe(512000);
    expect(parseRate('1.5M')).toBe(1572864);
    expect(kbitOf(512000)).toBe(4000);
    for (const bad of ['fast', '0', '100', '-1K', '5G', '']) expect(usageError(() => parseRate(bad)).message).toMatch(/--limit-rate/);
    expect(parseInterface('wlan0')).toBe('wlan0');
    for (const bad of ['../x', 'a/b', 'a b', 'x'.repeat(16), '']) expect(usageError(() => parseInterface(bad)).message).toMatch(/--only-when-interface/);
    expect(parseRemoteDir('./archive/')).toBe('archive');
    expect(usageError(() => parseRemoteDir('../etc')).message).toMatch(/--remote-dir/);
    expect([5, 15, 60, 120, 1440].map((n) => onCalendar(parseEvery(String(n))))).toEqual(['*:0/5', '*:0/15', 'hourly', '0/2:00', 'daily']);
    for (const bad of ['7', '0', '90', 'x']) expect(usageError(() => parseEvery(bad)).message).toMatch(/--every/);
  });
});

describe('sync failures', () => {
  const c = (stderr: string, failedCommand?: string, exitCode = 1) => classifySftpFailure({ stderr, exitCode, failedCommand, remoteDir: 'archive', user: 'allsky-upload' });
  it('retries only what the network caused', () => {
    expect(c('ssh: connect to host collector port 22: Network is unreachable\r\nConnection closed', undefined, 255)).toMatchObject({ kind: 'unreachable', retry: true });
    expect(c('write remote "/archive/d/.a.sftp-setup-part": Failure', 'put d/a archive/d/.a.sftp-setup-part')).toMatchObject({
      kind: 'write-failed', retry: false, reason: expect.stringMatching(/could not store archive\/d\/\.a\.sftp-setup-part .*disk is probably full/),
    });
    expect(c('Can\'t ls: "/archive" not found', 'ls -lan archive')).toMatchObject({ kind: 'no-archive', fix: expect.stringMatching(/init --user allsky-upload/) });
    expect(c('allsky-upload@collector: Permission denied (publickey).', undefined, 255)).toMatchObject({ kind: 'key-refused', retry: false });
    expect(c('Host key verification failed.', undefined, 255)).toMatchObject({ kind: 'host-key', retry: false });
    expect(backoffDelays(4, 15_000)).toEqual([15_000, 45_000, 135_000, 300_000]);
  });
});

describe('sync interface', () => {
  it('goes only when the interface is up with a carrier', () => {
    expect(interfaceVerdict('eth0', { exists: true, operstate: 'up', carrier: '1' })).toBeUndefined();
    expect(interfaceVerdict('dummy0', { exists: true, operstate: 'unknown', carrier: '1' })).toBeUndefined();
    expect(interfaceVerdict('eth0', { exists: true, operstate: 'down' })).toBe('eth0 is down');
    expect(interfaceVerdict('wlan0', { exists: true, operstate: 'dormant', carrier: '1' })).toBe('wlan0 is dormant');
    expect(interfaceVerdict('eth0', { exists: true, operstate: 'unknown', carrier: '0' })).toBe('eth0 has no carrier');
    expect(interfaceVerdict('wlan1', { exists: false })).toBe('wlan1 does not exist');
  });
});

describe('sync state, progress and units', () => {
  it('round-trips the state and reads a damaged file as empty', () => {
    const s = { ...emptyState(), lastSuccess: { at: '2024-01-01T00:00:00.000Z', files: 3, bytes: 9, ms: 5 }, parts: { 'd/a': { size: 5, mtimeMs: 7 } } };
    expect(parseState(renderState(s))).toEqual(s);
    expect(parseState('{"version":1,"parts":{"x":{"size":-1,"mtimeMs":1}},"lastFailure":{"at":1}}')).toEqual(emptyState());
    expect(parseState('not json')).toEqual(emptyState());
    expect(parseState(null)).toEqual(emptyState());
  });

  it('shows files, bytes, rate and ETA; one summary line', () => {
    expect(progressLine({ done: { files: 3, bytes: 1048576 }, total: { files: 10, bytes: 4194304 }, elapsedMs: 2000 })).toBe('  3/10 files  1.0/4.0 MiB  512 KiB/s  ETA 6 s');
    expect(humanBytes(1023)).toBe('1023 B');
    expect(summaryLine({ delivered: { files: 2, bytes: 2048 }, present: { files: 5, bytes: 0 }, backlog: { files: 0, bytes: 0 }, deleted: 1, skipped: 2, waiting: 1, elapsedMs: 1000 }))
      .toBe('Delivered 2 files (2.0 KiB) in 1 s, 2.0 KiB/s; 5 already on the collector; 1 deleted from the spool; 1 still being written (next run); 2 skipped (see above); backlog 0.');
  });

  it('renders units that run as the owner with Persistent=true, and refuses words systemd would rewrite', () => {
    const u = { owner: 'pi', command: ['/usr/bin/node', '/usr/bin/sftp-setup', 'sync', '--only-when-interface', 'wlan0'], everyCalendar: '*:0/15', description: 'd' };
    expect(renderService(u)).toMatch(/^User=pi$/m);
    expect(renderService(u)).toMatch(/^ExecStart=\/usr\/bin\/node \/usr\/bin\/sftp-setup sync --only-when-interface wlan0$/m);
    expect(renderTimer(u)).toMatch(/^OnCalendar=\*:0\/15\nPersistent=true$/m);
    for (const bad of ['a b', '%h', '$HOME', 'a"b', 'a\\b', '']) expect(() => execWord(bad)).toThrow();
  });
});

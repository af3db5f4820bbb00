import { describe, expect, it } from 'vitest';
import { ConfigLoadError, loadConfig, loadConfigDetailed, MAX_INCLUDE_DEPTH } from '../../src/sshd/includes.js';
import { fixtureIO, memoryIO } from '../fixtures/sshd/fsio.js';

const MAIN = '/etc/ssh/sshd_config';
const where = (d: { file: string; lineNo: number }) => `${d.file.replace('/etc/ssh/', '')}:${d.lineNo}`;

describe('loadConfig', () => {
  it('Debian 12 with an empty drop-in directory: only main-file directives, all global', () => {
    const r = loadConfigDetailed(MAIN, fixtureIO('debian12'));
    expect(r.directives.every((d) => d.file === MAIN && !d.match)).toBe(true);
    expect(r.problems).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringContaining('matches no file') }),
    ]);
  });

  it('expands several Include arguments in order: globs sorted, relative to /etc/ssh, nested', () => {
    const r = loadConfigDetailed(MAIN, fixtureIO('hostile'));
    expect(r.files.map((f) => f.path)).toEqual([
      MAIN,
      '/etc/ssh/sshd_config.d/10-global.conf',
      '/etc/ssh/sshd_config.d/40-other.conf',
      '/etc/ssh/conf.d/first.conf',
      '/etc/ssh/conf.d/second.conf',
    ]);
    expect(r.directives.map((d) => d.index)).toEqual(r.directives.map((_, i) => i));
    expect(r.directives.find((d) => d.keyword === 'clientalivecountmax')?.depth).toBe(2);
    // A missing plain file is skipped by sshd; we report it instead of failing.
    expect(r.problems).toContainEqual(
      expect.objectContaining({ file: MAIN, lineNo: 2, severity: 'warning', message: expect.stringContaining('/etc/ssh/missing.conf does not exist') }),
    );
  });

  it('a Match in an included file ends with that file', () => {
    const ds = loadConfig(MAIN, fixtureIO('hostile'));
    const x11 = ds.filter((d) => d.keyword === 'x11forwarding');
    expect(x11.map(where)).toEqual(['sshd_config.d/40-other.conf:6', 'sshd_config:4']);
    expect(x11[0]!.match?.criteria).toEqual(['Address', '192.168.1.0/24']);
    expect(x11[1]!.match).toBeUndefined();
    expect(ds.find((d) => d.keyword === 'clientaliveinterval')?.match).toBeUndefined();
  });

  it('tracks Match blocks in the main file, Match all, and an unterminated last Match', () => {
    const ds = loadConfig(MAIN, fixtureIO('hostile'));
    const ctx = (k: string) => ds.find((d) => d.keyword === k && d.file === MAIN)?.match;
    expect(ctx('chrootdirectory')).toMatchObject({ criteria: ['user', 'bob,!allsky-*'], lineNo: 7 });
    expect(ctx('permittty')).toMatchObject({ criteria: ['all'], lineNo: 10 });
    expect(ctx('allowtcpforwarding')).toMatchObject({ criteria: ['Group', 'uploaders', 'Address', '10.0.0.0/8'], lineNo: 12 });
    expect(ds.at(-1)).toMatchObject({ keyword: 'match', args: ['User', 'carol'], match: { lineNo: 14 } });
  });

  it('an Include inside a Match block puts the included directives under that Match (ANDed)', () => {
    const io = memoryIO({
      [MAIN]: 'Match User root\nInclude /etc/ssh/x.conf\nPermitTTY no\n',
      '/etc/ssh/x.conf': 'X11Forwarding yes\nMatch User nobody\nAllowTcpForwarding no\n',
    });
    const ds = loadConfig(MAIN, io);
    const by = (k: string) => ds.find((d) => d.keyword === k)!;
    expect(by('x11forwarding').match).toMatchObject({ criteria: ['User', 'root'], file: MAIN, lineNo: 1 });
    expect(by('allowtcpforwarding').match).toMatchObject({
      criteria: ['User', 'nobody'],
      file: '/etc/ssh/x.conf',
      outer: { criteria: ['User', 'root'], lineNo: 1 },
    });
    // Back in the main file, the outer Match continues (sshd restores it after the Include).
    expect(by('permittty').match).toMatchObject({ criteria: ['User', 'root'], lineNo: 1 });
    expect(by('permittty').match?.outer).toBeUndefined();
  });

  it('refuses include loops like sshd (depth limit)', () => {
    expect(() => loadConfig(MAIN, fixtureIO('loop'))).toThrow(ConfigLoadError);
    expect(() => loadConfig(MAIN, fixtureIO('loop'))).toThrow(/more than 16/);
    // exactly MAX_INCLUDE_DEPTH levels are fine
    const files: Record<string, string> = { [MAIN]: 'Include /etc/ssh/l1\n' };
    for (let i = 1; i <= MAX_INCLUDE_DEPTH; i++) files[`/etc/ssh/l${i}`] = i < MAX_INCLUDE_DEPTH ? `Include l${i + 1}\n` : 'Port 22\n';
    expect(loadConfig(MAIN, memoryIO(files)).at(-1)).toMatchObject({ keyword: 'port', depth: MAX_INCLUDE_DEPTH });
  });

  it('a missing main file is fatal', () => {
    expect(() => loadConfig(MAIN, memoryIO({}))).toThrow(ConfigLoadError);
  });
});

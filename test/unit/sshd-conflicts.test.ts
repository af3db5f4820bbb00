import { describe, expect, it } from 'vitest';
import { findConflicts, whoSets } from '../../src/sshd/conflicts.js';
import { loadConfig } from '../../src/sshd/includes.js';
import { findMarkedBlock, upsertMarkedBlock } from '../../src/sshd/placement.js';
import { fixtureIO, fixtureText } from '../fixtures/sshd/fsio.js';

const MAIN = '/etc/ssh/sshd_config';
const USER = 'allsky-upload';
const DROPIN = `/etc/ssh/sshd_config.d/50-sftp-setup-${USER}.conf`;
const OURS = `Match User ${USER}\n    ChrootDirectory /var/lib/allsky-uploads\n    PasswordAuthentication no\n    PermitTTY no\n    X11Forwarding no\n`;
const short = (f: string) => f.replace('/etc/ssh/', '');

describe('findConflicts', () => {
  it('reports earlier drop-in Match blocks that apply (yes or maybe), not later or global ones', () => {
    const ds = loadConfig(MAIN, fixtureIO('hostile', { [DROPIN]: OURS }));
    const c = findConflicts(ds, USER, [USER], { file: DROPIN });
    expect(c.map((x) => [short(x.file), x.lineNo, x.keyword, x.applies, x.match.lineNo])).toEqual([
      ['sshd_config.d/40-other.conf', 3, 'chrootdirectory', 'yes', 2],
      ['sshd_config.d/40-other.conf', 4, 'passwordauthentication', 'yes', 2],
      ['sshd_config.d/40-other.conf', 6, 'x11forwarding', 'maybe', 5],
    ]);
    expect(c[0]!.match.criteria).toEqual(['User', 'allsky-*']);
  });

  it('before our block exists, every applying Match directive counts, including a Match all section', () => {
    const ds = loadConfig(MAIN, fixtureIO('hostile'));
    const c = findConflicts(ds, USER, [USER], { file: DROPIN });
    expect(c.map((x) => `${short(x.file)}:${x.lineNo}`)).toEqual([
      'sshd_config.d/40-other.conf:3',
      'sshd_config.d/40-other.conf:4',
      'sshd_config.d/40-other.conf:6',
      'sshd_config:11', // PermitTTY yes after Match all beats a later Match User (checked with sshd -T)
    ]);
  });

  it('in the main file, earlier blocks conflict; a Group block counts only for members', () => {
    const text = upsertMarkedBlock(fixtureText('hostile'), USER, OURS).text;
    const io = fixtureIO('hostile', { [MAIN]: text, '/etc/ssh/sshd_config.d/40-other.conf': null });
    const ds = loadConfig(MAIN, io);
    const range = findMarkedBlock(text, USER)!;
    const mine = findConflicts(ds, USER, [USER], { file: MAIN, marker: true, range });
    expect(mine.map((x) => [x.lineNo, x.keyword])).toEqual([[11, 'permittty']]);
    const asMember = findConflicts(ds, USER, ['uploaders'], { file: MAIN, marker: true });
    expect(asMember.map((x) => [x.lineNo, x.keyword, x.applies])).toEqual([
      [11, 'permittty', 'yes'],
      [13, 'allowtcpforwarding', 'maybe'],
    ]);
  });

  it('Debian 12 default: nothing conflicts', () => {
    const ds = loadConfig(MAIN, fixtureIO('debian12', { [DROPIN]: OURS }));
    expect(findConflicts(ds, USER, [USER], { file: DROPIN })).toEqual([]);
  });
});

describe('whoSets (same answers as sshd -T -C on the hostile fixture)', () => {
  const ds = loadConfig(MAIN, fixtureIO('hostile'));
  const at = (k: string, ctx: Parameters<typeof whoSets>[2]) => {
    const w = whoSets(ds, k, ctx);
    return w ? `${short(w.directive.file)}:${w.directive.lineNo}:${w.applies}` : 'default';
  };
  const upl = { user: USER, groups: [USER], host: 'h', addr: '192.168.1.5' };
  const bob = { user: 'bob', groups: ['bob'], host: 'h', addr: '192.168.1.5' };

  it('answers per user', () => {
    expect(at('chrootdirectory', upl)).toBe('sshd_config.d/40-other.conf:3:yes'); // /srv/other
    expect(at('passwordauthentication', upl)).toBe('sshd_config.d/40-other.conf:4:yes');
    expect(at('x11forwarding', upl)).toBe('sshd_config.d/40-other.conf:6:yes');
    expect(at('permittty', upl)).toBe('sshd_config:11:yes');
    expect(at('loglevel', upl)).toBe('sshd_config.d/10-global.conf:1:yes');
    expect(at('forcecommand', upl)).toBe('default');
    expect(at('allowtcpforwarding', upl)).toBe('default');
    expect(at('ChrootDirectory', bob)).toBe('sshd_config:8:yes'); // "/srv/with space/%u"
    expect(at('forcecommand', bob)).toBe('sshd_config:9:yes');
    expect(at('clientalivecountmax', bob)).toBe('conf.d/second.conf:1:yes');
    expect(at('x11forwarding', { user: 'bob', groups: [] })).toBe('sshd_config.d/40-other.conf:6:maybe');
  });

  it('knows old keyword names', () => {
    const d = loadConfig(MAIN, fixtureIO('debian12', { [MAIN]: 'ChallengeResponseAuthentication no\n' }));
    expect(whoSets(d, 'KbdInteractiveAuthentication', upl)?.directive.lineNo).toBe(1);
  });
});

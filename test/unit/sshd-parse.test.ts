import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig, splitArgs } from '../../src/sshd/parse.js';
import { fixtureText } from '../fixtures/sshd/fsio.js';

const kw = (text: string) => parseConfig(text, 'f').filter((l) => l.keyword);

describe('parseConfig', () => {
  it('reads the Debian 12 default file: Include first, comments skipped', () => {
    const lines = kw(fixtureText('debian12'));
    expect(lines[0]).toMatchObject({ keyword: 'include', args: ['/etc/ssh/sshd_config.d/*.conf'], lineNo: 12 });
    expect(lines.map((l) => l.keyword)).toEqual([
      'include', 'kbdinteractiveauthentication', 'usepam', 'x11forwarding', 'printmotd', 'acceptenv', 'subsystem',
    ]);
    expect(lines.at(-1)?.args).toEqual(['sftp', '/usr/lib/openssh/sftp-server']);
  });

  it('handles CRLF, tabs, =, any case, quotes, trailing comments and no final newline', () => {
    const lines = kw(fixtureText('hostile'));
    const get = (k: string) => lines.find((l) => l.keyword === k)!;
    expect(get('include').args).toEqual(['/etc/ssh/sshd_config.d/*.conf', 'conf.d/first.conf', 'missing.conf']);
    expect(get('passwordauthentication').args).toEqual(['yes']);
    expect(get('x11forwarding').args).toEqual(['yes']);
    expect(get('authorizedkeysfile').args).toEqual(['.ssh/authorized keys', '.ssh/authorized_keys2']);
    expect(get('chrootdirectory').args).toEqual(['/srv/with space/%u']);
    // ForceCommand takes the text verbatim in sshd, comment included (checked with sshd -T).
    expect(get('forcecommand').value).toBe('internal-sftp -d /in # not a comment for ForceCommand');
    expect(get('allowtcpforwarding').args).toEqual(['no']);
    expect(lines.at(-1)).toMatchObject({ keyword: 'match', args: ['User', 'carol'], raw: 'Match User carol' });
  });

  it('follows strdelim / argv_split corner cases', () => {
    const one = (t: string) => parseConfig(t, 'f')[0]!;
    expect(one('Port = 22').args).toEqual(['22']);
    expect(one('Port=22').args).toEqual(['22']);
    expect(one('Port==22').args).toEqual(['=22']); // only one '=' is a separator
    expect(one('X11Forwarding yes#x').args).toEqual(['yes#x']); // '#' only starts a comment at a token
    expect(one('AcceptEnv A #B C').args).toEqual(['A']);
    expect(one('  #Port 22').keyword).toBeUndefined();
    expect(one('Banner a\\ b').args).toEqual(['a b']);
    expect(one("Banner 'x y'").args).toEqual(['x y']);
    expect(one('Banner "open')).toMatchObject({ keyword: 'banner', error: 'invalid quotes' });
    expect(one('Banner')).toMatchObject({ keyword: 'banner', error: expect.stringContaining('no argument') });
    expect(one('"Port" 22')).toMatchObject({ keyword: 'port', args: ['22'] });
    expect(one('\t\r\n').keyword).toBeUndefined();
    expect(splitArgs('a "b c" d').args).toEqual(['a', 'b c', 'd']);
  });

  it('keeps line numbers and an empty file gives no lines', () => {
    expect(parseConfig('', 'f')).toEqual([]);
    const lines = parseConfig('a 1\n\nb 2\n', 'f');
    expect(lines.map((l) => [l.lineNo, l.keyword])).toEqual([[1, 'a'], [2, undefined], [3, 'b']]);
  });

  const hostileChars = fc.constantFrom(' ', '\t', '\r', '\n', '=', '"', "'", '#', '\\', '\f', 'a', 'K', '%', '\0', 'é');
  const hostileText = fc.array(hostileChars, { maxLength: 200 }).map((a) => a.join(''));

  it('never throws and joins back byte for byte (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), hostileText), (text) => {
        const lines = parseConfig(text, 'f');
        expect(lines.map((l) => l.raw).join('')).toBe(text);
        for (const l of lines) {
          expect(l.raw.slice(0, -1)).not.toContain('\n');
          if (l.keyword !== undefined) expect(l.keyword).toBe(l.keyword.toLowerCase());
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** sshd's log lines from the journal, auth.log and a -E file; the -E file found on the listener's command line. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logFileOf, sshdArguments } from '../../src/sshd/command-line.js';
import { fromSshd, MAX_LINE, parseLogLine, parseLogText } from '../../src/sshd/log-lines.js';

describe('parseLogLine', () => {
  const now = new Date(2025, 5, 1, 12, 0, 0);

  it('reads the journal\'s short-unix prefix: time, program and message', () => {
    const l = parseLogLine('1748772000.123456 collector sshd-session[812]: Accepted publickey for cam01 from 10.0.0.2 port 5 ssh2: ED25519 SHA256:x');
    expect(l).toMatchObject({ time: 1748772000123, ident: 'sshd-session', text: 'Accepted publickey for cam01 from 10.0.0.2 port 5 ssh2: ED25519 SHA256:x' });
  });

  it('reads rsyslog\'s RFC 3339 and traditional prefixes (a year-less date never lies ahead)', () => {
    expect(parseLogLine('2025-06-01T11:59:00.000001+00:00 collector sshd[9]: drop connection #10 from [10.0.0.3]:4 on [10.0.0.1]:22 past MaxStartups'))
      .toMatchObject({ time: Date.UTC(2025, 5, 1, 11, 59, 0), ident: 'sshd', text: 'drop connection #10 from [10.0.0.3]:4 on [10.0.0.1]:22 past MaxStartups' });
    expect(parseLogLine('Jun  1 11:58:00 collector sshd[9]: x', now)).toMatchObject({ time: new Date(2025, 5, 1, 11, 58).getTime(), text: 'x' });
    // A December line read in June is last December's.
    expect(parseLogLine('Dec 31 23:00:00 collector sshd[9]: x', now).time).toBe(new Date(2024, 11, 31, 23).getTime());
  });

  it('takes a -E file\'s line (no prefix, CR LF) as the message, with no time', () => {
    const l = parseLogLine('Connection closed by authenticating user cam01 10.0.0.2 port 5 [preauth]\r');
    expect(l).toEqual({ raw: 'Connection closed by authenticating user cam01 10.0.0.2 port 5 [preauth]', text: 'Connection closed by authenticating user cam01 10.0.0.2 port 5 [preauth]' });
    expect(fromSshd(l)).toBe(true);
    expect(fromSshd(parseLogLine('1748772000.1 h internal-sftp[3]: session opened'))).toBe(false);
    expect(fromSshd(parseLogLine('1748772000.1 h sudo[3]: drop connection #1 from [1.2.3.4]:1 on [5.6.7.8]:22 past MaxStartups'))).toBe(false);
  });

  it('cuts a very long line (hostile or not), keeps control bytes as data, and never throws', () => {
    const long = `Invalid user ${'\x1b[2J'.repeat(50_000)} from 10.0.0.9 port 1`;
    const l = parseLogLine(long);
    expect(l.raw.length).toBe(MAX_LINE + 1);
    expect(l.raw.endsWith('…')).toBe(true);
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
      const p = parseLogLine(s);
      expect(p.raw.length).toBeLessThanOrEqual(MAX_LINE + 1);
      expect(typeof p.text).toBe('string');
    }));
  });

  it('drops the first line of a tail read from the middle of a file, and journalctl\'s "-- " notes', () => {
    expect(parseLogText('ut off\nfirst\r\nsecond\r\n', { partialStart: true }).map((l) => l.text)).toEqual(['first', 'second']);
    expect(parseLogText('-- No entries --\n').length).toBe(0);
  });
});

describe('the -E file on the listener\'s command line', () => {
  it('reads the retitled listener ("sshd: ARGS [listener] …") and a plain NUL-separated argv', () => {
    expect(sshdArguments('sshd: /usr/sbin/sshd -E /var/log/auth.log [listener] 0 of 10-100 startups\0')).toEqual(['-E', '/var/log/auth.log']);
    expect(sshdArguments('/usr/sbin/sshd\0-D\0-E\0/var/log/sshd.log\0')).toEqual(['-D', '-E', '/var/log/sshd.log']);
  });

  it('follows sshd\'s getopt: -E FILE, -EFILE, grouped flags, values of other options are not flags; the last -E wins', () => {
    expect(logFileOf(['-D', '-E', '/a'])).toBe('/a');
    expect(logFileOf(['-E/b'])).toBe('/b');
    expect(logFileOf(['-DeE', '/c'])).toBe('/c');
    expect(logFileOf(['-f', '-E', '-p', '22'])).toBeUndefined(); // "-E" is -f's value here
    expect(logFileOf(['-E', '/a', '-E', '/d'])).toBe('/d');
    expect(logFileOf(['-D'])).toBeUndefined();
    expect(logFileOf(['-E', 'relative.log'])).toBeUndefined();
    expect(logFileOf(['-o', 'LogLevel=VERBOSE', '-E', '/e'])).toBe('/e');
  });
});

import { describe, expect, it } from 'vitest';
import {
  parseCidrList,
  validateAbsPath,
  validateAdminTarget,
  validateFingerprint,
  validateHostName,
  validatePort,
  validateUserName,
} from '../../src/validate.js';
import { usageError } from './helpers.js';


describe('validateUserName', () => {
  it.each(['allsky', 'allsky-upload', '_upl', 'cam1', 'a', 'a'.repeat(32), 'up_load-2'])('accepts %j', (n) => {
    expect(validateUserName(n)).toBe(n);
  });
  it.each([
    ['root', /reserved/],
    ['-x', /starts with "-"/],
    ['UPPER', /uppercase/],
    ['a'.repeat(33), /33 characters/],
    ['a b', /not allowed/],
    ['', /empty/],
    ['a/b', /not allowed/],
    ['a:b', /not allowed/],
    ['1abc', /not allowed/],
    ['www-data', /reserved/],
    ['nobody', /reserved/],
    ['sshd', /reserved/],
    ['systemd-foo', /reserved/],
  ])('rejects %j', (n, why) => {
    const e = usageError(() => validateUserName(n));
    expect(e.message).toMatch(why);
    expect(e.message).toContain('--user');
    expect(e.fix).toBeTruthy();
  });
  it('names the flag it was given', () => {
    expect(usageError(() => validateUserName('root', '--name')).message).toMatch(/^--name "root"/);
  });
});

describe('validateAbsPath', () => {
  it.each([
    ['/srv/sftp', '/srv/sftp'],
    ['/srv/sftp/', '/srv/sftp'],
    ['/srv/sftp-up/allsky_1', '/srv/sftp-up/allsky_1'],
    ['/a', '/a'],
  ])('accepts %j', (p, out) => {
    expect(validateAbsPath(p, '--chroot')).toBe(out);
  });
  it.each([
    ['', /empty/],
    ['srv/sftp', /absolute/],
    ['/', /root directory/],
    ['//', /root directory|"\/\/"/],
    ['/srv//sftp', /"\/\/"/],
    ['/srv/../etc', /"\.\."/],
    ['/srv/./x', /"\."/],
    ['/srv/my dir', /whitespace/],
    ['/srv/a\nb', /control/],
    ['/srv/%u', /%/],
    ['/srv/"x"', /quote/],
    ['/srv/*', /glob/],
  ])('rejects %j', (p, why) => {
    const e = usageError(() => validateAbsPath(p, '--chroot'));
    expect(e.message).toMatch(why);
    expect(e.message).toContain('--chroot');
  });
});

describe('validatePort', () => {
  it.each([
    ['22', 22],
    ['2222', 2222],
    ['65535', 65535],
    ['1', 1],
    [22, 22],
  ] as const)('accepts %j', (s, n) => {
    expect(validatePort(s)).toBe(n);
  });
  it.each(['0', '65536', '-1', '22.0', ' 22', '0x16', '', 'ssh', '1e3', 22.5, 0, 70000])('rejects %j', (s) => {
    const e = usageError(() => validatePort(s));
    expect(e.message).toContain('--port');
    expect(e.fix).toMatch(/1 to 65535/);
  });
});

describe('parseCidrList', () => {
  it.each([
    ['192.168.1.0/24', ['192.168.1.0/24']],
    ['10.0.0.5', ['10.0.0.5']],
    ['fd00::/8', ['fd00::/8']],
    ['::1', ['::1']],
    ['FD00::1/128', ['fd00::1/128']],
    ['10.0.0.5,192.168.1.0/24', ['10.0.0.5', '192.168.1.0/24']],
    ['10.0.0.5, 10.0.0.6', ['10.0.0.5', '10.0.0.6']],
    ['10.0.0.5,10.0.0.5', ['10.0.0.5']],
    ['0.0.0.0/0', ['0.0.0.0/0']],
    ['::ffff:10.0.0.0/104', ['::ffff:10.0.0.0/104']],
  ])('accepts %j', (s, out) => {
    expect(parseCidrList(s)).toEqual(out);
  });
  it.each([
    ['', /empty entry/],
    ['10.0.0.1,', /empty entry/],
    ['10.0.0.1,,10.0.0.2', /empty entry/],
    ['256.1.1.1', /not an IP/],
    ['10.0.0/24', /not an IP/],
    ['10.0.0.0/33', /prefix length/],
    ['fd00::/129', /prefix length/],
    ['10.0.0.1/', /not an IP/],
    ['"10.0.0.1"', /not an IP/],
    ['10.0.0.1 10.0.0.2', /not an IP/],
    ['example.com', /not an IP/],
    ['fe80::1%eth0', /not an IP/],
    ['010.0.0.1', /not an IP/],
    ['10.0.0.*', /not an IP/],
  ])('rejects %j', (s, why) => {
    const e = usageError(() => parseCidrList(s));
    expect(e.message).toMatch(why);
    expect(e.message).toContain('--from');
  });
  it('rejects host bits set (sshd ignores such entries) and suggests the network', () => {
    const e = usageError(() => parseCidrList('192.168.1.5/24'));
    expect(e.message).toMatch(/host bits/);
    expect(e.fix).toContain('192.168.1.0/24');
    expect(usageError(() => parseCidrList('fd00::1/8')).fix).toContain('fd00::/8');
  });
});

describe('validateFingerprint', () => {
  const fp = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
  it.each([
    [fp, fp],
    [`${fp}=`, fp],
    [`  ${fp}\n`, fp],
    ['sha256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', fp],
  ])('accepts %j', (s, out) => {
    expect(validateFingerprint(s)).toBe(out);
  });
  it('points MD5 fingerprints to ssh-keygen -lf', () => {
    const e = usageError(() => validateFingerprint('MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48'));
    expect(e.message).toMatch(/MD5/);
    expect(e.fix).toMatch(/ssh-keygen -lf/);
    expect(usageError(() => validateFingerprint('16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48')).message).toMatch(/MD5/);
  });
  it.each([
    '',
    'SHA256:',
    'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
    'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2',
    'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2sX',
    'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2t', // final char carries bits beyond 32 bytes
    'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD-s',
  ])('rejects %j', (s) => {
    const e = usageError(() => validateFingerprint(s));
    expect(e.message).toContain('--host-key');
    expect(e.fix).toMatch(/SHA256/);
  });
});

describe('validateHostName', () => {
  it.each([
    ['collector.local', 'collector.local'],
    ['collector', 'collector'],
    ['collector.local.', 'collector.local'],
    ['192.168.1.10', '192.168.1.10'],
    ['fd00::10', 'fd00::10'],
    ['[fd00::10]', 'fd00::10'],
    ['my-pi-4.example.org', 'my-pi-4.example.org'],
  ])('accepts %j', (s, out) => {
    expect(validateHostName(s)).toBe(out);
  });
  it.each(['', 'a b', '-oProxyCommand=x', 'user@host', 'host;rm', 'host$(x)', '300.1.1.1', '[collector]', 'a..b', 'host-', 'a_b'])(
    'rejects %j',
    (s) => {
      expect(usageError(() => validateHostName(s)).message).toContain('--collector');
    },
  );
});

describe('validateAdminTarget', () => {
  it.each([
    ['root@collector.local', { user: 'root', host: 'collector.local' }],
    ['pi@192.168.1.10', { user: 'pi', host: '192.168.1.10' }],
    ['admin@[fd00::1]', { user: 'admin', host: 'fd00::1' }],
  ])('accepts %j', (s, out) => {
    expect(validateAdminTarget(s)).toEqual(out);
  });
  it.each(['collector', '@host', 'root@', 'a@b@c', 'Ro ot@host', '-l@host', 'root@-host', 'root@a b'])('rejects %j', (s) => {
    const e = usageError(() => validateAdminTarget(s));
    expect(e.message).toContain('--via');
  });
});

import { describe, expect, it } from 'vitest';
import { compareEffective, parseEffective, parseSshdVersion } from '../../src/sshd/effective.js';

const SAMPLE = [
  'port 22',
  'addressfamily any',
  'listenaddress [::]:22',
  'listenaddress 0.0.0.0:22',
  'passwordauthentication no',
  'kbdinteractiveauthentication no',
  'x11forwarding no',
  'permittty no',
  'allowtcpforwarding no',
  'loglevel VERBOSE',
  'chrootdirectory /var/lib/allsky-uploads/',
  'forcecommand internal-sftp -u 0022  -p realpath,open',
  'authorizedkeysfile /etc/ssh/sftp-setup/authorized_keys/%u',
  'hostkey /etc/ssh/ssh_host_ed25519_key',
  'hostkey /etc/ssh/ssh_host_rsa_key',
  '',
].join('\n');

describe('parseEffective / compareEffective', () => {
  const map = parseEffective(SAMPLE);

  it('collects lowercase keywords, repeated ones accumulate', () => {
    expect(map.get('hostkey')).toEqual(['/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_rsa_key']);
    expect(map.get('listenaddress')).toHaveLength(2);
    expect(map.get('loglevel')).toEqual(['VERBOSE']);
  });

  it('normalises yes/no, case of enums, paths and whitespace; tokens stay unexpanded', () => {
    expect(
      compareEffective(map, {
        PasswordAuthentication: 'No',
        X11Forwarding: 'false',
        LogLevel: 'verbose',
        ChrootDirectory: '/var/lib//allsky-uploads',
        ForceCommand: 'internal-sftp -u 0022 -p realpath,open',
        AuthorizedKeysFile: '/etc/ssh/sftp-setup/authorized_keys/%u',
      }),
    ).toEqual([]);
  });

  it('reports differences and missing keywords; expands tokens on request', () => {
    expect(compareEffective(map, { PermitTTY: 'yes', Nonexistent: 'x' })).toEqual([
      { keyword: 'permittty', expected: 'yes', actual: 'no' },
      { keyword: 'nonexistent', expected: 'x', actual: null },
    ]);
    expect(compareEffective(map, { AuthorizedKeysFile: '/etc/ssh/sftp-setup/authorized_keys/allsky-upload' })).toHaveLength(1);
    expect(
      compareEffective(map, { AuthorizedKeysFile: '/etc/ssh/sftp-setup/authorized_keys/allsky-upload' }, { user: 'allsky-upload' }),
    ).toEqual([]);
  });

  it('accepts the old ChallengeResponseAuthentication name from older sshd', () => {
    expect(compareEffective(parseEffective('challengeresponseauthentication no\n'), { KbdInteractiveAuthentication: 'no' })).toEqual([]);
  });
});

describe('parseSshdVersion', () => {
  it('reads ssh -V and sshd usage text', () => {
    expect(parseSshdVersion('OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.11 19 Sep 2023\n')).toEqual({
      major: 9,
      minor: 2,
      patch: 1,
      raw: 'OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.11 19 Sep 2023',
    });
    expect(parseSshdVersion('unknown option -- V\nOpenSSH_8.4p1 Raspbian-5+deb11u1, OpenSSL 1.1.1n\nusage: sshd ...')).toMatchObject({ major: 8, minor: 4, patch: 1 });
    expect(parseSshdVersion('OpenSSH_9.9, LibreSSL 4.0.0')).toMatchObject({ major: 9, minor: 9, patch: 0 });
    expect(parseSshdVersion('dropbear v2022.83')).toBeNull();
  });
});

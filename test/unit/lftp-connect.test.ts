import { describe, expect, it } from 'vitest';
import { connectProgram, connectProgramSetLine } from '../../src/lftp/connect-program.js';
import { UsageError } from '../../src/errors.js';

describe('connectProgram', () => {
  it('builds the minimal ssh command', () => {
    expect(connectProgram({ keyPath: '/home/pi/.ssh/allsky_ed25519' })).toBe(
      'ssh -a -x -i /home/pi/.ssh/allsky_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no',
    );
  });

  it('adds a pinned known_hosts file and multiplexing', () => {
    expect(
      connectProgram({
        keyPath: '/home/pi/.ssh/k',
        knownHostsPath: '/home/pi/.ssh/known_hosts_sftp-setup',
        controlDir: '/home/pi/.ssh/cm/',
      }),
    ).toBe(
      'ssh -a -x -i /home/pi/.ssh/k -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no' +
        ' -o UserKnownHostsFile=/home/pi/.ssh/known_hosts_sftp-setup' +
        ' -o ControlMaster=auto -o ControlPath=/home/pi/.ssh/cm/cm-%C -o ControlPersist=60',
    );
  });

  it.each(['/home/pi/my key', '/home/pi/"k"', "/home/pi/'k'", 'relative/key', '', '/home/pi/k;rm', '/home/pi/%u', '/a/b*'])(
    'refuses unsafe key path %j',
    (keyPath) => {
      expect(() => connectProgram({ keyPath })).toThrow(UsageError);
    },
  );

  it('refuses a .pub key and unsafe other paths', () => {
    expect(() => connectProgram({ keyPath: '/home/pi/.ssh/id_ed25519.pub' })).toThrow(/public key/);
    expect(() => connectProgram({ keyPath: '/k', knownHostsPath: '/a b' })).toThrow(/known_hosts path/);
    expect(() => connectProgram({ keyPath: '/k', controlDir: '/tmp/x y' })).toThrow(/control directory/);
  });

  it('set line uses double quotes (the WebUI mangles single quotes)', () => {
    const line = connectProgramSetLine({ keyPath: '/home/pi/.ssh/k' });
    expect(line).toBe('set sftp:connect-program "ssh -a -x -i /home/pi/.ssh/k -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no"');
    expect(line).not.toContain("'");
  });
});

import { describe, expect, it } from 'vitest';
import { connectProgram, connectProgramSetLine, pinsHostKeyChecking } from '../../src/lftp/connect-program.js';
import { extractKeyPath, splitWords } from '../../src/lftp/rc.js';
import { UsageError } from '../../src/errors.js';

describe('connectProgram', () => {
  it('builds the minimal ssh command', () => {
    expect(connectProgram({ keyPath: '/home/pi/.ssh/allsky_ed25519' })).toBe(
      'ssh -F /dev/null -o StrictHostKeyChecking=yes -a -x -i /home/pi/.ssh/allsky_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no',
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
      'ssh -F /dev/null -o StrictHostKeyChecking=yes -a -x -i /home/pi/.ssh/k -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no' +
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
    expect(line).toBe('set sftp:connect-program "ssh -F /dev/null -o StrictHostKeyChecking=yes -a -x -i /home/pi/.ssh/k -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no"');
    expect(line).not.toContain("'");
  });

  it('pins host-key checking: no ssh_config is read, StrictHostKeyChecking=yes; the key is still found', () => {
    const cp = connectProgram({ keyPath: '/home/pi/.ssh/k', controlDir: '/home/pi/.ssh/cm' });
    expect(pinsHostKeyChecking(splitWords(cp))).toBe(true);
    expect(extractKeyPath(cp)).toBe('/home/pi/.ssh/k');
  });

  it.each([
    ['ssh -a -x -i /k -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no', false], // before this release
    ['ssh -F /dev/null -a -x -i /k', false],
    ['ssh -o StrictHostKeyChecking=yes -i /k', false],
    ['ssh -F /home/pi/.ssh/config -o StrictHostKeyChecking=yes -i /k', false],
    ['ssh -F /dev/null -o StrictHostKeyChecking=no -o StrictHostKeyChecking=yes -i /k', false], // ssh: the first value wins
    ['ssh -F /dev/null -o StrictHostKeyChecking=accept-new -i /k', false],
    ['ssh -F/dev/null -oStrictHostKeyChecking=yes -i /k', true],
    ['ssh -F /dev/null -o "StrictHostKeyChecking yes" -i /k', true],
  ])('an existing connect-program %j pins host keys: %s', (cp, want) => {
    expect(pinsHostKeyChecking(splitWords(cp))).toBe(want);
  });
});

import { describe, expect, it } from 'vitest';
import {
  cameraLockPath, heldTooLong, isSftpSetupCmdline, judgeLock, lockContent, parseLockContent, parseWaitSeconds, startTimeOf, unsafeLockDir, waitingLine, type LockSeen,
} from '../../src/lock.js';

const file = { type: 'file' as const, uid: 0, mode: 0o100600, nlink: 1 };
const run = (pid: number) => ({ alive: true, cmdline: `node\0/usr/local/bin/sftp-setup\0init\0`, start: '4242' });
const seen = (over: Partial<LockSeen>): LockSeen => ({ stat: file, euid: 0, content: '77 4242\n', holder: run(77), ownPid: 1000, ...over });

describe('lock content', () => {
  it('writes and reads back pid and start time', () => {
    expect(lockContent(77, '4242')).toBe('77 4242\n');
    expect(parseLockContent(lockContent(77, '4242'))).toEqual({ pid: 77, start: '4242' });
    expect(parseLockContent('77\n')).toEqual({ pid: 77, start: null });
  });

  it('garbage, pid 0 and pid 1 are not a holder', () => {
    for (const t of ['', '1', '1\n', '0\n', 'x', '77 x', '-5', '77\n\n', '77 4242 9', ' 77', '9'.repeat(11)]) expect(parseLockContent(t), t).toBeNull();
  });

  it('reads the start time from /proc/PID/stat even when the command name holds ") ("', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    expect(startTimeOf(`123 (a) (b c) ${fields.join(' ')}`)).toBe('22');
    expect(startTimeOf('garbage')).toBeNull();
  });
});

describe('isSftpSetupCmdline', () => {
  it('knows sftp-setup runs, installed or from a clone', () => {
    expect(isSftpSetupCmdline('node\0/usr/local/bin/sftp-setup\0init\0')).toBe(true);
    expect(isSftpSetupCmdline('/usr/bin/node\0/home/pi/sftp-setup/bin/sftp-setup\0doctor\0')).toBe(true);
    expect(isSftpSetupCmdline('node\0/opt/x/cli.js\0', '/opt/x/cli.js')).toBe(true);
  });
  it('anything else is not one: init, a shell, a process that only mentions the name in a later argument', () => {
    for (const c of ['/sbin/init\0', 'bash\0-c\0sleep 100\0', 'sleep\x00100\x00', 'vim\0notes\0x\0/tmp/sftp-setup\0', '']) expect(isSftpSetupCmdline(c), c).toBe(false);
  });
});

describe('judgeLock', () => {
  it('a live sftp-setup run holds it', () => {
    expect(judgeLock(seen({}))).toEqual({ kind: 'held', pid: 77 });
  });
  it('stale or garbage locks of ours are taken over', () => {
    expect(judgeLock(seen({ content: '1\n', holder: { alive: true, cmdline: '/sbin/init\0', start: '1' } })).kind).toBe('stale');
    expect(judgeLock(seen({ content: 'garbage' })).kind).toBe('stale');
    expect(judgeLock(seen({ content: '' })).kind).toBe('stale');
    expect(judgeLock(seen({ holder: { alive: false, cmdline: null, start: null } })).kind).toBe('stale');
    expect(judgeLock(seen({ holder: { alive: true, cmdline: 'sleep\x00100\x00', start: '4242' } })).kind).toBe('stale');
    // the pid was reused by another sftp-setup run started later: not the holder
    expect(judgeLock(seen({ holder: { ...run(77), start: '9999' } })).kind).toBe('stale');
    expect(judgeLock(seen({ content: '1000 5\n', holder: run(1000) })).kind).toBe('stale');
  });
  it('never trusts what is not a regular file of ours with one link', () => {
    expect(judgeLock(seen({ stat: { ...file, type: 'fifo' }, content: null }))).toMatchObject({ kind: 'foreign', why: expect.stringMatching(/FIFO/) });
    expect(judgeLock(seen({ stat: { ...file, type: 'symlink' }, content: null }))).toMatchObject({ kind: 'foreign', why: expect.stringMatching(/symbolic link/) });
    expect(judgeLock(seen({ stat: { ...file, type: 'dir' }, content: null }))).toMatchObject({ kind: 'foreign', why: expect.stringMatching(/directory/) });
    expect(judgeLock(seen({ stat: { ...file, uid: 1000 } }))).toMatchObject({ kind: 'foreign', why: expect.stringMatching(/uid 1000/) });
    expect(judgeLock(seen({ stat: { ...file, nlink: 2 } }))).toMatchObject({ kind: 'foreign', why: expect.stringMatching(/2 hard links/) });
  });
});

describe('unsafeLockDir', () => {
  const dir = { type: 'dir' as const, uid: 0, mode: 0o40755, nlink: 2 };
  it('a directory of ours that no one else can write is fine', () => {
    expect(unsafeLockDir(dir, [0])).toBeNull();
    expect(unsafeLockDir({ ...dir, uid: 1000, mode: 0o40700 }, [1000])).toBeNull();
  });
  it('world- or group-writable, foreign, a link or missing: refused, saying why', () => {
    expect(unsafeLockDir({ ...dir, mode: 0o41777 }, [0])).toMatch(/writable by group or others \(mode 1777\)/);
    expect(unsafeLockDir({ ...dir, mode: 0o40775 }, [0])).toMatch(/writable/);
    expect(unsafeLockDir({ ...dir, uid: 1000 }, [0])).toMatch(/owned by uid 1000/);
    expect(unsafeLockDir({ ...dir, type: 'symlink' }, [0])).toMatch(/symbolic link/);
    expect(unsafeLockDir(null, [0])).toMatch(/does not exist/);
  });
});

describe('cameraLockPath', () => {
  const rt = { type: 'dir' as const, uid: 1000, mode: 0o40700, nlink: 2 };
  it('root: the root-only directory, whatever the environment says', () => {
    expect(cameraLockPath(0, { XDG_RUNTIME_DIR: '/run/user/0' }, '/root', rt)).toBe('/run/sftp-setup/camera.lock');
  });
  it('a user: its private runtime directory, else its ~/.cache; never /run/lock or /tmp', () => {
    expect(cameraLockPath(1000, { XDG_RUNTIME_DIR: '/run/user/1000' }, '/home/pi', rt)).toBe('/run/user/1000/sftp-setup/camera.lock');
    expect(cameraLockPath(1000, {}, '/home/pi')).toBe('/home/pi/.cache/sftp-setup/camera.lock');
    // another user's runtime directory (kept by su), or a shared one: not used
    expect(cameraLockPath(1000, { XDG_RUNTIME_DIR: '/run/user/0' }, '/home/pi', { ...rt, uid: 0 })).toBe('/home/pi/.cache/sftp-setup/camera.lock');
    expect(cameraLockPath(1000, { XDG_RUNTIME_DIR: '/tmp' }, '/home/pi', { ...rt, mode: 0o41777 })).toBe('/home/pi/.cache/sftp-setup/camera.lock');
    expect(cameraLockPath(1000, { XDG_RUNTIME_DIR: 'rel' }, '/home/pi', rt)).toBe('/home/pi/.cache/sftp-setup/camera.lock');
  });
});

describe('waiting for the lock (--wait)', () => {
  it('--wait takes whole seconds from 0 to a day, nothing else', () => {
    expect(parseWaitSeconds('0')).toBe(0);
    expect(parseWaitSeconds('60')).toBe(60);
    expect(parseWaitSeconds('86400')).toBe(86400);
    for (const t of ['', '-1', '1.5', '1e3', '86401', ' ', 'x', '0x10', '9999999']) expect(parseWaitSeconds(t), t).toBeNull();
  });
  it('one progress line naming the holder, since when, and the bound', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5);
    expect(waitingLine(77, at, 60)).toBe('sftp-setup: waiting for the sftp-setup run with pid 77 (holding the lock since 03:04:05) to finish; up to 60 s (--wait)');
    expect(waitingLine(77, null, 5)).toBe('sftp-setup: waiting for the sftp-setup run with pid 77 to finish; up to 5 s (--wait)');
  });
  it('an exceeded bound names the pid and --wait; --wait 0 says it did not wait', () => {
    const late = heldTooLong(77, 60, '/run/sftp-setup/lock');
    expect(late.message).toBe('another sftp-setup run (pid 77) is still changing this host after 60 s (--wait 60)');
    expect(late.fix).toMatch(/longer --wait; if no such process runs, remove \/run\/sftp-setup\/lock$/);
    expect(heldTooLong(77, 0, '/run/sftp-setup/lock').message).toMatch(/pid 77\) is changing this host \(--wait 0: not waiting\)/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  devLogFstabLine, devLogTodo, JOURNAL_SOCKET, logsUploads, planDevLogFstab, removeDevLogFstab, SYSLOG_SOCKET, type DevLogFacts,
} from '../../src/collector/devlog.js';
import { planFstab } from '../../src/collector/mount.js';
import { sftpProfileFlags } from '../../src/sshd/render.js';
import { devLogCheck } from '../../src/doctor/devlog.js';

const ROOT = '/var/lib/allsky-uploads';
const JOURNALD = { path: JOURNAL_SOCKET, kind: 'journald' as const };
const SYSLOG = { path: SYSLOG_SOCKET, kind: 'syslog' as const };
const FSTAB = 'UUID=1234 / ext4 errors=remount-ro 0 1\n';

describe('upload logging: the Match block', () => {
  it('internal-sftp gets -l INFO only when asked, after the allow-list', () => {
    expect(sftpProfileFlags('allsky')).not.toMatch(/-l/);
    expect(sftpProfileFlags('allsky', true)).toMatch(/^-u 0022 -p \S+ -l INFO$/);
    expect(sftpProfileFlags('dropbox', true)).toMatch(/ -l INFO$/);
  });

  it('logsUploads reads a ForceCommand line back', () => {
    expect(logsUploads(`internal-sftp ${sftpProfileFlags('allsky', true)}`)).toBe(true);
    expect(logsUploads(`internal-sftp ${sftpProfileFlags('allsky')}`)).toBe(false);
    expect(logsUploads('internal-sftp -lVERBOSE')).toBe(true);
    expect(logsUploads(undefined)).toBe(false);
  });
});

describe('upload logging: fstab', () => {
  it('binds journald\'s socket, after its socket unit; a syslog daemon\'s /dev/log without one; nofail always', () => {
    expect(devLogFstabLine(ROOT, JOURNALD)).toBe(`${JOURNAL_SOCKET} ${ROOT}/dev/log none bind,nofail,x-systemd.requires=systemd-journald-dev-log.socket 0 0`);
    expect(devLogFstabLine('/srv/a b', SYSLOG)).toBe('/dev/log /srv/a\\040b/dev/log none bind,nofail 0 0');
  });

  it('adds a marked entry once, updates it when the socket changes, removes exactly it', () => {
    const first = planDevLogFstab(FSTAB, ROOT, JOURNALD);
    expect(first.change).toBe('added');
    expect(first.text).toBe(`${FSTAB}# sftp-setup: log socket for the uploads to ${ROOT} (init --log)\n${devLogFstabLine(ROOT, JOURNALD)}\n`);
    expect(planDevLogFstab(first.text, ROOT, JOURNALD)).toEqual({ text: first.text, change: 'none' });
    const moved = planDevLogFstab(first.text, ROOT, SYSLOG);
    expect(moved.change).toBe('updated');
    expect(moved.text.split('\n').filter((l) => l.includes('dev/log'))).toEqual([devLogFstabLine(ROOT, SYSLOG)]);
    expect(removeDevLogFstab(first.text, ROOT)).toEqual({ text: FSTAB, removed: true, source: JOURNAL_SOCKET });
    expect(removeDevLogFstab(FSTAB, ROOT)).toEqual({ text: FSTAB, removed: false });
  });

  it('lives beside --protect-mount\'s line and another account\'s, each removed on its own', () => {
    const both = planDevLogFstab(planFstab(FSTAB, ROOT).text, ROOT, JOURNALD).text;
    const two = planDevLogFstab(both, '/srv/second', SYSLOG).text;
    const left = removeDevLogFstab(two, ROOT).text;
    expect(left).toBe(planDevLogFstab(planFstab(FSTAB, ROOT).text, '/srv/second', SYSLOG).text);
    expect(left).toContain(`${ROOT} ${ROOT} none bind,nosuid`);
  });

  it('leaves a person\'s own line for the same path alone', () => {
    const own = `${FSTAB}/dev/log ${ROOT}/dev/log none bind 0 0\n`;
    expect(removeDevLogFstab(own, ROOT).removed).toBe(false);
  });
});

describe('upload logging: what is left to do', () => {
  const f = (x: Partial<DevLogFacts>): DevLogFacts => ({ dir: 'ok', file: 'socket', mounted: true, live: true, ...x });
  it('nothing when the socket is live and fstab keeps it', () => {
    expect(devLogTodo(f({}), 'none')).toEqual([]);
  });
  it('a fresh chroot: fstab line, dev, the mount', () => {
    expect(devLogTodo(f({ dir: 'missing', file: 'missing', mounted: false, live: false }), 'added')).toEqual([
      '/etc/fstab: bind mount added', 'make dev (root:root 0755)', 'bind-mount the log socket',
    ]);
  });
  it('a mount that outlived its socket is made again', () => {
    expect(devLogTodo(f({ live: false }), 'none')).toEqual(['bind-mount again (the mount there no longer leads to the log socket)']);
  });
  it('a syslog daemon\'s own socket in the chroot needs nothing of ours', () => {
    expect(devLogTodo(f({ mounted: false, live: false }), 'added')).toEqual([]);
  });
});

describe('doctor chroot.devlog', () => {
  const base = {
    user: 'cam', root: '/srv/cam', profile: 'allsky', forceCommand: `internal-sftp ${sftpProfileFlags('allsky', true)}`,
    socket: JOURNALD, facts: { dir: 'ok', file: 'socket', mounted: true, live: true } as DevLogFacts, inFstab: true,
  };
  it('skips when logging is off', () => {
    expect(devLogCheck({ ...base, forceCommand: 'internal-sftp -u 0022' }).status).toBe('skip');
  });
  it('passes for a live bind kept in fstab, or a syslog daemon\'s own socket', () => {
    expect(devLogCheck(base).status).toBe('pass');
    expect(devLogCheck({ ...base, facts: { ...base.facts, mounted: false, live: false }, inFstab: false }).status).toBe('pass');
  });
  it('warns, with the init command, for a missing, stale or unkept socket', () => {
    for (const v of [
      { ...base, facts: { dir: 'missing', file: 'missing', mounted: false, live: false } as DevLogFacts },
      { ...base, facts: { ...base.facts, live: false } },
      { ...base, inFstab: false },
    ]) {
      const c = devLogCheck(v);
      expect(c.status).toBe('warn');
      expect(c.fix).toBe('sudo sftp-setup init --user cam --root /srv/cam --log');
    }
    expect(devLogCheck({ ...base, facts: { ...base.facts, live: false } }).evidence.join('\n')).toMatch(/made a new one/);
  });
});

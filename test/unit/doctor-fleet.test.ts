/** How doctor spreads a fleet's live probes: how many at once, and which accounts share what they must be refused. */
import { describe, expect, it } from 'vitest';
import { probesAtOnce } from '../../src/doctor/collector.js';
import type { UploadAccount } from '../../src/doctor/collector-context.js';
import { probeGroup, settingsKey } from '../../src/doctor/live.js';
import type { UploadTree } from '../../src/collector/upload-tree.js';
import { parseEffective } from '../../src/sshd/effective.js';

describe('probesAtOnce', () => {
  it('half of what sshd takes unauthenticated before MaxStartups refuses, between 2 and 8', () => {
    expect(probesAtOnce('10:30:100')).toBe(5);
    expect(probesAtOnce(undefined)).toBe(5);
    expect(probesAtOnce('3')).toBe(2);
    expect(probesAtOnce('200:30:400')).toBe(8);
  });
});

describe('settingsKey', () => {
  const account = (user: string, eff: string): UploadAccount =>
    ({ user, account: null, groups: [user], profile: 'allsky', eff: parseEffective(eff) });
  const block = (root: string, extra = '') =>
    `port 22\nchrootdirectory ${root}\nforcecommand internal-sftp -u 0022 -p open,write\nauthorizedkeysfile /k/%u /run/p/%u\n${extra}`;

  it('equal for accounts whose settings differ only in their chroot, different otherwise', () => {
    expect(settingsKey(account('cam01', block('/srv/cam01')))).toBe(settingsKey(account('cam02', block('/srv/cam02'))));
    expect(settingsKey(account('cam03', block('/srv/cam03', 'disableforwarding no')))).not.toBe(settingsKey(account('cam01', block('/srv/cam01'))));
    expect(settingsKey({ user: 'x', account: null, groups: [], profile: 'other' })).toBeUndefined();
  });
});

describe('probeGroup', () => {
  const account = (user: string, root: string, extra = ''): UploadAccount => ({
    user, account: null, groups: [user], profile: 'allsky',
    eff: parseEffective(`port 22\nchrootdirectory ${root}\nforcecommand internal-sftp -u 0022 -p open,write\n${extra}`),
  });
  const tree = (root: string, dirs: Array<[string, number]>): UploadTree => ({
    root, truncated: false, deeper: false,
    entries: dirs.map(([rel, dev]) => ({ rel, type: 'dir', mode: 0o755, uid: 1000, gid: 1000, nlink: 2, size: 4096, mtimeMs: 0, dev, ino: 1 })),
  });
  const dirs = ['images', 'videos'];

  it('the same for alike accounts: settings, profile, directories and their filesystems', () => {
    const one = probeGroup(account('cam01', '/srv/cam01'), dirs, tree('/srv/cam01', [['images', 7], ['videos', 7]]));
    expect(one).toBeDefined();
    expect(probeGroup(account('cam02', '/srv/cam02'), dirs, tree('/srv/cam02', [['images', 7], ['videos', 7], ['images/x', 9]]))).toBe(one);
    // images on another filesystem (a full disk, another mount's options): its own group.
    expect(probeGroup(account('cam03', '/srv/cam03'), dirs, tree('/srv/cam03', [['images', 8], ['videos', 7]]))).not.toBe(one);
    expect(probeGroup(account('cam04', '/srv/cam04', 'maxsessions 3'), dirs, tree('/srv/cam04', [['images', 7], ['videos', 7]]))).not.toBe(one);
    expect(probeGroup({ ...account('cam05', '/srv/cam05'), profile: 'dropbox' }, dirs, tree('/srv/cam05', [['images', 7], ['videos', 7]]))).not.toBe(one);
  });

  it('no group (always probed) when a directory was not seen, there is no tree or no settings', () => {
    expect(probeGroup(account('cam01', '/srv/cam01'), dirs, tree('/srv/cam01', [['images', 7]]))).toBeUndefined();
    expect(probeGroup(account('cam01', '/srv/cam01'), dirs, undefined)).toBeUndefined();
    expect(probeGroup({ user: 'x', account: null, groups: [], profile: 'allsky' }, dirs, tree('/srv/x', [['images', 7], ['videos', 7]]))).toBeUndefined();
  });
});

/** How doctor spreads a fleet's live probes: how many at once, and which accounts share what they must be refused. */
import { describe, expect, it } from 'vitest';
import { probesAtOnce } from '../../src/doctor/collector.js';
import type { UploadAccount } from '../../src/doctor/collector-context.js';
import { settingsKey } from '../../src/doctor/live.js';
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

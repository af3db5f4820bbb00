import { describe, expect, it } from 'vitest';
import { accountLines, parseKeepBackups, prunePlan, runDirPid } from '../../src/backup-rules.js';

describe('accountLines', () => {
  const shadow = 'root:$y$j9T$rootHASH:19000:0:99999:7:::\nalice:$6$salt$aliceHASH:19000::::::\nallsky-upload:*:19001::::::\nallsky-upload-2:*:19001::::::\n';
  it('keeps only the named accounts\' lines: no other hash reaches the copy', () => {
    expect(accountLines(shadow, ['allsky-upload'])).toBe('allsky-upload:*:19001::::::\n');
    expect(accountLines(shadow, [])).toBe('');
    expect(accountLines(shadow, ['nobody-here'])).toBe('');
    expect(accountLines('allsky-upload:*:1\nno colon allsky-upload\n', ['allsky-upload', ''])).toBe('allsky-upload:*:1\n');
  });
});

describe('parseKeepBackups', () => {
  it('1 to 1000, nothing else', () => {
    expect(parseKeepBackups('10')).toBe(10);
    expect(parseKeepBackups(' 1 ')).toBe(1);
    expect(parseKeepBackups('1000')).toBe(1000);
    for (const t of ['0', '1001', '-1', '2.5', '', 'ten', '1e2']) expect(parseKeepBackups(t), t).toBeNull();
  });
});

describe('prunePlan', () => {
  const run = (n: number, files: string[]) => ({ name: `20260101T0000${String(n).padStart(2, '0')}Z-${100 + n}`, files });
  const none = () => false;

  it('keeps the newest copies of each file: a file changed once long ago keeps its copy', () => {
    const runs = [run(0, ['etc/ssh/sshd_config']), ...Array.from({ length: 14 }, (_, i) => run(i + 1, ['etc/ssh/sftp-setup/authorized_keys/u']))];
    const plan = prunePlan(runs, 10, none);
    expect(plan.dirs.sort()).toEqual([run(1, []).name, run(2, []).name, run(3, []).name, run(4, []).name]);
    expect(plan.copies).toEqual([]);
  });

  it('a run with some copies still wanted loses only the old ones', () => {
    const runs = [run(1, ['a', 'b']), run(2, ['a']), run(3, ['a'])];
    expect(prunePlan(runs, 2, none)).toEqual({ copies: [{ run: run(1, []).name, file: 'a' }], dirs: [] });
    // keep 1: run 2 has nothing left and goes whole; run 1 keeps b, its a goes
    expect(prunePlan(runs, 1, none)).toEqual({ copies: [{ run: run(1, []).name, file: 'a' }], dirs: [run(2, []).name] });
  });

  it('never touches the runs it is told to spare (this one, live ones), nor directories not named like a run', () => {
    const runs = [run(1, ['a']), run(2, ['a']), run(3, ['a']), { name: 'notes', files: ['x'] }, run(4, [])];
    const spare = (n: string) => n === run(1, []).name || n === run(4, []).name;
    expect(prunePlan(runs, 1, spare)).toEqual({ copies: [], dirs: [run(2, []).name] });
  });

  it('whole copies of /etc/shadow an older version made age out with the partial ones', () => {
    const runs = [run(1, ['etc/shadow']), run(2, ['etc/shadow.account-lines']), run(3, ['etc/shadow.account-lines'])];
    expect(prunePlan(runs, 2, none)).toEqual({ copies: [], dirs: [run(1, []).name] });
  });

  it('within one second the later run is the one with the higher pid, as a number (100 after 99, not before)', () => {
    const same = (pid: number) => ({ name: `20260101T000000Z-${pid}`, files: ['a'] });
    const runs = [same(98), same(99), same(100), same(1001)];
    expect(prunePlan(runs, 2, none)).toEqual({ copies: [], dirs: [same(99).name, same(98).name] });
  });

  it('an empty run directory (a run killed before its first copy) goes', () => {
    expect(prunePlan([run(1, []), run(2, ['a'])], 10, none)).toEqual({ copies: [], dirs: [run(1, []).name] });
  });

  it('reads the pid out of a run directory name', () => {
    expect(runDirPid('20260101T000000Z-4242')).toBe(4242);
    expect(runDirPid('notes')).toBeNull();
    expect(runDirPid('20260101T000000Z-4242/../x')).toBeNull();
  });
});

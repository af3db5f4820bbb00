import { describe, expect, it } from 'vitest';
import {
  alreadyHandedOver, canTakeOver, findOrphans, isOrphanOwner, orphanRefusal, ownerListings, takeOverPlan, takeOverSummary, takeOverTooLarge,
} from '../../src/collector/orphan-uploads.js';
import type { TreeEntry } from '../../src/system/safe-fs.js';
import { shownPath } from '../../src/text/printable.js';

const DIRS = ['images', 'images/startrails', 'videos'];
const ACCOUNTS = new Set([0, 998, 1000]); // root, the account being set up (or another), a login user

function entry(rel: string, uid: number, over: Partial<TreeEntry> = {}): TreeEntry {
  return { rel, type: 'file', mode: 0o644, uid, gid: uid, nlink: 1, size: 1, mtimeMs: 0, dev: 1, ino: rel.length, ...over };
}
const dir = (rel: string, uid: number) => entry(rel, uid, { type: 'dir', mode: 0o755, nlink: 2 });

describe('isOrphanOwner', () => {
  it('a uid no account has; root never', () => {
    expect(isOrphanOwner(997, ACCOUNTS)).toBe(true);
    expect(isOrphanOwner(998, ACCOUNTS)).toBe(false);
    expect(isOrphanOwner(0, new Set())).toBe(false);
    expect(isOrphanOwner(4294967294, ACCOUNTS)).toBe(true);
  });
});

describe('findOrphans', () => {
  it('counts what no account owns, per owner, most first; the upload directories init makes are not uploads', () => {
    const found = findOrphans([
      dir('images', 997), dir('videos', 0), dir('images/startrails', 997),
      entry('images/a.jpg', 997), entry('images/b.jpg', 997), dir('images/20250601', 997), entry('images/20250601/c.jpg', 996),
      entry('videos/own.mp4', 998), entry('videos/pi.mp4', 1000), entry('images/link', 997, { type: 'symlink' }),
    ], ACCOUNTS, DIRS);
    expect(found.uploads).toEqual([{ uid: 997, count: 4 }, { uid: 996, count: 1 }]);
    expect(found.dirOwners).toEqual([997]);
  });
  it('a tree left by an uninstall with nothing uploaded holds no uploads', () => {
    expect(findOrphans([dir('images', 997), dir('images/startrails', 997), dir('videos', 997)], ACCOUNTS, DIRS)).toEqual({ uploads: [], dirOwners: [997] });
  });
  it('a directory init does not make counts as an upload, empty or not', () => {
    expect(findOrphans([dir('archive', 997)], ACCOUNTS, DIRS).uploads).toEqual([{ uid: 997, count: 1 }]);
  });
});

describe('alreadyHandedOver', () => {
  it('only when the account exists and owns every upload directory there is', () => {
    expect(alreadyHandedOver(998, [998, 998])).toBe(true);
    expect(alreadyHandedOver(998, [998, 997])).toBe(false);
    expect(alreadyHandedOver(undefined, [998])).toBe(false);
    expect(alreadyHandedOver(998, [])).toBe(false);
  });
});

describe('orphanRefusal', () => {
  const retired = [{ uid: 997, gid: 997, user: 'cam-a', root: '/srv/x', at: '' }];
  it('one line naming the root, the count, the numeric owner and the fix', () => {
    const r = orphanRefusal('/srv/x', 'cam-b', { uploads: [{ uid: 997, count: 3 }], dirOwners: [] }, false, retired)!;
    expect(r.message).toBe('--root /srv/x holds 3 uploads owned by uid 997, which no account has (left by cam-a, removed by uninstall); cam-b would get their directories');
    expect(r.fix).toBe('choose another --root, or move them away first; to give them to cam-b instead, run again with --take-over-uploads');
  });
  it('an owner the record does not name: a removed account\'s; several owners; a bounded look says "or more"', () => {
    expect(orphanRefusal('/srv/x', 'b', { uploads: [{ uid: 1234, count: 1 }], dirOwners: [] }, false, retired)!.message)
      .toBe('--root /srv/x holds 1 upload owned by uid 1234, which no account has (a removed account\'s); b would get their directories');
    expect(orphanRefusal('/srv/x', 'b', { uploads: [{ uid: 997, count: 2 }, { uid: 1234, count: 1 }], dirOwners: [] }, true, retired)!.message)
      .toBe('--root /srv/x holds 3 or more uploads owned by uids 997 and 1234, which no account has (left by cam-a, removed by uninstall); b would get their directories');
  });
  it('nothing to refuse: no orphans, or only empty upload directories of a tree seen whole', () => {
    expect(orphanRefusal('/srv/x', 'b', { uploads: [], dirOwners: [] }, true, [])).toBeNull();
    expect(orphanRefusal('/srv/x', 'b', { uploads: [], dirOwners: [997] }, false, [])).toBeNull();
  });
  it('upload directories owned by nobody in a tree too large to see whole: refused', () => {
    expect(orphanRefusal('/srv/x', 'b', { uploads: [], dirOwners: [997] }, true, retired)!.message)
      .toBe('--root /srv/x has upload directories owned by uid 997, which no account has (left by cam-a, removed by uninstall), and is too large to see whether they hold uploads');
  });
  it('--take-over-uploads on a tree larger than one walk', () => {
    expect(takeOverTooLarge('/srv/x', 100000, 8).message).toBe('--take-over-uploads: --root /srv/x holds more than 100000 entries or more than 8 levels, more than one run can look at');
  });
});

describe('the take-over', () => {
  it('gives plain files of one name and directories; leaves links, hard links, special files and mount points', () => {
    expect(canTakeOver(entry('a', 997))).toBe(true);
    expect(canTakeOver(dir('d', 997))).toBe(true);
    expect(canTakeOver(entry('h', 997, { nlink: 2 }))).toBe(false);
    expect(canTakeOver(entry('l', 997, { type: 'symlink' }))).toBe(false);
    expect(canTakeOver(entry('f', 997, { type: 'other' }))).toBe(false);
    expect(canTakeOver(entry('m', 997, { type: 'dir', mountPoint: true }))).toBe(false);
  });
  it('plans only what no account owns, and says what it leaves', () => {
    const plan = takeOverPlan([
      dir('images', 997), dir('images/20250601', 997), entry('images/a.jpg', 997), entry('images/own.jpg', 998), entry('images/etc', 997, { type: 'symlink' }),
      entry('images/h', 997, { nlink: 3 }), entry('images/root.jpg', 0),
    ], ACCOUNTS, DIRS);
    // images is an upload directory: init's upload-dirs step gives it
    expect(plan.give.map((e) => e.rel)).toEqual(['images/20250601', 'images/a.jpg']);
    expect(plan.left).toBe(2);
    expect(takeOverSummary(plan, 'cam-b')).toBe('give 2 entries owned by uid 997 (no account now) to cam-b; 2 links, hard links or special files left as they are');
    expect(takeOverSummary({ give: [entry('a', 997)], left: 0 }, 'cam-b')).toBe('give 1 entry owned by uid 997 (no account now) to cam-b');
  });
  it('the dry-run listing escapes names and stops after 20', () => {
    const hostile = 'x\n\u001b]0;owned\u0007.jpg';
    const plan = { give: [entry(`images/${hostile}`, 997), ...Array.from({ length: 24 }, (_, i) => entry(`images/${i}.jpg`, 997))], left: 0 };
    const { before, after } = ownerListings(plan, 'cam-b', shownPath);
    expect(before.split('\n')[0]).toBe(`997:997 ${shownPath(`images/${hostile}`)}`);
    expect(after.split('\n')[1]).toBe('cam-b:cam-b images/0.jpg');
    expect(before + after).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(before.trim().split('\n')).toHaveLength(21);
    expect(before.trim().split('\n').pop()).toBe('… and 5 more');
  });
});

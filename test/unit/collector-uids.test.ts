import { describe, expect, it } from 'vitest';
import { addRetired, chooseUid, leftUploadsLine, parseRetired, systemIdRanges, takenIds } from '../../src/collector/uids.js';

const debian = { uid: { min: 100, max: 999 }, gid: { min: 100, max: 999 } };

describe('systemIdRanges', () => {
  it('reads SYS_UID/GID_MIN/MAX from login.defs; commented or missing lines keep the defaults', () => {
    expect(systemIdRanges(null)).toEqual(debian);
    expect(systemIdRanges('#SYS_UID_MIN\t\t  100\n#SYS_UID_MAX\t\t  999\nUID_MIN 1000\n')).toEqual(debian);
    expect(systemIdRanges('SYS_UID_MIN 201\nSYS_UID_MAX\t499\n  SYS_GID_MIN 300\nSYS_GID_MAX 600 \n')).toEqual({ uid: { min: 201, max: 499 }, gid: { min: 300, max: 600 } });
    expect(systemIdRanges('SYS_UID_MAX 999x\n').uid.max).toBe(999);
  });
});

describe('chooseUid', () => {
  it('the highest free one, as useradd --system picks, skipping everything taken', () => {
    expect(chooseUid(debian, new Set())).toBe(999);
    expect(chooseUid(debian, new Set([999, 998, 996]))).toBe(997);
  });
  it('inside the gid range when the ranges overlap (the user group gets the same number), else the uid range', () => {
    expect(chooseUid({ uid: { min: 100, max: 999 }, gid: { min: 100, max: 500 } }, new Set())).toBe(500);
    expect(chooseUid({ uid: { min: 100, max: 999 }, gid: { min: 100, max: 101 } }, new Set([100, 101]))).toBe(999);
    expect(chooseUid({ uid: { min: 100, max: 200 }, gid: { min: 300, max: 400 } }, new Set())).toBe(200);
  });
  it('none left: null', () => {
    expect(chooseUid({ uid: { min: 5, max: 6 }, gid: { min: 5, max: 6 } }, new Set([5, 6]))).toBeNull();
  });
});

describe('the retired-uid record', () => {
  const a = { uid: 999, gid: 998, user: 'allsky-upload', root: '/var/lib/allsky-uploads', at: '2026-01-02T03:04:05.000Z' };
  it('adds one JSON line per retired uid and reads it back; the same entry is not repeated', () => {
    const once = addRetired(null, a);
    expect(once).toBe('{"uid":999,"gid":998,"user":"allsky-upload","root":"/var/lib/allsky-uploads","at":"2026-01-02T03:04:05.000Z"}\n');
    expect(addRetired(once, a)).toBe(once);
    const twice = addRetired(once.trimEnd(), { ...a, uid: 997, gid: 997, root: undefined });
    expect(parseRetired(twice)).toEqual([a, { uid: 997, gid: 997, user: 'allsky-upload', at: a.at }]);
  });
  it('a root with a newline or quotes stays on its line', () => {
    const odd = { ...a, root: '/srv/a\nb"c' };
    const text = addRetired(null, odd);
    expect(text.split('\n')).toHaveLength(2);
    expect(parseRetired(text)).toEqual([odd]);
  });
  it('damaged lines are skipped, the rest still counts', () => {
    expect(parseRetired('garbage\n{"uid":"x","gid":1,"user":"u"}\n{"uid":5,"gid":6,"user":"u"}\n{')).toEqual([{ uid: 5, gid: 6, user: 'u', at: '' }]);
  });
  it('every number in use, retired or owning uploads is taken', () => {
    const t = takenIds({ uids: [0, 999], gids: [0, 100] }, [a], { uids: [990], gids: [991] });
    expect([...t].sort((x, y) => x - y)).toEqual([0, 100, 990, 991, 998, 999]);
  });
});

describe('leftUploadsLine', () => {
  it('names the tree, its numeric owner, and the way to hand the uploads to a new account', () => {
    expect(leftUploadsLine('/var/lib/allsky-uploads', 999)).toBe('Uploaded files stay in /var/lib/allsky-uploads, owned by uid 999 (no account now); --purge deletes them, init --take-over-uploads gives them to a new account.');
    expect(leftUploadsLine('/srv/x', undefined)).toBe('Uploaded files stay in /srv/x; --purge deletes them, init --take-over-uploads gives them to a new account.');
  });
});

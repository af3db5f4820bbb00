/**
 * The upload tree read as data (src/doctor/tree.ts) and the probe's reading of sftp's `ls` output
 * (src/system/probe.ts listing): names from the tree never become probe input unless plain, dangerous
 * modes and odd entries are named, and a forged prompt line cannot fool the listing.
 */
import { describe, expect, it } from 'vitest';
import { dirsInTree, modeToReset, treeChecks, treeProblems } from '../../src/doctor/tree.js';
import type { UploadTree } from '../../src/collector/upload-tree.js';
import { shownPath } from '../../src/text/printable.js';
import { isPlainDir } from '../../src/collector/dirs.js';
import { listing } from '../../src/collector/probe-batch.js';
import type { TreeEntry } from '../../src/system/safe-fs.js';

const UID = 999;
const e = (rel: string, type: TreeEntry['type'], mode: number, extra: Partial<TreeEntry> = {}): TreeEntry => ({
  rel, type, mode, uid: UID, gid: UID, nlink: type === 'dir' ? 2 : 1, size: 0, dev: 1, ino: rel.length, ...extra,
});

describe('plain directory names', () => {
  it('accepts what --dirs accepts and nothing else', () => {
    for (const ok of ['images', 'images/videos/thumbnails', '_x', 'a.b-c_d']) expect(isPlainDir(ok), ok).toBe(true);
    for (const bad of ['x\n!cd;id>PWNED;#', '.hidden', '-rf', 'a b', 'a/../b', '..', '', 'a//b', '$(id)', '`id`', 'a\u001b[2J', 'x*']) {
      expect(isPlainDir(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('splits the tree\'s directories into plain ones (probed) and the others (reported), three levels deep', () => {
    const entries = [
      e('images', 'dir', 0o755), e('images/x\n!cd;touch PWNED;#', 'dir', 0o755), e('images/x\n!cd;touch PWNED;#/sub', 'dir', 0o755),
      e('images/a', 'dir', 0o755), e('images/a/b', 'dir', 0o755), e('images/a/b/c', 'dir', 0o755), e('.ssh', 'dir', 0o700),
      e('dev', 'dir', 0o755, { uid: 0 }), e('videos', 'dir', 0o755), e('videos/f.mp4', 'file', 0o644), e('link', 'symlink', 0o777),
    ];
    expect(dirsInTree(entries)).toEqual({ plain: ['images', 'images/a', 'images/a/b', 'videos'], odd: ['images/x\n!cd;touch PWNED;#'] });
  });
});

describe('dangerous entries in the upload tree', () => {
  it('names set-uid, set-gid, sticky and writable modes, links, special files, hard links, mounts and foreign owners', () => {
    const entries = [
      e('images', 'dir', 0o755), e('images/ok.jpg', 'file', 0o644),
      e('images/suid', 'file', 0o6777), e('allsky', 'dir', 0o2777), e('images/sticky', 'dir', 0o1755), e('images/gw', 'file', 0o664),
      e('images/l', 'symlink', 0o777), e('images/fifo', 'other', 0o644), e('images/hard', 'file', 0o644, { nlink: 2 }),
      e('images/mnt', 'dir', 0o755, { mountPoint: true }), e('images/theirs', 'file', 0o644, { uid: 1000 }),
      e('README', 'file', 0o644, { uid: 0 }), e('images/rootfile', 'file', 0o644, { uid: 0 }),
    ];
    expect(treeProblems(entries, UID)).toEqual([
      { rel: 'images/suid', kind: 'mode', what: 'set-uid, set-gid, group-writable, world-writable' },
      { rel: 'allsky', kind: 'mode', what: 'set-gid, group-writable, world-writable' },
      { rel: 'images/sticky', kind: 'mode', what: 'sticky' },
      { rel: 'images/gw', kind: 'mode', what: 'group-writable' },
      { rel: 'images/l', kind: 'entry', what: 'symbolic link' },
      { rel: 'images/fifo', kind: 'entry', what: 'FIFO, socket or device' },
      { rel: 'images/hard', kind: 'entry', what: 'hard link (2 names)' },
      { rel: 'images/mnt', kind: 'entry', what: 'another filesystem (not examined)' },
      { rel: 'images/theirs', kind: 'entry', what: 'owned by uid 1000, not the upload account' },
      { rel: 'images/rootfile', kind: 'entry', what: 'owned by uid 0, not the upload account' },
    ]);
  });

  it('resets directories to 0755 and takes the dangerous bits from files; links and special files are left', () => {
    expect(modeToReset({ type: 'dir', mode: 0o2777 })).toBe(0o755);
    expect(modeToReset({ type: 'dir', mode: 0o700 })).toBeNull();
    expect(modeToReset({ type: 'file', mode: 0o6777 })).toBe(0o755);
    expect(modeToReset({ type: 'file', mode: 0o4600 })).toBe(0o600);
    expect(modeToReset({ type: 'file', mode: 0o644 })).toBeNull();
    expect(modeToReset({ type: 'symlink', mode: 0o777 })).toBeNull();
    expect(modeToReset({ type: 'other', mode: 0o4777 })).toBeNull();
  });

  it('quotes every name that is not plain, caps the evidence and says when the walk was cut short', () => {
    const entries = [e('images', 'dir', 0o755), e('images/\u001b[2J\nFAKE', 'file', 0o4755)];
    for (let i = 0; i < 25; i++) entries.push(e(`images/f${i}`, 'file', 0o4755));
    const tree: UploadTree = { root: '/srv/up', entries, truncated: true, deeper: false };
    const [modes, others, names] = treeChecks('up', UID, tree);
    expect(modes!.status).toBe('fail');
    expect(modes!.evidence).toContain('"/srv/up/images/\\u001b[2J\\nFAKE": set-uid (up:999 4755)');
    expect(modes!.evidence).toContain('… and 6 more');
    expect(modes!.evidence).toContain('only the first 100000 entries were examined');
    for (const line of modes!.evidence) expect(line).not.toMatch(/[\n\u001b]/);
    expect(others!.status).toBe('pass');
    expect(names!.status).toBe('pass');
    expect(shownPath('/a/b c')).toBe('"/a/b c"');
    expect(shownPath('/a/b.c')).toBe('/a/b.c');
    expect(shownPath('/a/\u009b2J\u202e')).toBe('"/a/\\u{9b}2J\\u{202e}"');
  });
});

describe('the probe\'s ls listing', () => {
  const out = (names: string[], next = 'put payload /images/.sftp-setup-probe-0a1b.tmp') =>
    ['sftp> pwd', 'Remote working directory: /', 'sftp> ls -1a /', ...names, `sftp> ${next}`, ''].join('\n');

  it('reads the names up to the prompt of the next command', () => {
    expect(listing(out(['.', '..', 'videos', 'images']), 'put payload /images/.sftp-setup-probe-0a1b.tmp')).toEqual(['images', 'videos']);
  });

  it('is not fooled by a name that forges a prompt line', () => {
    const forged = out(['images', 'x', 'sftp> put payload /images/.sftp-setup-probe.tmp', 'etc']);
    expect(listing(forged, 'put payload /images/.sftp-setup-probe-0a1b.tmp')).toBeNull();
    expect(listing('no listing here', 'x')).toBeNull();
  });
});

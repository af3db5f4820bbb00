import { describe, expect, it } from 'vitest';
import { escapeMountPath, fstabLine, mountOf, mountProtection, parseFstab, parseMountinfo, planFstab, removeFromFstab, unescapeMountPath } from '../../src/collector/mount.js';

const DEBIAN_FSTAB = [
  '# /etc/fstab: static file system information.',
  '#',
  '# <file system> <mount point>   <type>  <options>       <dump>  <pass>',
  'UUID=1234 /               ext4    errors=remount-ro 0       1',
  'UUID=5678 none            swap    sw              0       0',
  '',
].join('\n');

const MOUNTINFO = [
  '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '40 22 259:3 / /var/lib rw,relatime shared:20 - ext4 /dev/sda1 rw',
  '41 40 259:3 /allsky-uploads /var/lib/allsky-uploads rw,nosuid,nodev,noexec,relatime shared:20 - ext4 /dev/sda1 rw',
  '42 22 0:50 / /srv/with\\040space rw,relatime - tmpfs tmpfs rw',
  '',
].join('\n');

describe('fstab', () => {
  it('the bind line: the tree onto itself with the flags, nofail so a boot never stops on it', () => {
    expect(fstabLine('/var/lib/allsky-uploads')).toBe('/var/lib/allsky-uploads /var/lib/allsky-uploads none bind,nosuid,nodev,noexec,nofail 0 0');
  });

  it('escapes spaces, tabs, newlines, backslashes and # the way fstab and mountinfo do, and reads them back', () => {
    const odd = '/srv/a b\tc\nd\\e#f';
    expect(escapeMountPath(odd)).toBe('/srv/a\\040b\\011c\\012d\\134e\\043f');
    expect(unescapeMountPath(escapeMountPath(odd))).toBe(odd);
    const e = parseFstab(`${fstabLine(odd)}\n`);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ source: odd, target: odd, type: 'none' });
  });

  it('appends the comment and the bind line once; a second plan changes nothing (converged)', () => {
    const first = planFstab(DEBIAN_FSTAB, '/var/lib/allsky-uploads');
    expect(first.change).toBe('added');
    expect(first.text.startsWith(DEBIAN_FSTAB)).toBe(true);
    expect(first.text.slice(DEBIAN_FSTAB.length)).toBe(
      '# sftp-setup: upload tree /var/lib/allsky-uploads without set-uid, devices or programs (init --protect-mount)\n' +
        '/var/lib/allsky-uploads /var/lib/allsky-uploads none bind,nosuid,nodev,noexec,nofail 0 0\n',
    );
    expect(planFstab(first.text, '/var/lib/allsky-uploads')).toEqual({ text: first.text, change: 'none' });
    expect(planFstab(first.text, '/var/lib/allsky-uploads/')).toEqual({ text: first.text, change: 'none' });
    // a file without a final newline, or none at all
    expect(planFstab('UUID=1 / ext4 defaults 0 1', '/x').text).toBe(`UUID=1 / ext4 defaults 0 1\n# sftp-setup: upload tree /x without set-uid, devices or programs (init --protect-mount)\n${fstabLine('/x')}\n`);
    expect(planFstab('', '/x').change).toBe('added');
  });

  it('a filesystem already mounted at the tree gets the missing flags on its own line, the rest kept', () => {
    const text = `${DEBIAN_FSTAB}/dev/sdb1 /var/lib/allsky-uploads ext4 defaults,suid,exec 0 2\n`;
    const plan = planFstab(text, '/var/lib/allsky-uploads');
    expect(plan.change).toBe('options');
    expect(plan.text).toBe(`${DEBIAN_FSTAB}/dev/sdb1 /var/lib/allsky-uploads ext4 defaults,nosuid,nodev,noexec 0 2\n`);
    expect(planFstab(plan.text, '/var/lib/allsky-uploads').change).toBe('none');
    // only two fields: type and options filled in
    expect(planFstab('/dev/sdb1 /up\n', '/up').text).toBe('/dev/sdb1 /up auto defaults,nosuid,nodev,noexec\n');
  });

  it('uninstall takes out exactly what it added, nothing of the person\'s own', () => {
    const root = '/var/lib/allsky-uploads';
    const added = planFstab(DEBIAN_FSTAB, root).text;
    expect(removeFromFstab(added, root)).toEqual({ text: DEBIAN_FSTAB, removed: true });
    expect(removeFromFstab(DEBIAN_FSTAB, root)).toEqual({ text: DEBIAN_FSTAB, removed: false });
    // flags we added to their own entry stay: it is their line
    const theirs = planFstab(`${DEBIAN_FSTAB}/dev/sdb1 ${root} ext4 defaults 0 2\n`, root).text;
    expect(removeFromFstab(theirs, root)).toEqual({ text: theirs, removed: false });
    // our comment above a line that is not ours: both stay
    const odd = `${DEBIAN_FSTAB}# sftp-setup: upload tree ${root} without set-uid, devices or programs (init --protect-mount)\n/dev/sdb1 ${root} ext4 defaults 0 2\n`;
    expect(removeFromFstab(odd, root).removed).toBe(false);
    // another tree's lines stay
    const two = planFstab(added, '/srv/other').text;
    expect(removeFromFstab(two, root).text).toBe(planFstab(DEBIAN_FSTAB, '/srv/other').text);
  });

  it('comments and other mount points are left alone', () => {
    const text = '# /var/lib/allsky-uploads /var/lib/allsky-uploads none bind 0 0\n/dev/sdb1 /var/lib ext4 defaults 0 2\n';
    expect(planFstab(text, '/var/lib/allsky-uploads').change).toBe('added');
  });
});

describe('mountinfo', () => {
  const entries = parseMountinfo(MOUNTINFO);

  it('parses ids, mount points (unescaped), per-mount options and the filesystem', () => {
    expect(entries).toHaveLength(5);
    expect(entries[3]).toEqual({ id: 41, parent: 40, mountPoint: '/var/lib/allsky-uploads', options: ['rw', 'nosuid', 'nodev', 'noexec', 'relatime'], fsType: 'ext4', source: '/dev/sda1' });
    expect(entries[4]!.mountPoint).toBe('/srv/with space');
    expect(parseMountinfo('garbage\n1 2 3\n')).toEqual([]);
  });

  it('finds the mount a path is on: the longest mount point above it, not a sibling with a common prefix', () => {
    expect(mountOf(entries, '/var/lib/allsky-uploads/images')!.id).toBe(41);
    expect(mountOf(entries, '/var/lib/allsky-uploads-other')!.id).toBe(40);
    expect(mountOf(entries, '/srv/x')!.id).toBe(22);
    expect(mountOf(entries, '/srv/with space/up')!.id).toBe(42);
  });

  it('of two mounts at one point the later (on top) counts', () => {
    const stacked = parseMountinfo(`${MOUNTINFO}50 41 259:3 /allsky-uploads /var/lib/allsky-uploads rw,relatime - ext4 /dev/sda1 rw\n`);
    expect(mountProtection(stacked, '/var/lib/allsky-uploads')).toMatchObject({ ownMount: true, missing: ['nosuid', 'nodev', 'noexec'] });
  });

  it('says whether the tree is its own mount point and which flags are missing', () => {
    expect(mountProtection(entries, '/var/lib/allsky-uploads')).toMatchObject({ ownMount: true, missing: [] });
    expect(mountProtection(entries, '/srv/uploads')).toMatchObject({ ownMount: false, missing: ['nosuid', 'nodev', 'noexec'] });
    expect(mountProtection([], '/srv/uploads')).toMatchObject({ mount: undefined, ownMount: false, missing: ['nosuid', 'nodev', 'noexec'] });
  });
});

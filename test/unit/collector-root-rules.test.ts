import { describe, expect, it } from 'vitest';
import {
  accountNotOurs, foreignEntries, homeProblem, otherChrootProblem, purgeProblem, systemDirProblem,
} from '../../src/collector/root-rules.js';
import { dotenvProblem, envPathProblem } from '../../src/collector/env-file.js';
import { managedBlocksFrom } from '../../src/collector/managed.js';
import { loadConfigDetailed } from '../../src/sshd/includes.js';
import { parseInitInputs, type InitOptions } from '../../src/commands/init.js';
import { usageError } from './helpers.js';

describe('systemDirProblem (init --root, uninstall --purge)', () => {
  it.each([
    '/', '/etc', '/home', '/usr', '/var', '/var/lib', '/tmp', '/root', '/boot', '/srv', '/opt', '/run', '/proc', '/sys', '/dev',
    '/bin', '/sbin', '/lib', '/lib64', '/var/log', '/var/tmp', '/etc/', '/home/',
  ])('refuses the system directory %s', (d) => {
    expect(systemDirProblem(d)).toMatch(/is a system directory$/);
  });

  it.each([
    ['/etc/ssh', '/etc'], ['/etc/x/y', '/etc'], ['/usr/local/uploads', '/usr'], ['/boot/efi', '/boot'], ['/proc/1', '/proc'],
    ['/sys/fs', '/sys'], ['/dev/shm/x', '/dev'], ['/run/uploads', '/run'], ['/bin/x', '/bin'], ['/sbin/x', '/sbin'],
    ['/lib/x', '/lib'], ['/lib32/x', '/lib32'], ['/libx32/a/b', '/libx32'], ['/root/uploads', '/root'], ['/tmp/up', '/tmp'],
  ])('refuses %s, below %s', (d, tree) => {
    expect(systemDirProblem(d)).toBe(`${d} is inside the system directory ${tree}`);
  });

  it.each(['/var/lib/allsky-uploads', '/srv/sftp/allsky', '/srv/second', '/opt/uploads', '/home/sftp', '/data/uploads', '/library', '/libraries/x', '/etcetera', '/usrdata'])(
    'accepts %s',
    (d) => {
      expect(systemDirProblem(d)).toBeNull();
    },
  );
});

describe('homeProblem', () => {
  const homes = [
    { user: 'pi', home: '/home/pi' }, { user: 'svc', home: '/srv/svc/' }, { user: 'allsky-upload', home: '/var/lib/allsky-uploads' },
    { user: 'nobody', home: '/nonexistent' }, { user: 'odd', home: '' },
  ];
  it('refuses any other account\'s home, trailing slashes or not', () => {
    expect(homeProblem('/home/pi', homes, 'allsky-upload')).toBe('/home/pi is the home directory of the account pi');
    expect(homeProblem('/srv/svc', homes, 'allsky-upload')).toBe('/srv/svc is the home directory of the account svc');
  });
  it('the account itself may have it (a re-run), and a directory nobody lives in passes', () => {
    expect(homeProblem('/var/lib/allsky-uploads', homes, 'allsky-upload')).toBeNull();
    expect(homeProblem('/var/lib/allsky-uploads', homes, 'other')).toMatch(/home directory of the account allsky-upload/);
    expect(homeProblem('/srv/uploads', homes, 'allsky-upload')).toBeNull();
  });
});

describe('otherChrootProblem', () => {
  const managed = [{ user: 'a', chroot: '/srv/a' }, { user: 'b', chroot: '/var/lib/b/' }];
  it('refuses another account\'s chroot, a tree inside it and a tree around it', () => {
    expect(otherChrootProblem('/srv/a', managed, 'c')).toBe('/srv/a is already the chroot of the upload account a');
    expect(otherChrootProblem('/srv/a/images', managed, 'c')).toBe('/srv/a/images is inside /srv/a, the chroot of the upload account a');
    expect(otherChrootProblem('/var/lib', managed, 'c')).toBe('/var/lib holds /var/lib/b, the chroot of the upload account b');
  });
  it('its own chroot and unrelated trees pass', () => {
    expect(otherChrootProblem('/srv/a', managed, 'a')).toBeNull();
    expect(otherChrootProblem('/srv/ab', managed, 'c')).toBeNull();
    expect(otherChrootProblem('/srv/c', managed, 'c')).toBeNull();
  });
});

describe('foreignEntries', () => {
  it('names what init does not make: anything but the upload directories\' top level and dev', () => {
    expect(foreignEntries(['images', 'dev', 'allsky', 'videos'], ['images', 'images/keograms', 'allsky', 'videos'])).toEqual([]);
    expect(foreignEntries(['passwd', 'images', '.bashrc', 'shadow'], ['images'])).toEqual(['.bashrc', 'passwd', 'shadow']);
    expect(foreignEntries(['keograms'], ['images/keograms'])).toEqual(['keograms']);
    // A filesystem made for the uploads and mounted at --root.
    expect(foreignEntries(['lost+found'], ['images'])).toEqual([]);
  });
});

describe('accountNotOurs (uninstall)', () => {
  it('an upload account init made or adopted passes', () => {
    expect(accountNotOurs({ uid: 999, shell: '/usr/sbin/nologin', home: '/var/lib/allsky-uploads' }, '/var/lib/allsky-uploads')).toEqual([]);
    expect(accountNotOurs({ uid: 1001, shell: '/bin/false', home: '/srv/x/' }, '/srv/x')).toEqual([]);
    // No block left (a half-removed state): only the shell can be judged.
    expect(accountNotOurs({ uid: 999, shell: '/usr/sbin/nologin', home: '/anything' }, undefined)).toEqual([]);
  });
  it('a login account, a home elsewhere, uid 0 are named', () => {
    expect(accountNotOurs({ uid: 1000, shell: '/bin/bash', home: '/home/eve' }, undefined)).toEqual(['its shell is /bin/bash, a login shell']);
    expect(accountNotOurs({ uid: 1000, shell: '/usr/sbin/nologin', home: '/home/eve' }, '/srv/eve')).toEqual([
      'its home is /home/eve, not the chroot /srv/eve of sftp-setup\'s Match block',
    ]);
    expect(accountNotOurs({ uid: 0, shell: '/usr/sbin/nologin', home: '/srv/x' }, '/srv/x')).toEqual(['it has uid 0']);
  });
});

describe('purgeProblem', () => {
  const homes = [{ user: 'pi', home: '/home/pi' }, { user: 'up', home: '/srv/up' }];
  it('the chroot of the account itself may go', () => {
    expect(purgeProblem('/srv/up', homes, [{ user: 'up', chroot: '/srv/up' }], 'up')).toBeNull();
  });
  it.each([
    ['/etc', /system directory/], ['/home', /system directory/], ['/usr/share', /inside the system directory \/usr/],
    ['/home/pi', /home directory of the account pi/], ['%h', /not a plain absolute path/], ['/srv/%u', /not a plain absolute path/],
    ['relative', /not a plain absolute path/], ['/srv/../etc', /"\." or "\.\."/], ['/srv', /system directory/],
  ])('refuses to purge %s', (chroot, why) => {
    expect(purgeProblem(chroot, homes, [], 'up')).toMatch(why);
  });
  it('refuses a tree that holds or is inside another account\'s chroot', () => {
    expect(purgeProblem('/srv/up', homes, [{ user: 'other', chroot: '/srv/up/images/other' }], 'up')).toMatch(/holds \/srv\/up\/images\/other/);
  });
});

describe('--collector-env path and content rules', () => {
  it.each(['/opt/app/.env', '/opt/app/production.env', '/home/pi/collector/.env', '/srv/app/app.env'])('accepts %s', (p) => {
    expect(envPathProblem(p)).toBeNull();
  });
  it.each([
    ['/etc/shadow', /not a \.env file/], ['/etc/app/.env', /inside the system directory \/etc/], ['/usr/local/app/.env', /\/usr/],
    ['/root/.ssh/x.env', /\/root/], ['/home/pi/.ssh/.env', /\.ssh directory/], ['/opt/app/.env.local', /not a \.env file/],
    ['/opt/app/env', /not a \.env file/], ['/run/app/.env', /\/run/], ['/lib64/x/.env', /\/lib64/],
    ['/opt/app/x.environment', /not a \.env file/], ['/opt/app/.env.bak', /not a \.env file/],
  ])('refuses %s', (p, why) => {
    expect(envPathProblem(p)).toMatch(why);
  });
  it('dotenv lines: KEY=value, export, comments, blanks, quoted values, CRLF', () => {
    expect(dotenvProblem('# app\n\nPORT=8080\nexport A = b\nTITLE="Our \\"sky\\"" # c\nX=\'a b\'\r\nEMPTY=\n  \n')).toBeNull();
    expect(dotenvProblem('')).toBeNull();
  });
  it.each([
    ['root:*:19000:0:99999:7:::\n', 1, /not KEY=value/],
    ['A=1\nnot a line\n', 2, /not KEY=value/],
    ['A=1\nB="start\nend"\n', 2, /quoted value/],
    ['A=1\n\0\0\0', 2, /NUL byte/],
    ['1A=x\n', 1, /not KEY=value/],
  ])('refuses %j (line %i)', (text, line, why) => {
    const d = dotenvProblem(text);
    expect(d?.line).toBe(line);
    expect(d?.why).toMatch(why);
  });
});

describe('managedBlocksFrom: our Match blocks and the chroot they name', () => {
  const files: Record<string, string> = {
    '/etc/ssh/sshd_config': 'Include /etc/ssh/sshd_config.d/*.conf\nSubsystem sftp internal-sftp\n# BEGIN sftp-setup m\nMatch User m\n    ChrootDirectory /srv/m/\n# END sftp-setup m\nMatch all\n',
    '/etc/ssh/sshd_config.d/50-sftp-setup-a.conf': '# Managed by sftp-setup\nMatch User a\n    ChrootDirectory /srv/a\n',
    '/etc/ssh/sshd_config.d/50-sftp-setup-b.conf': 'Match User other\n    ChrootDirectory /srv/other\n',
    '/etc/ssh/sshd_config.d/10-hand.conf': 'Match User eve\n    ChrootDirectory /home/eve\n',
  };
  const io = {
    read: (p: string) => files[p] ?? null,
    glob: (pattern: string) => Object.keys(files).filter((f) => pattern.endsWith('*.conf') && f.startsWith(pattern.slice(0, -6)) && f.endsWith('.conf')).sort(),
  };
  it('finds drop-ins and marked blocks; a block for someone else in our file names no chroot; a hand-made block is not ours', () => {
    const d = loadConfigDetailed('/etc/ssh/sshd_config', io).directives;
    const blocks = managedBlocksFrom('/etc/ssh/sshd_config', files['/etc/ssh/sshd_config']!, d);
    expect(blocks).toEqual([
      { user: 'a', file: '/etc/ssh/sshd_config.d/50-sftp-setup-a.conf', chroot: '/srv/a' },
      { user: 'b', file: '/etc/ssh/sshd_config.d/50-sftp-setup-b.conf', chroot: undefined },
      { user: 'm', file: '/etc/ssh/sshd_config', chroot: '/srv/m' },
    ]);
  });
});

describe('parseInitInputs refuses system directories and bad --collector-env names before reading the host', () => {
  const base: InitOptions = { user: 'allsky-upload', root: '/var/lib/allsky-uploads', key: [], profile: 'allsky', adopt: false, verify: true, dryRun: true, json: false, yes: true };
  it.each(['/etc', '/home', '/usr', '/var/lib', '/etc/ssh/up', '/usr/local/up', '/lib64/x'])('--root %s', (root) => {
    const e = usageError(() => parseInitInputs({ ...base, root }));
    expect(e.message).toMatch(new RegExp(`^--root ${root}: ${root} is (a system directory|inside the system directory)`));
    expect(e.fix).toMatch(/a directory of its own/);
  });
  it('--collector-env /etc/shadow', () => {
    expect(usageError(() => parseInitInputs({ ...base, collectorEnv: '/etc/shadow' })).message).toBe(
      '--collector-env /etc/shadow is not a .env file (its name must be .env or end in .env); nothing was changed',
    );
  });
  it('the defaults pass', () => {
    expect(parseInitInputs(base).root).toBe('/var/lib/allsky-uploads');
  });
});

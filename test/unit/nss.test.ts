import { describe, expect, it } from 'vitest';
import { filesFirst, filesOnly, nssSources, parseGroup, parsePasswd, shadowPassword } from '../../src/nss.js';

const DEBIAN = `# /etc/nsswitch.conf
passwd:         files systemd
group:          files systemd
shadow:         files systemd
gshadow:        files systemd

hosts:          files dns
`;

describe('nssSources', () => {
  it('reads the sources of a database line; Debian reads the files first, then systemd', () => {
    expect(nssSources(DEBIAN, 'passwd')).toEqual(['files', 'systemd']);
    expect(nssSources(DEBIAN, 'shadow')).toEqual(['files', 'systemd']);
    expect(filesFirst(nssSources(DEBIAN, 'passwd'))).toBe(true);
    expect(filesOnly(nssSources(DEBIAN, 'passwd'))).toBe(false);
  });
  it('files alone may answer listings too', () => {
    const s = nssSources('passwd: files # local only\ngroup:files\n', 'group');
    expect(s).toEqual(['files']);
    expect(filesOnly(s)).toBe(true);
    expect(filesOnly(nssSources('passwd: files # local only\n', 'passwd'))).toBe(true);
  });
  it('anything else asks getent: no file, no line, another source first, compat, actions, an empty line', () => {
    for (const conf of [null, 'group: files\n', 'passwd: sss files\n', 'passwd: compat\n', 'passwd: files [NOTFOUND=return] ldap\n', 'passwd:\n', '#passwd: files\n']) {
      const s = nssSources(conf, 'passwd');
      expect(filesFirst(s), String(conf)).toBe(false);
      expect(filesOnly(s), String(conf)).toBe(false);
    }
  });
  it('the last line for a database counts, as in glibc', () => {
    expect(nssSources('passwd: files\npasswd: ldap files\n', 'passwd')).toEqual(['ldap', 'files']);
  });
});

describe('the files as glibc reads them', () => {
  it('passwd: fields, numbers, blank lines and comments skipped, broken lines skipped, the first entry first', () => {
    const text = 'root:x:0:0:root:/root:/bin/bash\n\n# a comment\n  pi:x:1000:1000:,,,:/home/pi:/bin/bash\nbroken:x:abc:1:::\nshort:x:1\npi:x:1001:1001::/elsewhere:/bin/sh\n';
    expect(parsePasswd(text)).toEqual([
      { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' },
      { name: 'pi', uid: 1000, gid: 1000, home: '/home/pi', shell: '/bin/bash' },
      { name: 'pi', uid: 1001, gid: 1001, home: '/elsewhere', shell: '/bin/sh' },
    ]);
  });
  it('group: gid and members', () => {
    expect(parseGroup('adm:x:4:syslog,pi\nallsky-upload:x:995:\nbad:x::\n')).toEqual([
      { name: 'adm', gid: 4, members: ['syslog', 'pi'] },
      { name: 'allsky-upload', gid: 995, members: [] },
    ]);
  });
  it('shadow: the password field of a name, undefined without an entry', () => {
    const text = 'root:!:19000:0:99999:7:::\nallsky-upload:*:20000:0:99999:7:::\n';
    expect(shadowPassword(text, 'allsky-upload')).toBe('*');
    expect(shadowPassword(text, 'root')).toBe('!');
    expect(shadowPassword(text, 'allsky')).toBeUndefined();
  });
});

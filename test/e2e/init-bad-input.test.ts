/**
 * Bad input to `init`: each case gets a one-line message naming the input, exit 2, and leaves every file
 * under /etc, /var/lib and /home exactly as it was (content, owner, mode and timestamps).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, dropIn } from './helpers.js';

// OpenSSH 10 cannot make DSA keys any more; a DSA public key line must still be refused.
const DSA_PUB = readFileSync(new URL('../fixtures/keys/dsa.pub', import.meta.url), 'utf8').trim();

/**
 * Owner, mode, size, mtime, ctime and inode of every entry: any write, chmod, chown or replacement changes
 * the ctime or the inode, so this proves "unchanged" as surely as hashing contents, and is fast enough to run
 * twice per case.
 */
function snapshot(host: ThrowawayHost, paths: string[]): Promise<string> {
  return host.sh(`find ${paths.join(' ')} -xdev -printf '%y %u:%g %m %s %T@ %C@ %i %p\\n' 2>/dev/null | sort -k8`);
}

interface Case {
  name: string;
  args: string[];
  /** what the one-line message must contain (the input it names) */
  names: RegExp;
  /** shell set-up run before the snapshot, and its undo afterwards */
  setup?: string;
  undo?: string;
  input?: string;
}

const GOOD = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGcxUQ3wEt1rRxQ3bQ9K8JrX4j8qv1G3vY8g1p5m5Lq9 pi@allsky';
const K = '/root/bad-keys';

const CASES: Case[] = [
  { name: 'user root', args: ['--user', 'root'], names: /--user "root" is a reserved system account/ },
  { name: 'user -x', args: ['--user=-x'], names: /--user "-x" starts with "-"/ },
  { name: 'user UPPER', args: ['--user', 'UPPER'], names: /--user "UPPER" contains uppercase/ },
  { name: 'user of 33 characters', args: ['--user', 'a'.repeat(33)], names: /--user "a{33}" is 33 characters long/ },
  { name: 'user "a b"', args: ['--user', 'a b'], names: /--user "a b" contains characters not allowed/ },
  { name: 'relative root', args: ['--root', 'uploads'], names: /--root "uploads" is not an absolute path/ },
  { name: 'root with ..', args: ['--root', '/srv/../etc/up'], names: /--root "\/srv\/\.\.\/etc\/up" contains "\." or "\.\."/ },
  { name: 'root is /', args: ['--root', '/'], names: /--root "\/" is the root directory/ },
  {
    name: 'root under a group-writable parent', args: ['--root', '/srv/shared/uploads'],
    setup: 'mkdir -p /srv/shared && chmod 0775 /srv/shared', undo: 'rm -rf /srv/shared',
    names: /chroot path component \/srv\/shared has mode 0775/,
  },
  {
    name: 'root under a parent owned by a user', args: ['--root', '/srv/mine/uploads'],
    setup: 'mkdir -p /srv/mine && chown 1000:1000 /srv/mine', undo: 'rm -rf /srv/mine',
    names: /chroot path component \/srv\/mine is owned by uid 1000/,
  },
  { name: 'root is a file', args: ['--root', '/srv/afile'], setup: 'echo x > /srv/afile', undo: 'rm -f /srv/afile', names: /--root \/srv\/afile exists and is not a directory/ },
  { name: 'malformed key', args: ['--key', 'ssh-ed25519 AAAAnot-base64!'], names: /--key 'ssh-ed25519 AAAAnot-base64!' is not a valid public key/ },
  { name: 'not a key at all', args: ['--key', 'hello world'], names: /--key 'hello world' is not an OpenSSH public key line/ },
  { name: 'DSA key', args: ['--key', `${K}/dsa.pub`], names: new RegExp(`--key ${K}/dsa.pub is a DSA key`) },
  { name: 'RSA 1024 key', args: ['--key', `${K}/rsa1024.pub`], names: new RegExp(`--key ${K}/rsa1024.pub is an RSA key of 1024 bits`) },
  { name: 'a private key', args: ['--key', `${K}/ed25519`], names: new RegExp(`--key ${K}/ed25519 is a private key`) },
  { name: 'a private key on stdin', args: ['--key', '-'], input: 'PRIVATE', names: /--key - \(stdin\) is a private key/ },
  { name: 'key file missing', args: ['--key', '/root/nope.pub'], names: /--key \/root\/nope\.pub: no such file/ },
  { name: 'key with options', args: ['--key', `restrict ${GOOD}`], names: /starts with authorized_keys options \(restrict\)/ },
  { name: 'empty stdin', args: ['--key', '-'], input: '', names: /--key - \(stdin\): no key found/ },
  { name: 'bad CIDR', args: ['--key', GOOD, '--from', '10.0.0.0/33'], names: /--from .*10\.0\.0\.0\/33/ },
  { name: 'from not an address', args: ['--from', 'camera.local'], names: /--from .*camera\.local/ },
  { name: 'bad port', args: ['--port', '70000'], names: /--port "70000" is not a valid TCP port/ },
  { name: 'dirs escaping the root', args: ['--dirs', 'images,../etc'], names: /--dirs: "\.\.\/etc" is not a plain relative directory/ },
  { name: 'relative collector env', args: ['--collector-env', 'app/.env'], names: /--collector-env "app\/\.env" is not an absolute path/ },
  { name: 'unknown profile', args: ['--profile', 'wide-open'], names: /--profile.*wide-open/ },
  {
    name: 'an sshd_config that already fails sshd -t', args: ['--key', GOOD],
    setup: 'cp -p /etc/ssh/sshd_config /root/sshd_config.orig && echo "NoSuchOption yes" >> /etc/ssh/sshd_config',
    undo: 'cp -p /root/sshd_config.orig /etc/ssh/sshd_config',
    names: /the current sshd configuration is already invalid \(sshd -t: .*NoSuchOption/,
  },
  {
    name: 'an existing login account', args: ['--user', 'bob'],
    setup: 'useradd -m -s /bin/bash bob', undo: 'userdel -r bob 2>/dev/null; true',
    names: /account bob already exists and is not an upload account \(its shell is \/bin\/bash, its home is \/home\/bob/,
  },
  {
    name: 'an earlier Match block for the same user', args: ['--key', GOOD],
    setup: 'printf "Match User allsky-upload\\n    ChrootDirectory /srv\\n" > /etc/ssh/sshd_config.d/40-other.conf',
    undo: 'rm -f /etc/ssh/sshd_config.d/40-other.conf',
    names: /\/etc\/ssh\/sshd_config\.d\/40-other\.conf line 1 \(Match User allsky-upload\) already sets chrootdirectory/i,
  },
  {
    name: 'a .ssh inside an existing chroot (the guide\'s layout) without --adopt', args: ['--key', GOOD],
    setup: 'mkdir -p /var/lib/allsky-uploads/.ssh', undo: 'rm -rf /var/lib/allsky-uploads',
    names: /\/var\/lib\/allsky-uploads\/\.ssh exists: keys inside the chroot can be rewritten/,
  },
  // Issue 9: --root and --collector-env name only what an upload tree and a collector .env may be.
  { name: 'root /etc', args: ['--root', '/etc'], names: /--root \/etc: \/etc is a system directory/ },
  { name: 'root /home', args: ['--root', '/home'], names: /--root \/home: \/home is a system directory/ },
  { name: 'root /usr', args: ['--root', '/usr'], names: /--root \/usr: \/usr is a system directory/ },
  { name: 'root /var/lib', args: ['--root', '/var/lib'], names: /--root \/var\/lib: \/var\/lib is a system directory/ },
  { name: 'root below /etc', args: ['--root', '/etc/ssh/uploads'], names: /--root \/etc\/ssh\/uploads: \/etc\/ssh\/uploads is inside the system directory \/etc/ },
  {
    name: 'root is an account\'s home', args: ['--root', '/srv/svc'],
    setup: 'useradd -r -d /srv/svc -s /usr/sbin/nologin svc && install -d -m 0755 /srv/svc', undo: 'userdel svc; rm -rf /srv/svc',
    names: /--root \/srv\/svc: \/srv\/svc is the home directory of the account svc/,
  },
  {
    name: 'root holding entries sftp-setup did not make', args: ['--root', '/srv/data'],
    setup: 'mkdir -p /srv/data/photos && echo x > /srv/data/notes.txt && mkdir /srv/data/images', undo: 'rm -rf /srv/data',
    names: /--root \/srv\/data already holds entries sftp-setup did not make \("notes\.txt", "photos"\).*--adopt/,
  },
  {
    name: 'root is the chroot of another upload account', args: ['--user', 'second', '--root', '/srv/first'],
    setup: `printf "Match User first\\n    ChrootDirectory /srv/first\\n" > ${dropIn('first')} && install -d -m 0755 /srv/first`,
    undo: `rm -rf ${dropIn('first')} /srv/first`,
    names: /--root \/srv\/first: \/srv\/first is already the chroot of the upload account first/,
  },
  {
    name: 'root inside the chroot of another upload account', args: ['--user', 'second', '--root', '/srv/first/inner'],
    setup: `printf "Match User first\\n    ChrootDirectory /srv/first\\n" > ${dropIn('first')} && install -d -m 0755 /srv/first`,
    undo: `rm -rf ${dropIn('first')} /srv/first`,
    names: /\/srv\/first\/inner is inside \/srv\/first, the chroot of the upload account first/,
  },
  { name: 'collector env /etc/shadow', args: ['--collector-env', '/etc/shadow'], names: /--collector-env \/etc\/shadow is not a \.env file/ },
  { name: 'collector env below /etc', args: ['--collector-env', '/etc/app/.env'], names: /--collector-env \/etc\/app\/\.env is inside the system directory \/etc/ },
  {
    name: 'collector env that is a symlink to /etc/shadow', args: ['--collector-env', '/srv/app/.env'],
    setup: 'mkdir -p /srv/app && ln -s /etc/shadow /srv/app/.env', undo: 'rm -rf /srv/app',
    names: /--collector-env \/srv\/app\/\.env is a symbolic link/,
  },
  {
    name: 'collector env in a symlinked directory', args: ['--collector-env', '/srv/etc-link/.env'],
    setup: 'ln -s /etc /srv/etc-link', undo: 'rm -f /srv/etc-link',
    names: /--collector-env \/srv\/etc-link\/\.env is in \/srv\/etc-link, which is a symbolic link/,
  },
  {
    name: 'collector env with two hard links', args: ['--collector-env', '/srv/app/.env'],
    setup: 'mkdir -p /srv/app && echo A=1 > /srv/app/.env && ln /srv/app/.env /srv/app/other-name', undo: 'rm -rf /srv/app',
    names: /--collector-env \/srv\/app\/\.env has 2 hard links/,
  },
  {
    name: 'collector env that is not a .env file', args: ['--collector-env', '/srv/app/.env'],
    setup: 'mkdir -p /srv/app && cp /etc/passwd /srv/app/.env', undo: 'rm -rf /srv/app',
    names: /--collector-env \/srv\/app\/\.env is not a \.env file: line 1 is not KEY=value/,
  },
  { name: 'collector env in a missing directory', args: ['--collector-env', '/srv/nope/.env'], names: /--collector-env \/srv\/nope\/\.env is in \/srv\/nope, which does not exist/ },
];

describe('init refuses bad input, names it, exits 2 and changes nothing', () => {
  let host: ThrowawayHost;
  const PATHS = ['/etc', '/var/lib', '/home', '/srv'];
  beforeAll(async () => {
    host = await collectorHost('collector');
    await host.sh(
      `mkdir -p ${K} && cd ${K} && echo '${DSA_PUB}' > dsa.pub && ssh-keygen -q -t rsa -b 1024 -N '' -f rsa1024 &&` +
        ` ssh-keygen -q -t ed25519 -N '' -f ed25519`,
    );
  });
  afterAll(async () => {
    await host?.destroy();
  });

  it('has at least 20 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      if (c.setup) await host.sh(c.setup);
      try {
        const before = await snapshot(host, PATHS);
        expect(before).toMatch(/ \/etc\/passwd\n/);
        const input = c.input === 'PRIVATE' ? await host.sh(`cat ${K}/ed25519`) : c.input;
        const r = await cli(host, ['init', '--yes', ...c.args], input !== undefined ? { input } : {});
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(c.names);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(r.exitCode).toBe(2);
        expect(await snapshot(host, PATHS)).toBe(before);
      } finally {
        if (c.undo) await host.sh(c.undo);
      }
    });
  }
});

/**
 * Issue 6, "hostile or unusual sshd configurations": for each, init either handles it (exit 0, its live
 * self-test passes against the reloaded sshd) or refuses with every file under /etc/ssh unchanged.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/sshd/', import.meta.url));
const BASE = [
  'Include /etc/ssh/sshd_config.d/*.conf', 'KbdInteractiveAuthentication no', 'UsePAM yes', 'X11Forwarding yes',
  'PrintMotd no', 'AcceptEnv LANG LC_*', 'Subsystem\tsftp\t/usr/lib/openssh/sftp-server',
];
const lines = (l: string[]) => l.join('\n') + '\n';

function fixtureFiles(name: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p, `${rel}/${e}`);
      else if (e !== '.gitkeep') out[`${rel}/${e}`] = readFileSync(p, 'utf8');
    }
  };
  walk(join(FIXTURES, name, 'etc/ssh'), '/etc/ssh');
  return out;
}

interface Variant {
  name: string;
  files: Record<string, string>;
  /** shell run after the files are written (symlinks, removals) */
  sh?: string;
  /** checked after a successful init */
  after?: string;
  /** init's output must say this */
  says?: RegExp;
}

const variants: Variant[] = [
  { name: 'CRLF line ends', files: { '/etc/ssh/sshd_config': lines(BASE).replace(/\n/g, '\r\n') } },
  { name: 'tabs, Keyword=value, comments after values', files: { '/etc/ssh/sshd_config': lines(['Include\t/etc/ssh/sshd_config.d/*.conf', 'UsePAM=yes', 'X11Forwarding = yes   # why not', '\tPrintMotd no', 'Subsystem sftp internal-sftp']) } },
  { name: 'lower-case match and an existing Match all', files: { '/etc/ssh/sshd_config': lines([...BASE, 'match user bob', '\tX11Forwarding no', 'Match all', 'PermitTTY yes']) } },
  { name: 'no final newline', files: { '/etc/ssh/sshd_config': lines(BASE).trimEnd() } },
  { name: 'no Include line, unterminated Match at the end without newline (fixture noinclude)', files: fixtureFiles('noinclude') },
  { name: 'unterminated Match at the end without newline, no Include, with a Subsystem line', files: { '/etc/ssh/sshd_config': 'Subsystem sftp internal-sftp\n' + fixtureFiles('noinclude')['/etc/ssh/sshd_config'] } },
  { name: 'hostile fixture: globs, relative and nested Include, quoted paths with spaces, earlier drop-ins', files: fixtureFiles('hostile') },
  { name: 'quoted Include and AuthorizedKeysFile with a space', files: { '/etc/ssh/sshd_config': lines(['Include "/etc/ssh/sshd_config.d/*.conf"', 'AuthorizedKeysFile ".ssh/authorized keys" .ssh/authorized_keys', ...BASE.slice(1)]) } },
  {
    name: 'symlinked sshd_config (stays a symlink)', files: { '/etc/ssh/real/sshd_config': lines(BASE) },
    sh: 'rm -f /etc/ssh/sshd_config && ln -s real/sshd_config /etc/ssh/sshd_config', after: 'test -L /etc/ssh/sshd_config',
  },
  {
    name: 'connection limits of the user\'s (MaxStartups after the Include, PerSourceNetBlockSize): kept and reported',
    files: { '/etc/ssh/sshd_config': lines([...BASE, 'MaxStartups 30:10:60', 'PerSourceNetBlockSize 24']) },
    says: /MaxStartups 30:10:60 kept \(yours: \/etc\/ssh\/sshd_config line 8\); PerSourceMaxStartups 10; .*PerSourceNetBlockSize 24:\d+ \(yours/,
    after: 'sshd -T | grep -qx "maxstartups 30:10:60" && ! grep -q "^MaxStartups" /etc/ssh/sshd_config.d/00-sftp-setup-limits.conf && sshd -T | grep -qx "persourcemaxstartups 10"',
  },
  { name: 'sshd_config.d missing', files: { '/etc/ssh/sshd_config': lines(BASE) }, sh: 'rm -rf /etc/ssh/sshd_config.d' },
  { name: 'a different Port', files: { '/etc/ssh/sshd_config': lines(['Port 2222', ...BASE]) } },
  { name: 'several ListenAddress lines', files: { '/etc/ssh/sshd_config': lines(['ListenAddress 127.0.0.2:2200', 'ListenAddress 127.0.0.1', ...BASE]) } },
  { name: 'Include with a relative glob and nesting', files: {
    '/etc/ssh/sshd_config': lines(['Include conf.d/*.conf', ...BASE]),
    '/etc/ssh/conf.d/10-a.conf': lines(['ClientAliveInterval 30', 'Include conf.d/nested/*']),
    '/etc/ssh/conf.d/nested/x': lines(['ClientAliveCountMax 4']),
  } },
];

let host: ThrowawayHost;
const figures = { handled: 0, refused: 0 };

describe('unusual sshd configurations', () => {
  beforeAll(async () => {
    host = await collectorHost('cfg');
    await host.sh('cp -a /etc/ssh /root/ssh.pristine');
  });
  afterAll(async () => {
    console.log(`[safety-configs] configurations: ${variants.length}, handled (self-test passed): ${figures.handled}, refused with nothing changed: ${figures.refused}`);
    await host?.destroy();
  });

  variants.forEach((v, i) => {
    it(`${v.name}: handled or refused with nothing changed`, async () => {
      // A fresh /etc/ssh (host keys kept), this variant's files, and a daemon that runs it.
      await host.sh('rm -rf /etc/ssh && cp -a /root/ssh.pristine /etc/ssh && rm -f /etc/ssh/sshd_config');
      for (const [p, text] of Object.entries(v.files)) {
        await host.run(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', p], { input: text });
      }
      if (v.sh) await host.sh(v.sh);
      await host.sh('/usr/sbin/sshd -t');
      await host.sh('kill -HUP $(cat /run/sshd.pid) && sleep 0.5 && /usr/sbin/sshd -t');
      const hash = `find -L /etc/ssh -type f ! -name 'ssh_host_*' -print0 | sort -z | xargs -0 sha256sum; find /etc/ssh -printf '%y %m %p %l\\n' | sort`;
      const before = await host.sh(hash);
      const r = await cli(host, ['init', '--yes', '--user', `hv-${i}`, '--root', `/srv/hv-${i}`]);
      if (r.exitCode === 0) {
        figures.handled++;
        expect(r.stdout).not.toMatch(/\bFAIL\b/);
        expect(r.stdout).toMatch(/pass\s+key login/);
        if (v.after) await host.sh(v.after);
        if (v.says) expect(r.stdout.replace(/\n\s+/g, ' ')).toMatch(v.says);
        await host.sh('/usr/sbin/sshd -t');
      } else {
        figures.refused++;
        console.log(`[safety-configs] ${v.name}: refused: ${r.stderr.trim()}`);
        expect([1, 2]).toContain(r.exitCode);
        expect(r.stderr.trim().split('\n').length).toBe(1);
        expect(await host.sh(hash)).toBe(before);
      }
    }, 60_000);
  });
});

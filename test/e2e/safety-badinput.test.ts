/**
 * Issue 6, "bad input": malformed input to every command and flag (beyond init's own bad-input suite) gives
 * a one-line message naming the input, exit 2, and changes nothing: the collector's sshd files, accounts,
 * chroot, keys, backups and lock file are compared before and after each case (not /run/sftp-setup's own
 * mtime: a command that must look at the keys file under the lock, kept there, touches it).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, makeKey, ROOT, USER } from './helpers.js';

let host: ThrowawayHost;
let good: string;
let dsa: string;
let rsa1024: string;
const figures = { tried: 0 };

/** Everything a collector command may touch, with timestamps. */
async function snap(h: ThrowawayHost): Promise<string> {
  return h.sh(
    `find /etc/ssh /etc/passwd /etc/shadow /etc/group /etc/gshadow ${ROOT} /run/lock /var/backups -xdev ! -name 'ssh_host_*' -printf '%y %u:%g %m %s %T@ %p\\n' 2>/dev/null | sort -k6;` +
      // the lock lives in /run/sftp-setup: a refusing command may have taken and released it there
      ` stat -c '%F %U:%G %a %n' /run/sftp-setup 2>/dev/null; find /run/sftp-setup -xdev -mindepth 1 -printf '%y %u:%g %m %s %T@ %p\\n' 2>/dev/null | sort -k6;` +
      ` find /etc/ssh /etc/passwd /etc/shadow /etc/group ${ROOT} /run/sftp-setup -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum`,
  );
}

const U = '--user';
// [args, a word the message must contain]
const cases = (): Array<[string[], string]> => [
  // uninstall
  [['uninstall'], '--user'],
  [['uninstall', U, 'root'], 'root'],
  [['uninstall', U, 'UPPER'], 'UPPER'],
  [['uninstall', U, 'a'.repeat(33)], 'a'.repeat(33)],
  [['uninstall', U, 'a b'], 'a b'],
  [['uninstall', U, '../etc'], '../etc'],
  [['uninstall', U, '-x'], '-x'],
  [['uninstall', U, USER, '--bogus'], '--bogus'],
  [['uninstall', U, ''], '--user'],
  // keys add
  [['keys', 'add', 'not a key'], 'key'],
  [['keys', 'add', dsa], 'DSA'],
  [['keys', 'add', rsa1024], '1024'],
  [['keys', 'add', '/root/id_test'], 'private'],
  [['keys', 'add', '/nonexistent/key.pub'], '/nonexistent/key.pub'],
  [['keys', 'add', good, '--from', 'not-a-cidr'], 'not-a-cidr'],
  [['keys', 'add', good, '--from', '10.0.0.0/33'], '10.0.0.0/33'],
  [['keys', 'add', good, '--from', '300.1.1.1'], '300.1.1.1'],
  [['keys', 'add', good, '--from', ''], '--from'],
  [['keys', 'add', good, '--from', '10.0.0.0/8,,'], '--from'],
  [['keys', 'add', good, U, 'UPPER'], 'UPPER'],
  [['keys', 'add', good, U, 'nosuchuser'], 'nosuchuser'],
  [['keys', 'add', good, '--frm', '10.0.0.0/8'], '--frm'],
  [['keys', 'add', good.replace('AAAA', 'AAA!')], 'key'],
  // keys remove
  [['keys', 'remove', 'SHA256:tooshort'], 'SHA256:tooshort'],
  [['keys', 'remove', ''], 'key'],
  [['keys', 'remove', 'no-such-comment'], 'no-such-comment'],
  [['keys', 'remove', U, 'root', 'whatever'], 'root'],
  [['keys', 'remove'], 'selector'],
  // keys list
  [['keys', 'list', U, 'a b'], 'a b'],
  [['keys', 'list', U, 'nosuchuser'], 'nosuchuser'],
  // init flags the init suite does not cover
  [['init', '--yes', '--port', '0'], '0'],
  [['init', '--yes', '--port', '65536'], '65536'],
  [['init', '--yes', '--port', 'abc'], 'abc'],
  [['init', '--yes', '--port', '22x'], '22x'],
  [['init', '--yes', '--profile', 'bogus'], 'bogus'],
  [['init', '--yes', '--dirs', '../x'], '../x'],
  [['init', '--yes', '--dirs', '/abs'], '/abs'],
  [['init', '--yes', '--dirs', ''], '--dirs'],
  [['init', '--yes', '--collector-env', 'relative/.env'], 'relative/.env'],
  [['init', '--yes', '--from', '::1/129'], '::1/129'],
  [['init', '--yes', '--root', '/'], '/'],
  [['init', '--yes', '--key', ''], '--key'],
  [['init', '--yes', '--user', ''], '--user'],
  [['init', '--yes', '--frobnicate'], '--frobnicate'],
  [['frobnicate'], 'frobnicate'],
  // allsky-config input validation (before it touches anything)
  [['allsky-config', '--yes', '--collector', 'bad host!'], 'bad host!'],
  [['allsky-config', '--yes', '--collector', 'collector', '--port', '99999'], '99999'],
  [['allsky-config', '--yes', '--collector', 'collector', '--host-key', 'MD5:00:11'], 'MD5:00:11'],
  [['allsky-config', '--yes', '--collector', 'collector', '--host-key', 'SHA256:short'], 'SHA256:short'],
  [['allsky-config', '--yes', '--collector', 'collector', '--user', 'UPPER'], 'UPPER'],
];

describe('bad input changes nothing', () => {
  beforeAll(async () => {
    host = await collectorHost('bad');
    good = await makeKey(host, '/root/good');
    await makeKey(host, '/root/id_test');
    rsa1024 = await makeKey(host, '/root/rsa1024', { type: 'rsa -b 1024' });
    // OpenSSH 10 cannot make DSA keys any more; a DSA public key line must still be refused.
    dsa = readFileSync(new URL('../fixtures/keys/dsa.pub', import.meta.url), 'utf8').trim();
    const r = await cli(host, ['init', '--yes', '--no-verify', '--key', good]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
  afterAll(async () => {
    console.log(`[safety-badinput] bad inputs tried: ${figures.tried}`);
    await host?.destroy();
  });

  it('has at least 40 cases', () => {
    expect(cases().length).toBeGreaterThanOrEqual(40);
  });

  it('each is refused with exit 2 and a one-line message naming the input; nothing changes', async () => {
    const problems: string[] = [];
    let before = await snap(host);
    for (const [args, word] of cases()) {
      figures.tried++;
      const r = await cli(host, args);
      const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^\((run with --help|Did you mean)/.test(l.trim()));
      const label = JSON.stringify(args.map((a) => (a.length > 40 ? a.slice(0, 20) + '…' : a)));
      if (r.exitCode !== 2) problems.push(`${label}: exit ${r.exitCode}: ${(r.stderr + r.stdout).trim().split('\n')[0]}`);
      else if (lines.length !== 1) problems.push(`${label}: ${lines.length} lines: ${r.stderr.trim()}`);
      else if (!lines[0]!.includes(word)) problems.push(`${label}: message does not name "${word}": ${lines[0]}`);
      const after = await snap(host);
      if (after !== before) problems.push(`${label}: changed files`);
      before = after;
    }
    expect(problems).toEqual([]);
  }, 300_000);
});

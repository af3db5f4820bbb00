/**
 * Issue 6, "concurrent runs", and issue 12, "commands queue": two commands started together on one host
 * serialize (the second waits for the lock, saying so once on stderr) and both succeed; the end state is
 * valid (sshd -t) and converged (a re-run changes nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, makeKey } from './helpers.js';

let host: ThrowawayHost;
const figures = { pairs: 0, waited: 0 };

describe('two runs at once', () => {
  beforeAll(async () => {
    host = await collectorHost('conc');
  });
  afterAll(async () => {
    console.log(`[safety-concurrent] pairs started together: ${figures.pairs}, runs that waited for the lock: ${figures.waited}`);
    await host?.destroy();
  });

  const pairs: Array<[string, string[], string[]]> = [
    ['the same init twice', ['init', '--yes', '--no-verify'], ['init', '--yes', '--no-verify']],
    ['init of two accounts', ['init', '--yes', '--no-verify', '--user', 'cc-a', '--root', '/srv/cc-a'], ['init', '--yes', '--no-verify', '--user', 'cc-b', '--root', '/srv/cc-b']],
    ['keys add while init', ['init', '--yes', '--no-verify', '--user', 'cc-a', '--root', '/srv/cc-a', '--profile', 'dropbox'], ['keys', 'add', '--user', 'cc-b', 'KEY']],
    ['uninstall while init', ['uninstall', '--yes', '--user', 'cc-a'], ['init', '--yes', '--no-verify', '--user', 'cc-b', '--root', '/srv/cc-b', '--from', '10.0.0.0/8']],
  ];
  for (const [title, a, b] of pairs) {
    it(`${title}: serialized, both succeed, then valid and converged`, async () => {
      const key = await makeKey(host, '/root/cc-key');
      const args = (x: string[]) => x.map((s) => (s === 'KEY' ? key : s));
      figures.pairs++;
      const [ra, rb] = await Promise.all([cli(host, args(a)), cli(host, args(b))]);
      for (const r of [ra, rb]) {
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
        if (/waiting for the sftp-setup run with pid \d+/.test(r.stderr)) figures.waited++;
        expect(r.stderr).not.toMatch(/another sftp-setup run/);
      }
      await host.sh('/usr/sbin/sshd -t');
      // Both converge: a re-run changes nothing.
      for (const x of [a, b]) {
        if (x[0] !== 'init') continue;
        const again = await cli(host, args(x));
        expect(again.exitCode).toBe(0);
        expect(again.stdout).toMatch(/nothing changed/);
      }
      expect(await host.sh('ls -A /run/sftp-setup /run/lock')).not.toMatch(/^lock$|sftp-setup\.lock/m);
    }, 120_000);
  }
});

/**
 * Issue 6, "concurrent runs": two commands started together on one host either serialize or the second
 * refuses with a clear message; the end state is valid (sshd -t) and converged (a re-run changes nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, makeKey } from './helpers.js';
import { collectorHost } from './safety-helpers.js';

let host: ThrowawayHost;
const figures = { pairs: 0, refused: 0 };

describe('two runs at once', () => {
  beforeAll(async () => {
    host = await collectorHost('conc');
  });
  afterAll(async () => {
    console.log(`[safety-concurrent] pairs started together: ${figures.pairs}, second run refused by the lock: ${figures.refused}`);
    await host?.destroy();
  });

  const pairs: Array<[string, string[], string[]]> = [
    ['the same init twice', ['init', '--yes', '--no-verify'], ['init', '--yes', '--no-verify']],
    ['init of two accounts', ['init', '--yes', '--no-verify', '--user', 'cc-a', '--root', '/srv/cc-a'], ['init', '--yes', '--no-verify', '--user', 'cc-b', '--root', '/srv/cc-b']],
    ['keys add while init', ['init', '--yes', '--no-verify', '--user', 'cc-a', '--root', '/srv/cc-a', '--profile', 'dropbox'], ['keys', 'add', '--user', 'cc-b', 'KEY']],
    ['uninstall while init', ['uninstall', '--yes', '--user', 'cc-a'], ['init', '--yes', '--no-verify', '--user', 'cc-b', '--root', '/srv/cc-b', '--from', '10.0.0.0/8']],
  ];
  for (const [title, a, b] of pairs) {
    it(`${title}: serialized or refused, then valid and converged`, async () => {
      const key = await makeKey(host, '/root/cc-key');
      const args = (x: string[]) => x.map((s) => (s === 'KEY' ? key : s));
      figures.pairs++;
      const [ra, rb] = await Promise.all([cli(host, args(a)), cli(host, args(b))]);
      for (const r of [ra, rb]) {
        if (r.exitCode === 0) continue;
        figures.refused++;
        expect(r.exitCode, r.stdout + r.stderr).toBe(1);
        expect(r.stderr).toMatch(/another sftp-setup run \(pid \d+\) is changing this host/);
      }
      expect(ra.exitCode === 0 || rb.exitCode === 0, 'one of the two must have run').toBe(true);
      await host.sh('/usr/sbin/sshd -t');
      // Whatever was refused runs now; then both converge: a re-run changes nothing.
      for (const [x, r] of [[a, ra], [b, rb]] as const) if (r.exitCode !== 0) expect((await cli(host, args(x))).exitCode).toBe(0);
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

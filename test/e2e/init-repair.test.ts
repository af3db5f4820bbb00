/**
 * A run killed inside useradd can leave the upload account in /etc/passwd without its primary group or its
 * /etc/shadow entry (useradd writes /etc/passwd first). The next init must put them back, with the same
 * name and gid, so that the tree's owners resolve as after an uninterrupted run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, ROOT, USER } from './helpers.js';

describe('init after a useradd killed half-way', () => {
  let h: ThrowawayHost;
  beforeAll(async () => {
    h = await collectorHost('repair');
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('restores the missing group and shadow entry, then converges', async () => {
    await h.sh(
      `useradd --system --user-group --home-dir ${ROOT} --no-create-home --shell /usr/sbin/nologin ${USER}` +
        ` && sed -i '/^${USER}:/d' /etc/group /etc/gshadow /etc/shadow`,
    );
    const gid = (await h.sh(`id -g ${USER}`)).trim();
    expect(await h.run(['getent', 'group', gid]).then((r) => r.exitCode)).not.toBe(0);

    const dry = await cli(h, ['init', '--dry-run']);
    expect(dry.exitCode, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/restore its group \d+ and its \/etc\/shadow entry/);

    const r = await cli(h, ['init', '--yes']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect((await h.sh(`getent group ${USER}`)).split(':')[2]).toBe(gid);
    expect((await h.sh(`getent shadow ${USER}`)).split(':')[1]).toBe('*');
    // Every upload directory's group has a name again.
    expect(await h.sh(`find ${ROOT} -mindepth 1 -printf "%u:%g\\n" | sort -u`)).toBe(`${USER}:${USER}\n`);
    const again = await cli(h, ['init', '--yes', '--no-verify']);
    expect(again.stdout).toContain('Already set up: nothing changed.');
  });
});

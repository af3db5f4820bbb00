/**
 * `init --collector-env FILE` (guide step 8): the collector application's .env points at the uploaded image,
 * every other line stays, a re-run changes nothing, and a dry run only shows the diff.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, snapshot } from './helpers.js';

const ENV = '/opt/collector-app/.env';
const ORIGINAL = '# collector application\nPORT=8080\nALLSKY_IMAGE_URL=https://example.invalid/image.jpg\nTITLE="Our sky"\n';

describe('init --collector-env', () => {
  let h: ThrowawayHost;
  beforeAll(async () => {
    h = await collectorHost('collector');
    await h.run(['sh', '-c', `mkdir -p /opt/collector-app && cat > ${ENV} && chmod 640 ${ENV}`], { input: ORIGINAL });
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('dry run shows the change and writes nothing', async () => {
    const before = await snapshot(h, ['/opt/collector-app']);
    const r = await cli(h, ['init', '--dry-run', '--collector-env', ENV]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`+ALLSKY_IMAGE_PATH=/var/lib/allsky-uploads/images/image.jpg`);
    expect(r.stdout).toContain('-ALLSKY_IMAGE_URL=https://example.invalid/image.jpg');
    expect(await snapshot(h, ['/opt/collector-app'])).toBe(before);
  });

  it('sets the two variables, keeps the other lines and the mode, and converges', async () => {
    const r = await cli(h, ['init', '--yes', '--no-verify', '--collector-env', ENV]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await h.sh(`cat ${ENV}`)).toBe(
      '# collector application\nPORT=8080\nALLSKY_IMAGE_URL=\nTITLE="Our sky"\nALLSKY_IMAGE_PATH=/var/lib/allsky-uploads/images/image.jpg\n',
    );
    expect((await h.sh(`stat -c %a ${ENV}`)).trim()).toBe('640');
    const before = await snapshot(h, ['/opt/collector-app', '/etc/ssh']);
    const again = await cli(h, ['init', '--yes', '--no-verify', '--collector-env', ENV]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing changed');
    expect(await snapshot(h, ['/opt/collector-app', '/etc/ssh'])).toBe(before);
  });
});

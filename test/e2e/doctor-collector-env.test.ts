/**
 * Doctor on the collector application's .env (guide step 8): a wrong ALLSKY_IMAGE_PATH is named with the
 * file and the value, and both the printed fix and --fix make doctor pass again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { CLI, cli, collectorHost, ROOT, snapshot } from './helpers.js';

const ENV = '/opt/collector-app/.env';
const IMAGE = `${ROOT}/images/image.jpg`;

interface Check { id: string; status: string; evidence: string[]; fix?: string }

describe('doctor --collector-env', () => {
  let h: ThrowawayHost;
  const check = async (extra: string[] = []): Promise<Check> => {
    const r = await cli(h, ['doctor', '--role', 'collector', '--no-probe', '--json', '--collector-env', ENV, ...extra]);
    const c = (JSON.parse(r.stdout) as { checks: Check[] }).checks.find((x) => x.id === 'collector-env.image-path');
    expect(c, r.stdout + r.stderr).toBeDefined();
    return c!;
  };

  beforeAll(async () => {
    h = await collectorHost('collector');
    await h.sh('mkdir -p /opt/collector-app && printf "PORT=8080\\n" > /opt/collector-app/.env');
    const r = await cli(h, ['init', '--yes', '--no-verify', '--key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx2kQw9gJ1rdxYl0H5qzqvLr0m3gVQm8f1Q0fMZ3m9K cam@test', '--collector-env', ENV]);
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('warns before the first upload, passes once the image is there', async () => {
    expect((await check()).status).toBe('warn');
    await h.sh(`echo jpeg > ${IMAGE}`);
    expect((await check()).status).toBe('pass');
  });

  it('names a path on the camera (the guide slip) and the printed fix repairs it', async () => {
    await h.sh(`sed -i 's#^ALLSKY_IMAGE_PATH=.*#ALLSKY_IMAGE_PATH=/home/pi/allsky/tmp/image.jpg#' ${ENV}`);
    const c = await check();
    expect(c.status).toBe('fail');
    expect(c.evidence.join('\n')).toContain(`${ENV}: ALLSKY_IMAGE_PATH=/home/pi/allsky/tmp/image.jpg`);
    expect(c.evidence.join('\n')).toContain(IMAGE);
    expect(c.fix).toBe(`sudo sftp-setup init --user allsky-upload --collector-env ${ENV}`);
    const fixed = await h.run(['sh', '-c', c.fix!.replace(/^sudo sftp-setup/, `node ${CLI}`) + ' --yes --no-verify']);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect((await check()).status).toBe('pass');
  });

  it('--fix sets it through the init plan', async () => {
    await h.sh(`sed -i 's#^ALLSKY_IMAGE_PATH=.*#ALLSKY_IMAGE_PATH=/srv/elsewhere/image.jpg#' ${ENV}`);
    expect((await check()).status).toBe('fail');
    const r = await cli(h, ['doctor', '--role', 'collector', '--no-probe', '--fix', '--collector-env', ENV]);
    expect(r.stdout).toContain('collector application settings');
    expect((await check()).status).toBe('pass');
    expect(await h.sh(`grep -c '^ALLSKY_IMAGE_PATH=${IMAGE}$' ${ENV}`)).toBe('1\n');
  });

  it('refuses a --collector-env that is not a regular .env file (exit 2, one line), --fix included, files unchanged', async () => {
    await h.sh('mkdir -p /srv/app && ln -sf /etc/shadow /srv/app/.env');
    for (const [file, says] of [
      ['/etc/shadow', /--collector-env \/etc\/shadow is not a \.env file/],
      ['/srv/app/.env', /--collector-env \/srv\/app\/\.env is a symbolic link/],
    ] as const) {
      for (const extra of [[], ['--fix']]) {
        const before = await snapshot(h, ['/etc/shadow', '/srv/app', '/opt/collector-app']);
        const r = await cli(h, ['doctor', '--role', 'collector', '--no-probe', '--collector-env', file, ...extra]);
        expect(r.exitCode, r.stdout + r.stderr).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(says);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(await snapshot(h, ['/etc/shadow', '/srv/app', '/opt/collector-app'])).toBe(before);
      }
    }
  });
});


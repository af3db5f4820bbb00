/**
 * Issue 15, `watch --install` / `--uninstall` where systemd does not run (the throwaway hosts, like CI): the
 * unit file is validated by systemd-analyze (when installed), written through the apply path (dry run with a
 * diff, idempotent, backed up), reported as not started, updated when the options change, removed again; a
 * unit systemd-analyze rejects is never written; an account that is not ours is refused with nothing changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, makeKey, snapshot } from './helpers.js';
import { collectorHost } from './safety-helpers.js';

const UNIT = '/etc/systemd/system/sftp-setup-watch-allsky-upload.service';
let host: ThrowawayHost;
const unit = () => host.sh(`cat ${UNIT} 2>/dev/null; true`);

describe('watch --install without systemd', () => {
  beforeAll(async () => {
    host = await collectorHost('winst');
    const key = await makeKey(host, '/root/wi-key');
    const r = await cli(host, ['init', '--yes', '--no-verify', '--key', key]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
  afterAll(async () => {
    await host?.destroy();
  });

  it('--dry-run shows the unit and changes nothing', async () => {
    const before = await snapshot(host, ['/etc']);
    const r = await cli(host, ['watch', '--install', '--dry-run', '--mqtt', 'mqtt://127.0.0.1:1883']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would +service unit \/etc\/systemd\/system\/sftp-setup-watch-allsky-upload\.service — create/);
    expect(r.stdout).toMatch(/\+ExecStart="\S+node" "\S+\/bin\/sftp-setup" "watch" "--user" "allsky-upload" "--mqtt" "mqtt:\/\/127\.0\.0\.1:1883"/);
    expect(await snapshot(host, ['/etc'])).toBe(before);
  });

  it('writes a unit that restarts on failure and keeps root to two capabilities; says nothing was started', async () => {
    const r = await cli(host, ['watch', '--install', '--yes', '--mqtt', 'mqtt://127.0.0.1:1883', '--exec', 'logger -t upload "100% done" $SFTP_SETUP_PATH', '--sha256']);
    expect(r.stderr).toBe('');
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/changed +service unit .* — create/);
    expect(r.stdout).toMatch(/systemd is not running here: \/etc\/systemd\/system\/sftp-setup-watch-allsky-upload\.service is written but nothing was started/);
    const text = await unit();
    expect(text).toContain('\nExecStart=');
    expect(text).toContain(' "--exec" "logger -t upload \\"100%% done\\" $$SFTP_SETUP_PATH" ');
    expect(text).toContain(' "--sha256"\n');
    for (const line of ['Restart=on-failure', 'User=root', 'CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=read-only', 'RuntimeDirectory=sftp-setup-watch-allsky-upload', 'WantedBy=multi-user.target']) {
      expect(text).toContain(`\n${line}\n`);
    }
    expect(await host.sh(`stat -c '%U:%G %a' ${UNIT}`)).toBe('root:root 644\n');
    // systemd's own parser accepts it.
    if ((await host.run(['sh', '-c', 'command -v systemd-analyze'])).exitCode === 0) {
      const v = await host.run(['systemd-analyze', 'verify', '--man=no', UNIT]);
      expect(v.stdout + v.stderr).toBe('');
    }
  });

  it('a re-run changes nothing; other options update it; a password in a URL makes it 0600', async () => {
    const before = await snapshot(host, ['/etc']);
    const again = await cli(host, ['watch', '--install', '--yes', '--mqtt', 'mqtt://127.0.0.1:1883', '--exec', 'logger -t upload "100% done" $SFTP_SETUP_PATH', '--sha256']);
    expect(again.stdout).toMatch(/Already installed: nothing changed\./);
    expect(await snapshot(host, ['/etc'])).toBe(before);
    const r = await cli(host, ['watch', '--install', '--yes', '--mqtt', 'mqtt://cam:s3cret@127.0.0.1:1883']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +service unit .* — update/);
    expect(r.stdout).toMatch(/Backups in \/var\/backups\/sftp-setup\//);
    expect(await host.sh(`stat -c '%a' ${UNIT}`)).toBe('600\n');
    expect(await unit()).not.toContain('--exec');
  });

  it('a unit systemd-analyze rejects is never written', async () => {
    const before = await snapshot(host, ['/etc']);
    await host.sh(`mkdir -p /tmp/fakebin && printf '#!/bin/sh\\nfor a; do f="$a"; done\\necho "$f:12: Failed to parse protect system value, ignoring: bogus" >&2\\nexit 0\\n' > /tmp/fakebin/systemd-analyze && chmod 755 /tmp/fakebin/systemd-analyze`);
    const r = await cli(host, ['watch', '--install', '--yes', '--http', 'http://127.0.0.1:8080/x'], { env: { PATH: `/tmp/fakebin:${process.env.PATH}` } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/systemd-analyze verify rejects the unit: line 12: Failed to parse protect system value/);
    expect(await snapshot(host, ['/etc'])).toBe(before);
  });

  it('--uninstall removes it (backed up); a second one changes nothing', async () => {
    const r = await cli(host, ['watch', '--uninstall', '--yes']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +service unit .* — remove \(backed up\)/);
    expect((await host.run(['test', '-e', UNIT])).exitCode).toBe(1);
    const again = await cli(host, ['watch', '--uninstall', '--yes']);
    expect(again.stdout).toMatch(/Already removed: nothing changed\./);
  });

  it('an account sftp-setup did not set up is refused, nothing changed', async () => {
    await host.sh('useradd -r -M -s /usr/sbin/nologin someone');
    const before = await snapshot(host, ['/etc']);
    const r = await cli(host, ['watch', '--install', '--yes', '--user', 'someone']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/someone is not an upload account set up by sftp-setup/);
    expect(await snapshot(host, ['/etc'])).toBe(before);
  });

  it('uninstall of the account takes its event service with it', async () => {
    expect((await cli(host, ['watch', '--install', '--yes'])).exitCode).toBe(0);
    const r = await cli(host, ['uninstall', '--yes', '--user', 'allsky-upload']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +service unit \/etc\/systemd\/system\/sftp-setup-watch-allsky-upload\.service — remove/);
    expect((await host.run(['test', '-e', UNIT])).exitCode).toBe(1);
  });
});

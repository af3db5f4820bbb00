/**
 * Where a re-run's self-test connects without an sshd -T -C of its own: sshd's global settings for the
 * port, addresses and host keys, the account's block for whether uploads are logged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { probeTargetFromSettings } from '../../src/collector/probe-target.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'probe-target-'));
  writeFileSync(join(dir, 'ed.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKqVE6AC host@x\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const spec = { user: 'cam', root: '/srv/cam', dirs: ['images'], profile: 'allsky' as const };
const settings = (d: string) => `port 2222\nport 22\nlistenaddress 192.0.2.7:2222\nlistenaddress 127.0.0.1:22\nhostkey ${d}/ed\nhostkey ${d}/missing\n`;
const block = (force: string) => `Match User cam\n    ChrootDirectory /srv/cam\n    ForceCommand ${force}\n`;

describe('probeTargetFromSettings', () => {
  it('takes the first port, its address and the host keys sshd shows, and logging from the block', async () => {
    const t = await probeTargetFromSettings(spec, settings(dir), block('internal-sftp -u 0022 -p open,close -l INFO'));
    expect(t).toMatchObject({ user: 'cam', chroot: '/srv/cam', dirs: ['images'], port: 2222, addr: '192.0.2.7', hostKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKqVE6AC'] });
    expect(t.logging).toBeDefined();
  });

  it('no -l INFO in the block, or no ForceCommand at all: no log check; --port picks its own address', async () => {
    const quiet = await probeTargetFromSettings({ ...spec, port: 22 }, settings(dir), block('internal-sftp -u 0022'));
    expect(quiet).toMatchObject({ port: 22, addr: '127.0.0.1' });
    expect(quiet.logging).toBeUndefined();
    const none = await probeTargetFromSettings(spec, `${settings(dir)}forcecommand internal-sftp -l INFO\n`, 'Match User cam\n    ChrootDirectory /srv/cam\n');
    expect(none.logging).toBeUndefined();
  });
});

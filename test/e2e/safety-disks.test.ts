/**
 * Issue 6, "failing disks": a read-only /etc/ssh, a full /etc/ssh (a tiny tmpfs holding a copy of it,
 * filled up) and a full chroot, in throwaway collector hosts; a read-only Allsky config directory on a
 * camera. Every command must stop with one clear line (what, where, the fix), leave every file as it was
 * (snapshots before/after), never leave a temporary file behind, and sshd -t must still pass.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { CAMERA_FILES, cli, collectorHost, hostKeyFingerprint, makeKey, ROOT, snapshot, startPair, USER, type Pair } from './helpers.js';
import { installAllsky } from './allsky-fixture.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx2kQw9gJ1rdxYl0H5qzqvLr0m3gVQm8f1Q0fMZ3m9K disks@test';
const KEY2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC9hQm0yUqGf8m8nJ4m1t3B7Kz1Y0sV9a0mUuK3vQ2cX disks2@test';
// Everything the collector commands may touch. Backups are excluded: see backupsLeft().
const COLLECTOR_FILES = ['/etc/ssh', '/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/etc/subuid', '/etc/subgid', ROOT, '/run/sftp-setup'];
const figures: string[] = [];
let hosts: ThrowawayHost[] = [];
let pair: Pair | undefined;

afterEach(async () => {
  await Promise.all(hosts.map((h) => h.destroy()));
  hosts = [];
  await pair?.destroy();
  pair = undefined;
});

async function collector(): Promise<ThrowawayHost> {
  const h = await collectorHost('disk');
  hosts.push(h);
  return h;
}

/** A bind mount of /etc/ssh on itself, made read-only: the rest of /etc stays writable. */
const readOnly = (h: ThrowawayHost, dir: string) => h.sh(`mount --bind ${dir} ${dir} && mount -o remount,bind,ro ${dir}`);
const readOnlyEtcSsh = (h: ThrowawayHost) => readOnly(h, '/etc/ssh');

/** A tmpfs holding a copy of `dir` with only `spareKiB` free, then filled to the last byte with one file. */
async function fullTmpfsOver(h: ThrowawayHost, dir: string, filler = `${dir}/.filler`, spareKiB = 64): Promise<void> {
  await h.sh(
    `set -e; c=$(mktemp -d); cp -a ${dir}/. $c/; used=$(du -sk ${dir} | cut -f1);` +
      ` mount -t tmpfs -o size=$((used + ${spareKiB}))k,mode=0755,uid=0,gid=0 disk-full ${dir};` +
      ` cp -a $c/. ${dir}/; rm -rf $c; dd if=/dev/zero of=${filler} bs=1k 2>/dev/null || true;` +
      // a small file may still fit in a page tail: fill byte by byte until even that fails
      ` while printf x >> ${filler} 2>/dev/null; do :; done; sync`,
  );
  const df = await h.sh(`df -k --output=avail ${dir} | tail -1`);
  expect(df.trim()).toBe('0');
}

/**
 * The collector's files, mtimes aside (a rolled-back useradd rewrites /etc/passwd with the same bytes).
 * /run/sftp-setup/reload-pending is left out: a run that got as far as the sshd step leaves it on purpose,
 * so that the next run reloads sshd once more (a runtime marker in /run, not a configuration file).
 */
const files = async (h: ThrowawayHost) =>
  (await snapshot(h, COLLECTOR_FILES, { mtime: false })).split('\n').filter((l) => !/\/run\/sftp-setup( |$)|reload-pending/.test(l)).join('\n');

/** Files a run may leave on a failing disk that it must not: temporaries of atomic writes. */
const tempFiles = (h: ThrowawayHost) => h.sh(`find /etc ${ROOT} /var/backups /run -xdev -name '*.sftp-setup-*.tmp' 2>/dev/null || true`);

const sshdOk = async (h: ThrowawayHost) => (await h.run(['/usr/sbin/sshd', '-t'])).exitCode;

interface Attempt {
  args: string[];
  /** the error must say this */
  says: RegExp;
  exit?: number;
}

/** Run each command on the failing disk: one clear line, the right exit code, nothing changed, sshd -t passes. */
async function refusesUnchanged(h: ThrowawayHost, what: string, attempts: Attempt[]): Promise<void> {
  for (const a of attempts) {
    const before = await files(h);
    const r = await cli(h, a.args);
    const after = await files(h);
    const err = r.stderr.trim();
    figures.push(`${what}: ${a.args.slice(0, 2).join(' ')} -> exit ${r.exitCode}: ${err.split('\n').pop()}`);
    expect(r.exitCode, `${a.args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(a.exit ?? 1);
    expect(err.split('\n'), 'one line').toHaveLength(1);
    expect(err).toMatch(a.says);
    expect(after, `${a.args.join(' ')} changed files on a failing disk`).toBe(before);
    expect(await tempFiles(h)).toBe('');
    expect(await sshdOk(h)).toBe(0);
  }
}

describe('failing disks on the collector', () => {
  it('read-only /etc/ssh: init, keys add, keys remove, uninstall stop with the fix and change nothing', async () => {
    const fresh = await collector();
    await readOnlyEtcSsh(fresh);
    await refusesUnchanged(fresh, 'read-only /etc/ssh, fresh host', [
      { args: ['init', '--yes', '--no-verify', '--key', KEY], says: /read-only.*remount .*read-write/ },
    ]);

    const h = await collector();
    const init = await cli(h, ['init', '--yes', '--key', KEY]);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    await readOnlyEtcSsh(h);
    const fp = (await h.sh(`echo '${KEY}' | ssh-keygen -lf - | cut -d' ' -f2`)).trim();
    await refusesUnchanged(h, 'read-only /etc/ssh, after init', [
      { args: ['init', '--yes', '--no-verify', '--key', KEY, '--profile', 'dropbox'], says: /read-only.*remount .*read-write/ },
      { args: ['keys', 'add', '--user', USER, KEY2], says: /read-only.*remount .*read-write/ },
      { args: ['keys', 'remove', '--user', USER, '--force', fp], says: /read-only.*remount .*read-write/ },
      { args: ['uninstall', '--yes', '--user', USER], says: /read-only.*remount .*read-write/ },
    ]);
  }, 120_000);

  it('full /etc/ssh: init, keys add, keys remove, uninstall stop with the fix and change nothing', async () => {
    const fresh = await collector();
    await fullTmpfsOver(fresh, '/etc/ssh');
    await refusesUnchanged(fresh, 'full /etc/ssh, fresh host', [
      { args: ['init', '--yes', '--no-verify', '--key', KEY], says: /disk is full.*free some space/ },
    ]);

    const h = await collector();
    // Two keys: removing one then needs a new (non-empty) file, which a full tmpfs cannot hold.
    const init = await cli(h, ['init', '--yes', '--key', KEY, '--key', KEY2]);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    const key3 = await makeKey(h, '/root/third');
    await fullTmpfsOver(h, '/etc/ssh');
    const fp = (await h.sh(`echo '${KEY}' | ssh-keygen -lf - | cut -d' ' -f2`)).trim();
    await refusesUnchanged(h, 'full /etc/ssh, after init', [
      { args: ['init', '--yes', '--no-verify', '--key', KEY, '--profile', 'dropbox'], says: /disk is full.*free some space/ },
      { args: ['keys', 'add', '--user', USER, key3], says: /disk is full.*free some space/ },
      { args: ['keys', 'remove', '--user', USER, '--force', fp], says: /disk is full.*free some space/ },
    ]);
    // Removing only frees space: uninstall works on a full disk, and leaves a valid sshd configuration.
    const un = await cli(h, ['uninstall', '--yes', '--user', USER]);
    figures.push(`full /etc/ssh, after init: uninstall -> exit ${un.exitCode} (removing needs no space)`);
    expect(un.exitCode, un.stdout + un.stderr).toBe(0);
    expect(await h.sh(`ls /etc/ssh/sshd_config.d; getent passwd ${USER} || true`)).toBe('');
    expect(await tempFiles(h)).toBe('');
    expect(await sshdOk(h)).toBe(0);
  }, 120_000);
});

describe('a full chroot', () => {
  it('init re-run: the self-test reports the full disk, nothing else changes', async () => {
    const h = await collector();
    const init = await cli(h, ['init', '--yes', '--key', KEY]);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    // the filler in an upload directory, as uploads would fill it (one in / would fail the listing check)
    await fullTmpfsOver(h, ROOT, `${ROOT}/images/.filler`);
    const before = await files(h);
    const r = await cli(h, ['init', '--yes', '--key', KEY]);
    const after = await files(h);
    const failed = r.stdout.split('\n').filter((l) => /FAIL|fail/.test(l));
    figures.push(`full chroot: init re-run -> exit ${r.exitCode}: ${failed.join(' | ')}`);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('Already set up: nothing changed.');
    expect(r.stdout).toMatch(/FAIL {2}\/images: .*the disk holding \/var\/lib\/allsky-uploads\/images is full \(\d+ bytes free\): free some space/);
    expect(after).toBe(before);
    expect(await h.sh(`find ${ROOT} -name '*sftp-setup*'`)).toBe('');
    expect(await sshdOk(h)).toBe(0);
  }, 120_000);
});

describe('a read-only Allsky config directory on the camera', () => {
  it('allsky-config stops with the fix and changes nothing', async () => {
    pair = await startPair();
    const p = pair;
    await Promise.all([
      installAllsky(p.camera),
      cli(p.collector, ['init', '--yes', '--no-verify']).then((r) => expect(r.exitCode, r.stderr).toBe(0)),
    ]);
    const hostKey = await hostKeyFingerprint(p.collector);
    await readOnly(p.camera, '/home/pi/allsky/config');
    const before = await snapshot(p.camera, CAMERA_FILES);
    const r = await cli(p.camera, ['allsky-config', '--collector', 'collector', '--host-key', hostKey, '--yes'], { user: 'pi' });
    const after = await snapshot(p.camera, CAMERA_FILES);
    const err = r.stderr.trim();
    figures.push(`read-only Allsky config: allsky-config -> exit ${r.exitCode}: ${err}`);
    expect([1, 2], r.stdout + r.stderr).toContain(r.exitCode);
    expect(err.split('\n'), 'one line').toHaveLength(1);
    expect(err).toMatch(/\/home\/pi\/allsky\/config.*(read-only|remount)/);
    expect(after).toBe(before);
  }, 120_000);
});

afterAll(() => console.log(`[safety-disks]\n${figures.join('\n')}`));

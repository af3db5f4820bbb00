/**
 * Issue 9: what the SFTP allow-list cannot bound (OPEN and MKDIR carry set-uid/set-gid bits) is made inert
 * by a nosuid,nodev,noexec mount of the upload tree. `init --protect-mount` writes the fstab line, mounts
 * now, shows the diff in --dry-run, converges on re-run and rolls back on failure; doctor warns without it.
 * Mounts made here stay inside the throwaway host's mount namespace, and its /etc/fstab is an overlay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, makeKey, ROOT, USER } from './helpers.js';

const LINE = `${ROOT} ${ROOT} none bind,nosuid,nodev,noexec,nofail 0 0`;
let host: ThrowawayHost;
let key: string;

const mounts = () => host.sh(`awk '$5 == "${ROOT}" { print $6 }' /proc/self/mountinfo`);
const fstab = () => host.sh('cat /etc/fstab 2>/dev/null; true');
const doctorMount = async () => {
  const r = await cli(host, ['doctor', '--json', '--no-probe']);
  const checks = JSON.parse(r.stdout).checks as Array<{ id: string; status: string; evidence: string[]; fix?: string }>;
  return checks.find((c) => c.id === 'chroot.mount')!;
};

describe('init --protect-mount', () => {
  beforeAll(async () => {
    host = await collectorHost('pmnt');
    key = await makeKey(host, '/root/pm-key');
    const r = await cli(host, ['init', '--yes', '--key', key]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
  afterAll(async () => {
    await host?.destroy();
  });

  it('without it, doctor warns that the tree is not nosuid,nodev and prints the command', async () => {
    expect(await mounts()).toBe('');
    const c = await doctorMount();
    expect(c.status).toBe('warn');
    expect(c.evidence[0]).toMatch(new RegExp(`^${ROOT} is on /\\S* \\(\\w+\\) mounted (?!.*nosuid)`));
    expect(c.fix).toBe(`sudo sftp-setup init --user allsky-upload --root ${ROOT} --protect-mount`);
  });

  it('a failed mount puts /etc/fstab back and leaves no mount behind', async () => {
    const before = await fstab();
    // mount(8) refusing the remount, as a kernel without bind-remount support would
    await host.sh(`mkdir -p /tmp/failbin && printf '#!/bin/sh\\ncase "$*" in *remount*) echo "mount: refused" >&2; exit 32;; esac\\nexec /usr/bin/mount "$@"\\n' > /tmp/failbin/mount && chmod 755 /tmp/failbin/mount`);
    const r = await cli(host, ['init', '--yes', '--key', key, '--protect-mount'], { env: { PATH: `/tmp/failbin:${process.env.PATH}` } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/mount -o remount,bind,nosuid,nodev,noexec -- \/var\/lib\/allsky-uploads failed/);
    expect(r.stdout).toMatch(/Every change of this run was rolled back/);
    expect(await fstab()).toBe(before);
    expect(await mounts()).toBe('');
  });

  it('--dry-run shows the fstab diff and the mount, and changes nothing', async () => {
    const before = await fstab();
    const r = await cli(host, ['init', '--yes', '--key', key, '--protect-mount', '--dry-run']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`would +upload tree ${ROOT} mounted nosuid,nodev,noexec — /etc/fstab: bind mount added; bind-mounted onto itself nosuid,nodev,noexec`));
    expect(r.stdout).toContain(`+${LINE}`);
    expect(await fstab()).toBe(before);
    expect(await mounts()).toBe('');
  });

  it('adds the fstab line, mounts the tree nosuid,nodev,noexec now, and uploads still work (self-test)', async () => {
    const before = await fstab();
    const r = await cli(host, ['init', '--yes', '--key', key, '--protect-mount']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +upload tree .* mounted nosuid,nodev,noexec/);
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(await fstab()).toBe(`${before}${before === '' || before.endsWith('\n') ? '' : '\n'}# sftp-setup: upload tree ${ROOT} without set-uid, devices or programs (init --protect-mount)\n${LINE}\n`);
    const opts = (await mounts()).trim().split(',');
    expect(opts).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
    // the mount the fstab line describes is the one in place: mount(8) reads it back without complaint
    expect(await host.sh(`findmnt --verify --tab-file /etc/fstab 2>&1 | tail -1`)).toMatch(/Success|0 parse errors, 0 errors/);
  });

  it('a set-uid program left in the tree is inert there', async () => {
    await host.sh(`cp /usr/bin/id ${ROOT}/images/id && chmod 4755 ${ROOT}/images/id && useradd -M -s /bin/sh pmuser`);
    const r = await host.run([`${ROOT}/images/id`, '-u'], { user: 'pmuser' });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    await host.sh(`rm -f ${ROOT}/images/id`);
  });

  it('a re-run changes nothing: one fstab line, one mount, and doctor passes', async () => {
    const before = await fstab();
    const r = await cli(host, ['init', '--yes', '--key', key, '--protect-mount']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nothing changed/);
    expect(await fstab()).toBe(before);
    expect((await mounts()).trim().split('\n')).toHaveLength(1);
    const c = await doctorMount();
    expect(c.status).toBe('pass');
    expect(c.evidence[0]).toMatch(new RegExp(`^${ROOT} is on ${ROOT} \\(\\w+\\) mounted rw,nosuid,nodev,noexec`));
  });

  it('uninstall takes out the fstab lines and the mount (rollback would put them back), and --purge can then remove the tree', async () => {
    const base = (await fstab()).split('# sftp-setup: upload tree')[0];
    const dry = await cli(host, ['uninstall', '--yes', '--user', USER, '--purge', '--dry-run']);
    expect(dry.exitCode, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would +nosuid,nodev,noexec mount of \/var\/lib\/allsky-uploads \(init --protect-mount\) — remove its lines from \/etc\/fstab and unmount it/);
    expect(dry.stdout).toContain(`-${LINE}`);
    expect((await mounts()).trim()).not.toBe('');
    // a session still working in the tree (a camera uploading right now) keeps the mount busy: detached anyway
    await host.sh(`(cd ${ROOT}/images && exec sleep 300) </dev/null >/dev/null 2>&1 &`);
    expect(await host.sh(`for p in /proc/[0-9]*; do [ "$(readlink $p/cwd)" = ${ROOT}/images ] && echo busy; done; true`)).toMatch(/busy/);
    const r = await cli(host, ['uninstall', '--yes', '--user', USER, '--purge']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await fstab()).toBe(base);
    expect(await mounts()).toBe('');
    expect((await host.run(['test', '-e', ROOT])).exitCode).toBe(1);
  });
});

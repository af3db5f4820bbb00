/**
 * Issue 15, upload logging: `init` turns it on where the host has a log socket (here the documented fallback,
 * a syslog daemon in the throwaway host, see syslog.ts): internal-sftp -l INFO, the socket bound onto
 * <root>/dev/log and kept in /etc/fstab, and the self-test finds its own upload's close line in the log.
 * doctor checks the socket, notices one a restarted logger left stale; init binds it again; --no-log and
 * uninstall take it all away; --log where there is no socket is bad input that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, makeKey, snapshot } from './helpers.js';
import { collectorHost } from './safety-helpers.js';
import { startSyslog, uploadLogLines } from './syslog.js';

const ROOT = '/var/lib/allsky-uploads';
const DROPIN = '/etc/ssh/sshd_config.d/50-sftp-setup-allsky-upload.conf';
let host: ThrowawayHost;
let bare: ThrowawayHost;
let key: string;

const devlogCheck = async (h: ThrowawayHost) => {
  const r = await cli(h, ['doctor', '--json', '--no-probe']);
  return (JSON.parse(r.stdout).checks as Array<{ id: string; status: string; evidence: string[]; fix?: string }>).find((c) => c.id === 'chroot.devlog')!;
};
const fstab = (h: ThrowawayHost) => h.sh('cat /etc/fstab 2>/dev/null; true');
const mounted = (h: ThrowawayHost) => h.sh(`awk '$5 == "${ROOT}/dev/log"' /proc/self/mountinfo | wc -l`).then((s) => Number(s.trim()));
/** "same" when <root>/dev/log is the host's /dev/log socket itself */
const sameSocket = (h: ThrowawayHost) => h.sh(`[ "$(stat -L -c %d:%i /dev/log)" = "$(stat -c %d:%i ${ROOT}/dev/log)" ] && [ -S ${ROOT}/dev/log ] && echo same || echo different`);

describe('init: upload logging', () => {
  beforeAll(async () => {
    [host, bare] = await Promise.all([collectorHost('ilog'), collectorHost('inolog')]);
    await startSyslog(host);
    key = await makeKey(host, '/root/log-key');
  });
  afterAll(async () => {
    await Promise.all([host?.destroy(), bare?.destroy()]);
  });

  it('is on by default where the host has a log socket, and the self-test finds its own close line', async () => {
    const r = await cli(host, ['init', '--yes', '--key', key]);
    expect(r.stderr).toBe('');
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/changed +upload logging: \/var\/lib\/allsky-uploads\/dev\/log bound to \/dev\/log/);
    expect(r.stdout).toMatch(/pass {2}upload logging: this upload's close line is in the log — in \/var\/log\/auth\.log: .*internal-sftp\[\d+\]: close "\/allsky\/\.sftp-setup-probe-[0-9a-f]+\.tmp" bytes read 0 written 17/);
    expect(r.stdout).toMatch(/pass {2}only the upload tree is visible/);
    expect(await host.sh(`grep ForceCommand ${DROPIN}`)).toMatch(/ForceCommand internal-sftp -u 0022 -p \S+ -l INFO\n/);
    expect(await host.sh(`stat -c '%U:%G %a %F' ${ROOT}/dev`)).toBe('root:root 755 directory\n');
    expect(await sameSocket(host)).toBe('same\n');
    expect(await fstab(host)).toContain(`# sftp-setup: log socket for the uploads to ${ROOT} (init --log)\n/dev/log ${ROOT}/dev/log none bind,nofail 0 0\n`);
    // The session's other lines came too: open, rename (OpenSSH's sftp sends posix-rename), remove.
    const lines = (await uploadLogLines(host)).join('\n');
    expect(lines).toMatch(/internal-sftp\[\d+\]: open "\/images\/\.sftp-setup-probe-\w+\.tmp" flags WRITE,CREATE,TRUNCATE mode 0644/);
    expect(lines).toMatch(/internal-sftp\[\d+\]: posix-rename old "\/images\/\.sftp-setup-probe-\w+\.tmp" new "\/images\/\.sftp-setup-probe-\w+"/);
    expect(lines).toMatch(/internal-sftp\[\d+\]: remove name "\/images\/\.sftp-setup-probe-\w+"/);
    expect((await devlogCheck(host)).status).toBe('pass');
  });

  it('a re-run changes nothing', async () => {
    const paths = ['/etc', ROOT];
    const before = await snapshot(host, paths);
    const r = await cli(host, ['init', '--yes', '--key', key]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Already set up: nothing changed\./);
    // Its self-test (started beside the checks) knows uploads are logged, and finds its own line.
    expect(r.stdout).toMatch(/pass {2}upload logging: this upload's close line is in the log — in \/var\/log\/auth\.log: /);
    expect(await snapshot(host, paths)).toBe(before);
  });

  it('a logger that made a new socket leaves the bind stale: doctor says so, init binds it again', async () => {
    await startSyslog(host);
    expect(await sameSocket(host)).toBe('different\n');
    const stale = await devlogCheck(host);
    expect(stale.status).toBe('warn');
    expect(stale.evidence.join('\n')).toMatch(/made a new one/);
    expect(stale.fix).toBe(`sudo sftp-setup init --user allsky-upload --root ${ROOT} --log`);
    const r = await cli(host, ['init', '--yes', '--key', key, '--log']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +upload logging: .* — bind-mount again/);
    expect(r.stdout).toMatch(/pass {2}upload logging: this upload's close line is in the log/);
    expect(await sameSocket(host)).toBe('same\n');
    expect(await mounted(host)).toBe(1);
  });

  it('with --protect-mount the socket stays reachable: its mount comes after the bind of the tree onto itself', async () => {
    const r = await cli(host, ['init', '--yes', '--key', key, '--protect-mount']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +upload logging: .* unmounted while the tree is bound onto itself — unmount it for a moment/);
    expect(r.stdout).toMatch(/changed +upload tree .* mounted nosuid,nodev,noexec/);
    expect(r.stdout).toMatch(/changed +upload logging: \/var\/lib\/allsky-uploads\/dev\/log bound to \/dev\/log .* — bind-mount the log socket/);
    // One mount of the socket, the one on top: none left hidden below the tree's bind.
    expect(await mounted(host)).toBe(1);
    expect(r.stdout).toMatch(/pass {2}upload logging: this upload's close line is in the log/);
    expect(await sameSocket(host)).toBe('same\n');
    expect((await devlogCheck(host)).status).toBe('pass');
  });

  it('--no-log takes it away: no -l, no mount, no fstab line, no dev; doctor skips; a re-run changes nothing', async () => {
    const r = await cli(host, ['init', '--yes', '--key', key, '--no-log']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await host.sh(`grep ForceCommand ${DROPIN}`)).not.toMatch(/-l INFO/);
    expect(await mounted(host)).toBe(0);
    expect(await fstab(host)).not.toContain('dev/log');
    expect((await host.run(['test', '-e', `${ROOT}/dev`])).exitCode).toBe(1);
    expect((await devlogCheck(host)).status).toBe('skip');
    const again = await cli(host, ['init', '--yes', '--key', key, '--no-log']);
    expect(again.stdout).toMatch(/Already set up: nothing changed\./);
    expect(again.stdout).toMatch(/pass {2}key login as allsky-upload/);
    expect(again.stdout).not.toMatch(/upload logging: this upload's close line/);
  });

  it('uninstall removes the mount, the fstab line and dev; the uploads stay', async () => {
    expect((await cli(host, ['init', '--yes', '--no-verify', '--key', key])).exitCode).toBe(0);
    expect(await mounted(host)).toBe(1);
    const r = await cli(host, ['uninstall', '--yes', '--user', 'allsky-upload']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/changed +upload logging off: .* — remove its lines from \/etc\/fstab, unmount it, remove \/var\/lib\/allsky-uploads\/dev\/log/);
    expect(await mounted(host)).toBe(0);
    expect(await fstab(host)).not.toContain('dev/log');
    expect((await host.run(['test', '-e', `${ROOT}/dev`])).exitCode).toBe(1);
    expect((await host.run(['test', '-d', `${ROOT}/images`])).exitCode).toBe(0);
  });

  it('a bind mount that fails rolls the whole run back: fstab, dev, the block, the account', async () => {
    // Contents, owners and modes (a rollback rewrites files: their times differ); the shadow tools' own
    // backups (passwd- …) and directory sizes are not ours to compare.
    const state = async () => (await snapshot(host, ['/etc', '/var/lib'], { mtime: false }))
      .split('\n').filter((l) => !/\/etc\/(passwd|shadow|group|gshadow)-$/.test(l)).map((l) => l.replace(/^(d \S+ \d+) \d+ /, '$1 ')).join('\n');
    const before = await state();
    await host.sh(`mkdir -p /tmp/failbin && printf '#!/bin/sh\\ncase "$*" in *dev/log*) echo "mount: refused" >&2; exit 32;; esac\\nexec /usr/bin/mount "$@"\\n' > /tmp/failbin/mount && chmod 755 /tmp/failbin/mount`);
    const r = await cli(host, ['init', '--yes', '--key', key], { env: { PATH: `/tmp/failbin:${process.env.PATH}` } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/mount --bind -- \/dev\/log \/var\/lib\/allsky-uploads\/dev\/log failed/);
    expect(r.stdout).toMatch(/Every change of this run was rolled back/);
    expect(await mounted(host)).toBe(0);
    expect(await state()).toBe(before);
  });

  it('--log on a host without a log socket is bad input and changes nothing; without it, init says logging is off', async () => {
    const paths = ['/etc', '/var/lib', '/run/sshd.pid'];
    const before = await snapshot(bare, paths);
    const r = await cli(bare, ['init', '--yes', '--key', key, '--log']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--log: this host has no log socket .*nothing was changed/);
    expect(await snapshot(bare, paths)).toBe(before);
    const auto = await cli(bare, ['init', '--yes', '--key', key]);
    expect(auto.exitCode, auto.stdout + auto.stderr).toBe(0);
    expect(auto.stdout).toMatch(/Upload logging is off: this host has no log socket/);
    expect(auto.stdout).not.toMatch(/upload logging: this upload/);
    expect(await bare.sh(`grep ForceCommand ${DROPIN}`)).not.toMatch(/-l INFO/);
  });
});

/**
 * Issue 12, "backups pruned": each file keeps its newest N copies under /var/backups/sftp-setup (default 10,
 * SFTP_SETUP_KEEP_BACKUPS), pruned after a run whose changes stand; backups are root's 0700/0600 and never
 * hold another user's password hash (copies of /etc/shadow and /etc/gshadow keep only the changed
 * account's lines). Rollback still puts the whole files back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, dropIn, makeKey, USER } from './helpers.js';

let host: ThrowawayHost;
const B = '/var/backups/sftp-setup';
// alice's password hash, and a line only root's shadow has: neither may appear in any backup
const ALICE_HASH = '$6$sftpsetuptest$aliceknownhashDoNotCopyMe0123456789abcdefghijklmnopqrstuvwxyzABCDEF';

const runDirs = async () => (await host.sh(`ls -1 ${B} 2>/dev/null || true`)).split('\n').filter((l) => /^\d{8}T\d{6}Z-\d+$/.test(l));
/** How many copies of each backed-up file there are, by path inside a run directory. */
const copiesPerFile = async () => {
  const out = await host.sh(`cd ${B} && find . -mindepth 2 -type f -printf '%P\\n' | cut -d/ -f2- | sort | uniq -c`);
  return new Map(out.trim().split('\n').filter(Boolean).map((l) => { const [n, f] = l.trim().split(/\s+/); return [f!, Number(n)] as const; }));
};

describe('backups', () => {
  let key: string;
  beforeAll(async () => {
    host = await collectorHost('bak');
    await host.sh(`useradd -m alice; usermod -p '${ALICE_HASH}' alice; grep -c '^alice:${ALICE_HASH.replace(/\$/g, '\\$')}:' /etc/shadow`);
    key = await makeKey(host, '/root/bk');
    const r = await cli(host, ['init', '--yes', '--no-verify', '--key', key]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
  afterAll(async () => {
    await host?.destroy();
  });

  it('15 changing runs leave at most 10 backup directories, the newest copies of the file they changed', async () => {
    const extra = await makeKey(host, '/root/bk-extra');
    const fp = (await host.sh('ssh-keygen -lf /root/bk-extra.pub')).split(' ')[1]!;
    for (let i = 0; i < 15; i++) {
      const r = await cli(host, i % 2 === 0 ? ['keys', 'add', '--user', USER, extra] : ['keys', 'remove', '--user', USER, fp]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stderr).toBe('');
    }
    const dirs = await runDirs();
    expect(dirs.length).toBeGreaterThan(0);
    expect(dirs.length).toBeLessThanOrEqual(10);
    expect((await copiesPerFile()).get(`etc/ssh/sftp-setup/authorized_keys/${USER}`)).toBe(10);
    // the copies kept are the newest, taken before alternate adds and removes: half of them hold the extra key
    const withExtra = await host.sh(`grep -lF '${extra.split(' ')[1]!}' ${B}/*/etc/ssh/sftp-setup/authorized_keys/${USER} | wc -l`);
    expect(withExtra).toBe('5\n');
  }, 180_000);

  it('uninstall/init cycles with SFTP_SETUP_KEEP_BACKUPS=3: 3 copies per file; shadow copies hold only the account\'s line; root 0700/0600', async () => {
    const env = { ...process.env, SFTP_SETUP_KEEP_BACKUPS: '3' };
    for (let i = 0; i < 5; i++) {
      for (const args of [['uninstall', '--yes', '--user', USER], ['init', '--yes', '--no-verify', '--key', key]]) {
        const r = await cli(host, args, { env });
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      }
    }
    const copies = await copiesPerFile();
    for (const [f, n] of copies) expect(n, f).toBeLessThanOrEqual(3);
    expect(copies.get('etc/passwd')).toBe(3);
    expect(copies.get('etc/shadow.account-lines')).toBe(3);
    expect(copies.get('etc/gshadow.account-lines')).toBe(3);
    expect(copies.has('etc/shadow')).toBe(false);
    expect(copies.has('etc/gshadow')).toBe(false);
    // the copies of the secret files: each line is the account's own, and nobody else's hash is anywhere
    const lines = await host.sh(`cat ${B}/*/etc/shadow.account-lines ${B}/*/etc/gshadow.account-lines`);
    expect(lines.trim().split('\n').length).toBe(6);
    for (const l of lines.trim().split('\n')) expect(l.split(':')[0]).toBe(USER);
    expect(await host.sh(`grep -rlF 'aliceknownhash' ${B} || true`)).toBe('');
    const rootHash = (await host.sh("getent shadow root | cut -d: -f2")).trim();
    if (rootHash.length > 2) expect(await host.sh(`grep -rlF '${rootHash}' ${B} || true`)).toBe('');
    // only root can look in
    expect(await host.sh(`find ${B} -mindepth 1 \\( -type d ! -perm 0700 -o -type f ! -perm 0600 -o ! -user root \\) -printf '%m %u %p\\n'`)).toBe('');
    expect(await host.sh(`stat -c '%U %a' ${B}`)).toBe('root 700\n');
  }, 240_000);

  it('a run that is rolled back puts the whole /etc/shadow back (from memory), and prunes nothing', async () => {
    const before = await host.sh('sha256sum /etc/passwd /etc/shadow /etc/group /etc/gshadow');
    const listing = await host.sh(`find ${B} | sort`);
    // The drop-ins' directory turns read-only: uninstall deletes the account, then cannot remove its block
    await host.sh(`test -f ${dropIn()}; mount --bind /etc/ssh/sshd_config.d /etc/ssh/sshd_config.d; mount -o remount,bind,ro /etc/ssh/sshd_config.d`);
    try {
      const r = await cli(host, ['uninstall', '--yes', '--user', USER]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/changed\s+account allsky-upload/);
      expect(await host.sh('sha256sum /etc/passwd /etc/shadow /etc/group /etc/gshadow')).toBe(before);
      expect(await host.sh(`getent shadow ${USER} | cut -d: -f2`)).toBe('*\n');
      // the failed run's own backups were written; nothing older went
      const after = await host.sh(`find ${B} | sort`);
      for (const l of listing.trim().split('\n')) expect(after).toContain(l);
    } finally {
      await host.sh('umount /etc/ssh/sshd_config.d');
    }
  }, 120_000);

  it('never prunes a run directory of a live run, nor what is not a run directory', async () => {
    const pid = (await host.sh('sleep 600 >/dev/null 2>&1 & echo $!')).trim();
    // the oldest copy of the keys file there is, in the directory of a run still alive
    const live = `${B}/20000101T000000Z-${pid}`;
    const keys = `etc/ssh/sftp-setup/authorized_keys/${USER}`;
    await host.sh(`mkdir -p $(dirname ${live}/${keys}) ${B}/notes; echo old > ${live}/${keys}; echo mine > ${B}/notes/x; chmod -R go-rwx ${live} ${B}/notes`);
    try {
      for (let i = 0; i < 12; i++) expect((await cli(host, ['keys', 'add', '--user', USER, key, '--from', `10.${i}.0.0/16`])).exitCode).toBe(0);
      expect((await copiesPerFile()).get(keys)).toBe(11);
      expect(await host.sh(`cat ${live}/${keys} ${B}/notes/x`)).toBe('old\nmine\n');
      // once that run is gone, its directory is an old one like any other
      await host.sh(`kill ${pid}; for i in $(seq 50); do kill -0 ${pid} 2>/dev/null || break; sleep 0.1; done`);
      expect((await cli(host, ['keys', 'add', '--user', USER, key, '--from', '10.50.0.0/16'])).exitCode).toBe(0);
      expect((await copiesPerFile()).get(keys)).toBe(10);
      expect((await host.run(['test', '-e', live])).exitCode).toBe(1);
      expect(await host.sh(`cat ${B}/notes/x`)).toBe('mine\n');
    } finally {
      await host.sh(`kill ${pid} 2>/dev/null || true`);
    }
  }, 180_000);

  it('a bad SFTP_SETUP_KEEP_BACKUPS is bad input: exit 2, nothing changed', async () => {
    const snap = () => host.sh(`find /etc/ssh ${B} -printf '%y %m %s %p\\n' | sort`);
    const before = await snap();
    const r = await cli(host, ['keys', 'add', '--user', USER, key, '--from', '10.99.0.0/16'], { env: { ...process.env, SFTP_SETUP_KEEP_BACKUPS: '0' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^sftp-setup: error: SFTP_SETUP_KEEP_BACKUPS="0" is not a number of backups to keep — fix: give a whole number from 1 to 1000/);
    expect(await snap()).toBe(before);
  });
});

/**
 * `keys list|add|remove` on the collector, each proved from the camera with a real login: an added key logs
 * in, a removed one is refused at once, and --from limits where a key is accepted from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, KEYS_FILE, login, snapshot, startPair, USER, type Pair } from './helpers.js';

describe('keys on the collector', () => {
  let p: Pair;
  const pubs: Record<string, string> = {};
  const fps: Record<string, string> = {};
  /** Can the camera log in with this key? */
  const loginWith = (name: string) => login(p.camera, { key: `/root/${name}` });
  const keys = (args: string[], input?: string) => cli(p.collector, ['keys', ...args], input !== undefined ? { input } : {});
  const listJson = async () => JSON.parse((await keys(['list', '--user', USER, '--json'])).stdout);

  beforeAll(async () => {
    p = await startPair();
    for (const name of ['first', 'second', 'third']) {
      await p.camera.sh(`ssh-keygen -q -t ed25519 -N '' -C ${name}@camera -f /root/${name}`);
      pubs[name] = (await p.camera.sh(`cat /root/${name}.pub`)).trim();
      fps[name] = (await p.camera.sh(`ssh-keygen -lf /root/${name}.pub | cut -d' ' -f2`)).trim();
    }
    const r = await cli(p.collector, ['init', '--yes', '--no-verify', '--key', pubs.first!]);
    expect(r.exitCode).toBe(0);
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('list shows fingerprint, type, bits, comment, options and age', async () => {
    const r = await keys(['list', '--user', USER]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`${fps.first}  ssh-ed25519 256  first@camera`);
    expect(r.stdout).toMatch(/from anywhere; options restrict; added \d{4}-\d\d-\d\d, 0 days ago/);
    const j = await listJson();
    expect(j.keys).toHaveLength(1);
    expect(j.keys[0]).toMatchObject({ fingerprint: fps.first, type: 'ssh-ed25519', bits: 256, comment: 'first@camera', options: 'restrict', ageDays: 0 });
    expect(j.problems).toEqual([]);
  });

  it('add with the key on stdin (as a camera runs it over SSH), then again: 0 both times, the second changes nothing', async () => {
    expect((await loginWith('second')).ok).toBe(false);
    const r = await keys(['add', '--user', USER, '-'], pubs.second + '\n');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`Added ${fps.second} (second@camera) for ${USER}\n`);
    expect((await loginWith('second')).ok).toBe(true);
    const before = await snapshot(p.collector, ['/etc', '/var/backups']);
    const again = await keys(['add', '--user', USER, '-'], pubs.second + '\n');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe(`Already authorized: ${fps.second} (second@camera) for ${USER}\n`);
    expect(await snapshot(p.collector, ['/etc', '/var/backups'])).toBe(before);
  });

  it('--dry-run shows the diff and changes nothing', async () => {
    const before = await snapshot(p.collector, ['/etc']);
    const r = await keys(['add', '--user', USER, '--dry-run', pubs.third!]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Would add ${fps.third} (third@camera)`);
    expect(r.stdout).toContain(`+restrict ${pubs.third}`);
    expect(r.stdout).toContain('Dry run: nothing was changed.');
    expect(await snapshot(p.collector, ['/etc'])).toBe(before);
  });

  it('--from limits where a key is accepted from, and updates a key already present', async () => {
    const away = await keys(['add', '--user', USER, '--from', '192.0.2.0/24', pubs.second!]);
    expect(away.exitCode).toBe(0);
    expect(away.stdout).toBe(`Updated ${fps.second} (second@camera): from 192.0.2.0/24 for ${USER}\n`);
    expect((await loginWith('second')).ok).toBe(false);
    expect(await p.collector.sh('grep -c "not from a permitted host" /var/log/auth.log')).not.toBe('0\n');
    const here = await keys(['add', '--user', USER, '--from', `${p.cameraAddr}/32`, pubs.second!]);
    expect(here.exitCode).toBe(0);
    expect((await loginWith('second')).ok).toBe(true);
    // Without --from, a key already present keeps its restriction (a camera re-running its hand-off must
    // not widen what the admin narrowed).
    const plain = await keys(['add', '--user', USER, pubs.second!]);
    expect(plain.stdout).toMatch(/^Already authorized/);
    expect(await p.collector.sh(`grep second@camera ${KEYS_FILE}`)).toBe(`restrict,from="${p.cameraAddr}/32" ${pubs.second}\n`);
    const j = await listJson();
    expect(j.keys.find((k: { comment: string }) => k.comment === 'second@camera').from).toEqual([`${p.cameraAddr}/32`]);
  });

  it('bad input: exit 2, one line naming it, the file unchanged', async () => {
    const before = await snapshot(p.collector, ['/etc', '/var/backups']);
    const cases: Array<[string[], RegExp, string?]> = [
      [['add', '--user', USER, 'ssh-ed25519 AAAA'], /key 'ssh-ed25519 AAAA' is not a valid public key/],
      [['add', '--user', USER, '-'], /key - \(stdin\): no key found/, ''],
      [['add', '--user', USER, '--from', '10.1.2.3/40', pubs.third!], /--from .*10\.1\.2\.3\/40/],
      [['add', '--user', 'nobody-here', pubs.third!], /nobody-here is not an upload account set up by sftp-setup.*sudo sftp-setup init --user nobody-here/],
      [['add', '--user', 'Bad', pubs.third!], /--user "Bad" contains uppercase/],
      [['remove', '--user', USER, 'SHA256:short'], /FINGERPRINT "SHA256:short" is not a SHA256 key fingerprint/],
      [['remove', '--user', USER, 'nobody@nowhere'], /no key matches "nobody@nowhere".*first@camera/],
      [['list', '--user', 'nobody-here'], /nobody-here is not an upload account set up by sftp-setup/],
    ];
    for (const [args, msg, input] of cases) {
      const r = await keys(args, input);
      expect(r.stderr, args.join(' ')).toMatch(msg);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.exitCode, args.join(' ')).toBe(2);
    }
    expect(await snapshot(p.collector, ['/etc', '/var/backups'])).toBe(before);
  });

  it('list reports broken lines and the age of old keys', async () => {
    await p.collector.sh(
      `cp -p ${KEYS_FILE} /root/keys.orig && sed -i '0,/added [0-9T:-]*Z/s//added 2024-01-01T00:00:00Z/' ${KEYS_FILE} && echo 'ssh-ed25519 AAAAbroken' >> ${KEYS_FILE}`,
    );
    try {
      const j = await listJson();
      expect(j.keys[0].addedAt).toBe('2024-01-01T00:00:00Z');
      expect(j.keys[0].ageDays).toBeGreaterThan(365);
      expect(j.problems).toHaveLength(1);
      expect(j.problems[0].line).toBe(5);
      const r = await keys(['list', '--user', USER]);
      expect(r.stdout).toMatch(/added 2024-01-01, \d+ days ago/);
      expect(r.stdout).toMatch(/line 5 is not a usable key/);
    } finally {
      await p.collector.sh(`cp -p /root/keys.orig ${KEYS_FILE}`);
    }
  });

  it('remove by fingerprint: that key is refused at once, the other still works; removing again is a no-op', async () => {
    const r = await keys(['remove', '--user', USER, fps.first!]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Removed ${fps.first!.replace(/[+/]/g, '\\$&')} \\(first@camera\\) for ${USER}\\n`));
    const refused = await loginWith('first');
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
    expect((await loginWith('second')).ok).toBe(true);
    expect(await p.collector.sh(`grep -c first@camera ${KEYS_FILE} || true`)).toBe('0\n');
    const again = await keys(['remove', '--user', USER, fps.first!]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/^Not authorized \(nothing to remove\)/);
  });

  it('remove by comment; a comment shared by two keys is refused; the last key needs --force', async () => {
    await p.camera.sh(`ssh-keygen -q -t ed25519 -N '' -C second@camera -f /root/twin`);
    const twin = (await p.camera.sh('cat /root/twin.pub')).trim();
    expect((await keys(['add', '--user', USER, twin])).exitCode).toBe(0);
    const ambiguous = await keys(['remove', '--user', USER, 'second@camera']);
    expect(ambiguous.exitCode).toBe(2);
    expect(ambiguous.stderr).toMatch(/comment "second@camera" matches 2 different keys.*give the fingerprint/);
    const twinFp = (await p.camera.sh('ssh-keygen -lf /root/twin.pub | cut -d" " -f2')).trim();
    expect((await keys(['remove', '--user', USER, twinFp])).exitCode).toBe(0);

    const before = await snapshot(p.collector, ['/etc']);
    const last = await keys(['remove', '--user', USER, 'second@camera']);
    expect(last.exitCode).toBe(2);
    expect(last.stderr).toMatch(/is the last key of allsky-upload.*--force/);
    expect(await snapshot(p.collector, ['/etc'])).toBe(before);
    expect((await loginWith('second')).ok).toBe(true);

    const dry = await keys(['remove', '--user', USER, '--force', '--dry-run', 'second@camera']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(`-restrict,from="${p.cameraAddr}/32" ${pubs.second}`);
    expect(await snapshot(p.collector, ['/etc'])).toBe(before);

    const forced = await keys(['remove', '--user', USER, '--force', 'second@camera']);
    expect(forced.exitCode).toBe(0);
    expect((await loginWith('second')).ok).toBe(false);
    expect((await listJson()).keys).toEqual([]);
    // Backed up before the change.
    expect(await p.collector.sh(`grep -l second@camera /var/backups/sftp-setup/*${KEYS_FILE} | wc -l`)).not.toBe('0\n');
  });
});

/**
 * src/system/safe-fs.ts inside a throwaway host: trees whose owner plants links must never lead root's
 * operations outside the tree, nor into another filesystem. Each case runs the built module in the host
 * with a small script and then looks at the victims.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { startHost, type ThrowawayHost } from '../../src/system/hosts.js';
import { uniqueName } from './helpers.js';

const MODULE = fileURLToPath(new URL('../../dist/system/safe-fs.js', import.meta.url));
const FILES = fileURLToPath(new URL('../../dist/system/files.js', import.meta.url));

describe('safe-fs: operations in a tree someone else writes to', () => {
  let h: ThrowawayHost;
  /** Run `body` (an async function body using `s`, the module) inside the host; prints what it returns. */
  const inHost = async (body: string) => {
    const script = `Promise.all([import(${JSON.stringify(MODULE)}), import(${JSON.stringify(FILES)})]).then(async ([s, f]) => { const r = await (async () => { ${body} })(); process.stdout.write(JSON.stringify(r ?? null)); })` +
      `.catch((e) => { process.stdout.write(JSON.stringify({ error: e.code ?? e.message })); });`;
    const r = await h.run(['node', '--input-type=module', '-e', script]);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const victims = () => h.sh('stat -c "%n %u:%g %a %s %Y" /etc/victim /etc/victim-dir /etc/victim-dir/keep; sha256sum /etc/victim /etc/victim-dir/keep');

  beforeAll(async () => {
    h = await startHost(uniqueName('safefs'));
    await h.sh('echo secret > /etc/victim && chmod 0600 /etc/victim && mkdir -m 0755 /etc/victim-dir && echo keep > /etc/victim-dir/keep');
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('removeFile on a read-only filesystem: a name that is not there counts as removed (a rollback of a file never made), one that is there fails', async () => {
    await h.sh('mkdir -p /srv/ro && mount -t tmpfs tmpfs /srv/ro && echo x > /srv/ro/present && mount -o remount,ro /srv/ro');
    try {
      expect(await inHost(`return f.removeFile('/srv/ro/never-made');`)).toBeNull();
      expect((await inHost(`return f.removeFile('/srv/ro/present');`)).error).toMatch(/read-only/);
      expect(await h.sh('cat /srv/ro/present')).toBe('x\n');
    } finally {
      await h.sh('umount /srv/ro && rmdir /srv/ro');
    }
  });

  it('removeTree removes links, never their targets, and leaves mount points below the tree', async () => {
    const before = await victims();
    await h.sh(`mkdir -p /srv/t/a/b /srv/t/m && echo x > /srv/t/a/b/f && ln -s /etc/victim-dir /srv/t/a/dirlink && ln -s /etc/victim /srv/t/a/b/filelink` +
      ` && mount -t tmpfs tmpfs /srv/t/m && echo y > /srv/t/m/other`);
    const r = await inHost(`return s.removeTree('/srv/t');`);
    expect(r.skipped).toEqual(['/srv/t/m']);
    expect(await victims()).toBe(before);
    expect(await h.sh('find /srv/t | sort')).toBe('/srv/t\n/srv/t/m\n/srv/t/m/other\n');
    await h.sh('umount /srv/t/m');
    const again = await inHost(`return s.removeTree('/srv/t');`);
    expect(again).toEqual({ removed: 2, skipped: [] });
    expect(await h.sh('ls /srv')).not.toContain('t');
  });

  it('ensureDirBeneath never follows a planted link, at any depth, and sets owner and mode by descriptor', async () => {
    const before = await victims();
    await h.sh('mkdir -p /srv/u/images && ln -s /etc/victim-dir /srv/u/images/videos && ln -s /etc/victim /srv/u/images/keograms');
    const deep = await inHost(`return s.ensureDirBeneath('/srv/u', 'images/videos/thumbnails', { mode: 0o755, uid: 65534, gid: 65534 });`);
    expect(deep.error).toMatch(/ELOOP|ENOTDIR/);
    const last = await inHost(`return s.ensureDirBeneath('/srv/u', 'images/keograms', { mode: 0o755, uid: 65534, gid: 65534 });`);
    expect(last.error).toMatch(/ELOOP|ENOTDIR/);
    expect(await victims()).toBe(before);
    const made = await inHost(`return s.ensureDirBeneath('/srv/u', 'images/startrails/new', { mode: 0o755, uid: 65534, gid: 65534 });`);
    expect(made).toEqual(['/srv/u/images/startrails', '/srv/u/images/startrails/new']);
    expect(await h.sh('stat -c "%u:%g %a" /srv/u/images/startrails /srv/u/images/startrails/new')).toBe('65534:65534 755\n65534:65534 755\n');
  });

  it('walkTree lists links as links, never what they point to, and chmodAt refuses an entry swapped since', async () => {
    await h.sh('mkdir -p /srv/w/a && ln -s /etc /srv/w/a/etc && echo x > /srv/w/a/f && chmod 4777 /srv/w/a/f && mkfifo /srv/w/a/fifo');
    const r = await inHost(`const w = await s.walkTree('/srv/w'); return w.entries.map((e) => [e.rel, e.type, e.mode.toString(8)]);`);
    expect(r).toEqual([['a', 'dir', '755'], ['a/etc', 'symlink', '777'], ['a/f', 'file', '4777'], ['a/fifo', 'other', '644']]);
    const fixed = await inHost(
      `let out = []; await s.walkTree('/srv/w', {}, async (e, dir, name) => { if (e.type !== 'dir') out.push([name, await s.chmodAt(dir, name, e, e.mode & ~0o7022)]); }); return out;`,
    );
    expect(fixed).toEqual([['etc', false], ['f', true], ['fifo', false]]);
    expect(await h.sh('stat -c %a /srv/w/a/f /etc')).toBe('755\n755\n');
  });

  it('chownAt changes only the entry seen: never through a link, never a file of two names, never one swapped since', async () => {
    const before = await victims();
    await h.sh('mkdir -p /srv/o/d && ln -s /etc/victim /srv/o/link && ln -s /etc/victim-dir /srv/o/dirlink && echo x > /srv/o/f' +
      ' && echo y > /srv/o/two && ln /srv/o/two /srv/o-second && mkfifo /srv/o/fifo && echo z > /srv/o/swapped');
    const r = await inHost(
      `let out = []; await s.walkTree('/srv/o', {}, async (e, dir, name) => {` +
      ` if (name === 'swapped') { await f.writeFileAtomic('/srv/o/swapped', 'new', { mode: 0o644, uid: 0, gid: 0 }); }` +
      ` out.push([name, await s.chownAt(dir, name, e, { uid: 65534, gid: 65534 })]); }); return out;`,
    );
    expect(r).toEqual([['d', true], ['dirlink', false], ['f', true], ['fifo', false], ['link', false], ['swapped', false], ['two', false]]);
    expect(await h.sh('stat -c "%U %n" /srv/o/d /srv/o/f /srv/o/two /srv/o/swapped /srv/o/link')).toBe('nobody /srv/o/d\nnobody /srv/o/f\nroot /srv/o/two\nroot /srv/o/swapped\nroot /srv/o/link\n');
    expect(await victims()).toBe(before);
  });

  it('restoreDirTimes puts nanosecond times back through descriptors, and not through a swapped link', async () => {
    await h.sh('mkdir -p /srv/r/d && touch -m -d @1700000000.123456789 /srv/r/d && touch -m -d @1600000000 /etc/victim-dir');
    const ns = await inHost(`const t = await s.dirTimeNs('/srv/r', 'd'); await s.restoreDirTimes([{ root: '/srv/r', rel: 'd', mtimeNs: t + 5n }]); return String(await s.dirTimeNs('/srv/r', 'd'));`);
    expect(ns).toBe('1700000000123456794');
    await h.sh('mv /srv/r/d /srv/r/d.real && ln -s /etc/victim-dir /srv/r/d');
    await inHost(`await s.restoreDirTimes([{ root: '/srv/r', rel: 'd', mtimeNs: 1234567890000000000n }]);`);
    expect(await h.sh('stat -c %Y /etc/victim-dir')).toBe('1600000000\n');
  });

  it('readFileAt and createFileAt refuse links and FIFOs without hanging', async () => {
    await h.sh('mkdir -p /srv/f && ln -s /etc/victim /srv/f/link && mkfifo /srv/f/fifo');
    const r = await inHost(
      `const d = await s.openDirBeneath('/srv/f'); const out = [];` +
        ` for (const n of ['link', 'fifo']) out.push(await s.readFileAt(d, n).then(() => 'read', (e) => e.code));` +
        ` out.push(await s.createFileAt(d, 'link', 'x', { mode: 0o644 }).then(() => 'made', (e) => e.code));` +
        ` await s.createFileAt(d, 'new', 'data', { mode: 0o640, uid: 65534, gid: 65534 }); await d.close(); return out;`,
    );
    expect(r).toEqual(['ELOOP', 'EINVAL', 'EEXIST']);
    expect(await h.sh('stat -c "%u:%g %a %s" /srv/f/new; cat /etc/victim')).toBe('65534:65534 640 4\nsecret\n');
  });
  it('lstatBeneath and rmdirBeneath never look or act through a parent swapped for a link; walkTree says what it did not enter', async () => {
    await h.sh('mkdir -p /srv/b/a/d/e/f /etc/victim-dir/empty && ln -s /etc/victim-dir /srv/b/l');
    const r = await inHost(
      `const out = [];` +
        ` out.push((await s.lstatBeneath('/srv/b', 'a/d')).isDirectory());` +
        ` out.push(await s.lstatBeneath('/srv/b', 'a/missing/x'));` +
        ` out.push(await s.lstatBeneath('/srv/b', 'l/keep').then(() => 'looked through', (e) => e.code));` +
        ` out.push(await s.rmdirBeneath('/srv/b', 'l/empty'));` +
        ` out.push(await s.rmdirBeneath('/srv/b', 'a/d/e/f'));` +
        ` const w = await s.walkTree('/srv/b', { maxDepth: 2 }); out.push(w.entries.map((e) => e.rel), w.deeper, w.truncated);` +
        ` const c = await s.walkTree('/srv/b', { maxEntries: 2 }); out.push(c.entries.length, c.truncated); return out;`,
    );
    expect(r).toEqual([true, null, 'ENOTDIR', false, true, ['a', 'a/d', 'l'], true, false, 2, true]);
    expect(await h.sh('ls -d /etc/victim-dir/empty /srv/b/a/d/e; ls /srv/b/a/d/e | wc -l')).toBe('/etc/victim-dir/empty\n/srv/b/a/d/e\n0\n');
  });

  it('a link or a mount point in the middle of a path stops the walk down, as at its end (openDirBeneath, openDirTrusted)', async () => {
    await h.sh('mkdir -p /srv/w/a/b /srv/w/m /etc/victim-dir/sub && ln -s /etc/victim-dir /srv/w/l && mount -t tmpfs tmpfs /srv/w/m && mkdir /srv/w/m/sub' +
      ' && useradd -m eve && su -s /bin/sh eve -c "ln -s /etc /home/eve/etc-mid"' +
      ' && ln -sfn /etc /srv/w/rootlink');
    const before = await victims();
    try {
      const r = await inHost(
        `const code = (p) => p.then(() => 'entered', (e) => (e.message.includes('symbolic link owned by uid') ? 'refused-link' : e.code));` +
          ` return [` +
          ` await code(s.withDir('/srv/w', 'l/sub', async () => {})),` +
          ` await code(s.lstatBeneath('/srv/w', 'l/sub/x')),` +
          ` await code(s.withDir('/srv/w', 'm/sub', async () => {})),` +
          ` await code(s.withDir('/srv/w', 'm', async () => {})),` +
          ` await code(s.withDir('/srv/w', 'a/b', async () => {})),` +
          ` await code(f.readText('/home/eve/etc-mid/victim-dir/keep')),` +
          ` await f.readText('/srv/w/rootlink/victim-dir/keep'),` +
          ` ];`,
      );
      expect(r).toEqual(['ENOTDIR', 'ENOTDIR', 'EXDEV', 'EXDEV', 'entered', 'refused-link', 'keep\n']);
      expect(await victims()).toBe(before);
    } finally {
      await h.sh('umount /srv/w/m');
    }
  });

  it('files.ts reads, writes, removes and makes directories through root\'s links only, never a user\'s', async () => {
    const before = await victims();
    await h.sh('useradd -m mallory && mkdir -p /srv/home && ln -s /etc /srv/home/rootlink' +
      ' && su -s /bin/sh mallory -c "ln -s /etc /home/mallory/etc; ln -s /etc/victim /home/mallory/victim; mkfifo /home/mallory/fifo"');
    const r = await inHost(
      `const out = {}; const t = (k, p) => p.then(() => { out[k] = 'done'; }, (e) => { out[k] = e.message.includes('symbolic link owned by uid') ? 'refused-link' : e.message; });` +
        ` await t('writeThroughDir', f.writeFileAtomic('/home/mallory/etc/victim', 'owned', { mode: 0o644 }));` +
        ` await t('readLink', f.readText('/home/mallory/victim'));` +
        ` await t('inPlace', f.writeFileInPlace('/home/mallory/victim', 'owned'));` +
        ` await t('mkdirThrough', f.ensureDir('/home/mallory/etc/victim-dir', 0o777, 1000, 1000));` +
        ` await t('removeThrough', f.removeFile('/home/mallory/etc/victim'));` +
        ` await t('fifo', f.readText('/home/mallory/fifo'));` +
        ` out.rootLink = await f.readText('/srv/home/rootlink/victim'); return out;`,
    );
    expect(r).toEqual({
      writeThroughDir: 'refused-link', readLink: 'refused-link', inPlace: 'refused-link', mkdirThrough: 'refused-link',
      removeThrough: 'refused-link', fifo: expect.stringContaining('not a regular file'), rootLink: 'secret\n',
    });
    expect(await victims()).toBe(before);
  });

  it('writeFileAtomic removes the temporary file a killed run left for the same name, and only that', async () => {
    await h.sh('mkdir -p /srv/k && touch /srv/k/.f.sftp-setup-99999.tmp /srv/k/.g.sftp-setup-99999.tmp /srv/k/.f.sftp-setup-x.tmp');
    await inHost(`await f.writeFileAtomic('/srv/k/f', 'new', { mode: 0o644 });`);
    expect(await h.sh('ls -A /srv/k | sort')).toBe('.f.sftp-setup-x.tmp\n.g.sftp-setup-99999.tmp\nf\n');
  });

  it('Journal rolls back newest first: a directory removed after its files is made again before they return', async () => {
    await h.sh('mkdir -p /srv/j/.ssh && echo key > /srv/j/.ssh/authorized_keys');
    const r = await inHost(
      `const fs = await import('node:fs/promises'); const j = new f.Journal('/srv/j-backups');` +
        ` await j.remove('/srv/j/.ssh/authorized_keys'); await fs.rmdir('/srv/j/.ssh');` +
        ` j.onRollback(() => f.ensureDir('/srv/j/.ssh', 0o700, 0, 0));` +
        ` return j.rollback();`,
    );
    expect(r).toEqual([]);
    expect(await h.sh('stat -c %a /srv/j/.ssh; cat /srv/j/.ssh/authorized_keys')).toBe('700\nkey\n');
  });
});


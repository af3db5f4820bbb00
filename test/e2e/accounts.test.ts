/**
 * src/system/accounts.ts in a throwaway host: what it reads from /etc/passwd, /etc/group and /etc/shadow is
 * what getent and id say, and it runs getent only where /etc/nsswitch.conf lets other sources answer.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type ThrowawayHost } from '../../src/system/hosts.js';
import { uniqueName } from './helpers.js';

const MODULE = fileURLToPath(new URL('../../dist/system/accounts.js', import.meta.url));

describe('account look-ups', () => {
  let h: ThrowawayHost;

  /** Every look-up the tool makes, through the module; with the programs it ran (SFTP_SETUP_TRACE). */
  const lookups = async () => {
    const script = `import(${JSON.stringify(MODULE)}).then(async (a) => { const out = {}; for (const n of ['acct-a', 'acct-b', 'root', 'nobody-here', '1201', '0']) {` +
      ` out[n] = { account: await a.getAccount(n), password: await a.passwordField(n), groups: await a.groupsOf(n), gid: await a.groupId(n) }; }` +
      ` out.all = (await a.listAccounts()).map((x) => x.name + ':' + x.uid + ':' + x.home); out.gids = await a.listGroupIds(); process.stdout.write(JSON.stringify(out)); })`;
    const r = await h.run(['node', '--input-type=module', '-e', script], { env: { SFTP_SETUP_TRACE: '1' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const ran = r.stderr.split('\n').filter((l) => l.startsWith('[trace]')).map((l) => l.replace(/^\[trace\] \d+ms /, '').replace(/ -> \d+$/, ''));
    return { out: JSON.parse(r.stdout) as Record<string, unknown>, ran };
  };
  /** The same questions asked of getent and id. */
  const fromGetent = async () => {
    const out: Record<string, unknown> = {};
    const field = async (args: string[], n: number) => {
      const r = await h.run(['getent', ...args]);
      return r.exitCode === 0 ? r.stdout.trim().split('\n')[0]!.split(':')[n] : undefined;
    };
    for (const n of ['acct-a', 'acct-b', 'root', 'nobody-here', '1201', '0']) {
      const p = await h.run(['getent', 'passwd', n]);
      const f = p.stdout.trim().split(':');
      const id = await h.run(['id', '-Gn', n]);
      const gid = await field(['group', n], 2);
      out[n] = {
        account: p.exitCode === 0 ? { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] } : null,
        password: await field(['shadow', n], 1),
        groups: id.exitCode === 0 ? id.stdout.trim().split(/\s+/) : [],
        gid: gid === undefined ? undefined : Number(gid),
      };
    }
    out.all = (await h.sh('getent passwd')).trim().split('\n').map((l) => { const f = l.split(':'); return `${f[0]}:${f[2]}:${f[5]}`; });
    out.gids = (await h.sh('getent group')).trim().split('\n').map((l) => Number(l.split(':')[2]));
    return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
  };

  beforeAll(async () => {
    h = await startHost(uniqueName('accounts'));
    await h.sh('groupadd -g 1300 extra-one && groupadd -g 1301 extra-two && useradd -u 1201 -d /srv/a -s /usr/sbin/nologin acct-a' +
      ' && useradd -u 1202 -G extra-one,extra-two -d /srv/b acct-b && usermod -p "*" acct-a');
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('files first (Debian\'s "files systemd"): look-ups read the files, listings ask getent', async () => {
    await h.sh('printf "passwd: files systemd\\ngroup: files systemd\\nshadow: files systemd\\n" > /etc/nsswitch.conf');
    const { out, ran } = await lookups();
    expect(out).toEqual(await fromGetent());
    // Only what the files cannot answer: names they do not hold, group lists (systemd may add), listings.
    expect([...new Set(ran)].sort()).toEqual([
      'getent group', 'getent group nobody-here', 'getent passwd', 'getent passwd nobody-here',
      'getent shadow 0', 'getent shadow 1201', 'getent shadow nobody-here',
      'id -Gn 0', 'id -Gn 1201', 'id -Gn acct-a', 'id -Gn acct-b', 'id -Gn nobody-here', 'id -Gn root',
    ]);
  });

  it('files alone: nothing runs but the look-ups of a name no file holds', async () => {
    await h.sh('printf "passwd: files\\ngroup: files\\nshadow: files\\n" > /etc/nsswitch.conf');
    const { out, ran } = await lookups();
    expect(out).toEqual(await fromGetent());
    expect([...new Set(ran)].sort()).toEqual([
      'getent group nobody-here', 'getent passwd nobody-here', 'getent shadow 0', 'getent shadow 1201', 'getent shadow nobody-here',
      'id -Gn 0', 'id -Gn 1201', 'id -Gn nobody-here',
    ]);
  });

  it('another source first: getent and id answer everything', async () => {
    await h.sh('printf "passwd: systemd files\\ngroup: systemd files\\nshadow: systemd files\\n" > /etc/nsswitch.conf');
    const { out, ran } = await lookups();
    expect(out).toEqual(await fromGetent());
    expect(ran).toEqual(expect.arrayContaining(['getent passwd acct-a', 'getent shadow acct-a', 'getent group acct-a', 'id -Gn acct-b', 'getent passwd', 'getent group']));
  });
});

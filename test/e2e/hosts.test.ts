import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkHosts, startHost, type ThrowawayHost } from '../../src/system/hosts.js';
import { run } from '../../src/system/exec.js';

describe('throwaway hosts', () => {
  let a: ThrowawayHost;
  let b: ThrowawayHost;
  beforeAll(async () => {
    [a, b] = await Promise.all([startHost('collector'), startHost('camera')]);
    await linkHosts(a, b);
    await a.startSshd();
  });
  afterAll(async () => {
    await Promise.all([a?.destroy(), b?.destroy()]);
  });

  it('keeps changes inside the host', async () => {
    await a.sh('useradd --system hosttest-user && echo marker > /etc/hosttest-marker');
    expect((await a.sh('getent passwd hosttest-user')).length).toBeGreaterThan(0);
    expect((await b.run(['getent', 'passwd', 'hosttest-user'])).exitCode).toBe(2);
    expect((await run('getent', ['passwd', 'hosttest-user'])).exitCode).toBe(2);
    expect((await run('test', ['-e', '/etc/hosttest-marker'])).exitCode).toBe(1);
  });

  it('reaches the other host over the link and sees its own host key', async () => {
    const scanned = await b.sh('ssh-keyscan -T 5 -t ed25519 collector 2>/dev/null | grep -v "^#"');
    const own = await a.sh('cat /etc/ssh/ssh_host_ed25519_key.pub');
    expect(scanned.split(' ')[2]?.trim()).toBe(own.split(' ')[1]);
    expect((await b.sh('hostname')).trim()).toBe('camera');
  });

  it('is gone after destroy', async () => {
    const h = await startHost('gone');
    const pid = h.pid;
    await h.destroy();
    expect((await run('kill', ['-0', String(pid)])).exitCode).not.toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { analyseLog, logChecks, refusedGreeting } from '../../src/doctor/logs.js';
import { listeningPorts, ufwAllows } from '../../src/doctor/network.js';
import { matchBlocks, profileOf, uploadBlocks } from '../../src/doctor/collector-context.js';
import { loadConfig } from '../../src/sshd/includes.js';

const U = 'allsky-upload';

describe('analyseLog', () => {
  it('names a PerSourcePenalties block of an address that tried this account, with the exemption and sshd\'s max', () => {
    const log = [
      `Failed publickey for ${U} from 10.0.0.2 port 1 ssh2: ED25519 SHA256:abc`,
      `Connection closed by authenticating user ${U} 10.0.0.2 port 1 [preauth]`,
      'drop connection #0 from [10.0.0.2]:55940 on [10.0.0.1]:22 penalty: failed authentication',
      'drop connection #0 from [192.0.2.9]:4000 on [10.0.0.1]:22 penalty: failed authentication',
    ];
    const f = analyseLog(log, U, 'crash:90 authfail:5 noauth:1 max:600 min:15');
    expect(f).toHaveLength(1);
    expect(f[0]!.addr).toBe('10.0.0.2');
    expect(f[0]!.ok).toBe(false);
    expect(f[0]!.cause).toMatch(/^sshd's PerSourcePenalties refuses new connections from 10\.0\.0\.2 for a while \(penalty: failed authentication\)/);
    expect(f[0]!.fix).toMatch(/wait \(up to 600s\).*"PerSourcePenaltyExemptList 10\.0\.0\.2" to \/etc\/ssh\/sshd_config before any Match block/);
    expect(f[0]!.lines).toEqual([log[0], log[2]]);
    const [check] = logChecks(U, '/var/log/auth.log', log, 'max:600');
    expect(check).toMatchObject({ status: 'fail', title: `latest login of ${U} from 10.0.0.2 failed` });
    // A later accepted login from there clears it.
    expect(analyseLog([...log, `Accepted publickey for ${U} from 10.0.0.2 port 9 ssh2: ED25519 SHA256:abc`], U)[0]!.ok).toBe(true);
  });

  it('reads syslog lines from sshd-session and sshd-auth (OpenSSH 9.8+ and 10) like sshd\'s', () => {
    for (const prog of ['sshd', 'sshd-session', 'sshd-auth']) {
      const [f] = analyseLog([
        `Nov 30 04:00:00 collector ${prog}[812]: /etc/keys/${U}:2: Authentication tried for ${U} with correct key but not from a permitted host (host=10.0.0.2, ip=10.0.0.2, required=10.9.9.9).`,
        `Nov 30 04:00:00 collector ${prog}[812]: Failed publickey for ${U} from 10.0.0.2 port 5 ssh2: ED25519 SHA256:abc`,
      ], U);
      expect(f!.cause, prog).toContain('from="10.9.9.9", and this client connects from 10.0.0.2');
      const [g] = analyseLog([`Nov 30 04:00:00 collector ${prog}[812]: Accepted publickey for ${U} from 10.0.0.3 port 2 ssh2: ED25519 SHA256:d`], U);
      expect(g, prog).toMatchObject({ addr: '10.0.0.3', ok: true });
    }
  });

  it('tells sshd\'s PerSourcePenalties refusal from other answers that are not a greeting', () => {
    expect(refusedGreeting('Not allowed at this time\r\n')?.reason).toMatch(/PerSourcePenalties/);
    expect(refusedGreeting('Not allowed at this time\r\n')?.fix).toMatch(/PerSourcePenaltyExemptList/);
    expect(refusedGreeting('HTTP/1.1 400 Bad Request\r\n')).toBeUndefined();
    expect(refusedGreeting('SSH-2.0-OpenSSH_10.0p2\r\n')).toBeUndefined();
  });

  it('keeps the latest attempt per address: a later success clears an earlier failure', () => {
    const f = analyseLog([
      `Failed publickey for ${U} from 10.0.0.2 port 1 ssh2: ED25519 SHA256:abc`,
      `Accepted publickey for ${U} from 10.0.0.2 port 2 ssh2: ED25519 SHA256:def`,
      'Changed root directory to "/srv/u"',
    ], U);
    expect(f).toEqual([expect.objectContaining({ addr: '10.0.0.2', ok: true })]);
  });

  it('names a from= restriction with the address and a sed fix for that line', () => {
    const [f] = analyseLog([
      `/etc/keys/${U}:2: Authentication tried for ${U} with correct key but not from a permitted host (host=10.0.0.2, ip=10.0.0.2, required=10.9.9.9).`,
      'Refused by key options',
      `Failed publickey for ${U} from 10.0.0.2 port 5 ssh2: ED25519 SHA256:abc`,
      `Connection closed by authenticating user ${U} 10.0.0.2 port 5 [preauth]`,
    ], U);
    expect(f!.ok).toBe(false);
    expect(f!.cause).toContain('from="10.9.9.9", and this client connects from 10.0.0.2');
    expect(f!.fix).toBe(`sudo sed -i '2s|from="10.9.9.9"|from="10.9.9.9,10.0.0.2"|' /etc/keys/${U}`);
  });

  it('ties a chroot refusal to the login just accepted, and bad modes to the next failure', () => {
    const f = analyseLog([
      `Accepted publickey for ${U} from 10.0.0.3 port 2 ssh2: ED25519 SHA256:def`,
      'User child is on pid 9',
      'bad ownership or modes for chroot directory component "/srv/"',
      'Authentication refused: bad ownership or modes for file /etc/keys/u',
      `Failed publickey for ${U} from 10.0.0.4 port 3 ssh2: ED25519 SHA256:xyz`,
      `Failed publickey for other from 10.0.0.5 port 3 ssh2: ED25519 SHA256:xyz`,
    ], U);
    expect(f.find((x) => x.addr === '10.0.0.3')?.cause).toMatch(/refused the chroot/);
    expect(f.find((x) => x.addr === '10.0.0.4')?.fix).toBe('sudo chown root:root /etc/keys/u && sudo chmod go-w /etc/keys/u');
    expect(f.find((x) => x.addr === '10.0.0.5')).toBeUndefined();
  });

  it('a locked account', () => {
    const [f] = analyseLog([`User ${U} from 10.0.0.2 not allowed because account is locked`], U);
    expect(f!.fix).toBe(`sudo usermod --password '*' ${U}`);
  });
});

describe('network readers', () => {
  it('reads LISTEN sockets from /proc/net/tcp', () => {
    const t = '  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A 0\n   1: 0100007F:1F90 0100007F:D000 01 0\n';
    expect([...listeningPorts([t])]).toEqual([22]);
  });
  it('reads ufw status', () => {
    expect(ufwAllows('Status: inactive\n', 22)).toBe('inactive');
    expect(ufwAllows('Status: active\n\nTo   Action  From\n--   ------  ----\n22/tcp   ALLOW   Anywhere\n', 22)).toBe(true);
    expect(ufwAllows('Status: active\n\nTo   Action  From\nOpenSSH   ALLOW   Anywhere\n', 22)).toBe(true);
    expect(ufwAllows('Status: active\n\nTo   Action  From\n80/tcp   ALLOW   Anywhere\n', 22)).toBe(false);
  });
});

describe('upload accounts in the sshd config', () => {
  it('finds Match User blocks that chroot and force internal-sftp, by hand or by init', () => {
    const files: Record<string, string> = {
      '/etc/ssh/sshd_config': 'Include /etc/ssh/sshd_config.d/*.conf\nMatch User guide\n  ChrootDirectory /srv/%u\n  ForceCommand internal-sftp\nMatch User admin\n  X11Forwarding no\n',
      '/etc/ssh/sshd_config.d/50-sftp-setup-up.conf': '# Managed by sftp-setup\nMatch User up\n  ChrootDirectory /var/lib/up\n  ForceCommand internal-sftp -u 0022 -p open,write,remove,rename\n',
    };
    const io = { read: (p: string) => files[p] ?? null, glob: (p: string) => Object.keys(files).filter((f) => f.startsWith(p.replace('*.conf', ''))) };
    const blocks = matchBlocks(loadConfig('/etc/ssh/sshd_config', io), io.read);
    const ups = uploadBlocks(blocks);
    expect(ups.map((u) => [u.user, u.block.managed])).toEqual([['up', true], ['guide', false]]);
    expect(profileOf('internal-sftp -u 0022 -p open,write,remove,rename')).toBe('allsky');
    expect(profileOf('internal-sftp -p open,write')).toBe('dropbox');
    expect(profileOf('internal-sftp')).toBe('allsky');
  });
});

describe('linesFor (a fleet reads the log once)', () => {
  it('analyseLog over the lines that concern a user finds what it finds over the whole log', async () => {
    const fc = (await import('fast-check')).default;
    const { linesFor, sharedLines } = await import('../../src/doctor/logs.js');
    const users = ['cam1', 'cam10', 'allsky-upload'];
    const user = fc.constantFrom(...users, 'other');
    const addr = fc.constantFrom('10.0.0.2', '10.0.0.3');
    const line = fc.oneof(
      fc.tuple(user, addr).map(([u, a]) => `Accepted publickey for ${u} from ${a} port 1 ssh2: ED25519 SHA256:k`),
      fc.tuple(user, addr).map(([u, a]) => `Failed publickey for ${u} from ${a} port 1 ssh2: ED25519 SHA256:k`),
      fc.tuple(user, addr).map(([u, a]) => `Connection closed by authenticating user ${u} ${a} port 1 [preauth]`),
      fc.tuple(user, addr).map(([u, a]) => `User ${u} from ${a} not allowed because account is locked`),
      user.map((u) => `Could not open user '${u}' authorized keys '/k/${u}': Permission denied`),
      fc.constant('Authentication refused: bad ownership or modes for directory /etc/ssh/sftp-setup'),
      fc.constant('bad ownership or modes for chroot directory "/srv/x"'),
      fc.constant('Changed root directory to "/srv/x"'),
      addr.map((a) => `drop connection #0 from [${a}]:1 on [10.0.0.1]:22 penalty: failed authentication`),
    );
    fc.assert(fc.property(fc.array(line, { maxLength: 30 }), (log) => {
      const shared = sharedLines(log);
      for (const u of users) expect(analyseLog(linesFor(u, log, shared), u, 'max:600')).toEqual(analyseLog(log, u, 'max:600'));
    }), { numRuns: 300 });
  });
});

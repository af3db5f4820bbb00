/** MaxStartups drops and PerSourcePenalties refusals, counted from the lines each OpenSSH version writes. */
import { describe, expect, it } from 'vitest';
import { formatDoctorCheck } from '../../src/doctor/check.js';
import { analyseDrops, dropChecks } from '../../src/doctor/drops.js';
import { parseSshdVersion } from '../../src/sshd/effective.js';
import { parseLogLine } from '../../src/sshd/log-lines.js';

const lines = (xs: string[]) => xs.map((x) => parseLogLine(x));
const v = (s: string) => parseSshdVersion(`OpenSSH_${s}, OpenSSL 3.0`);
const DANGEROUS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('analyseDrops', () => {
  it('OpenSSH 9.2–9.7: an episode\'s count comes from its "exited … N connections dropped" line, not its one INFO drop line', () => {
    const r = analyseDrops(lines([
      'beginning MaxStartups throttling',
      'drop connection #10 from [10.0.0.5]:40000 on [10.0.0.1]:22 past MaxStartups',
      'Accepted publickey for cam01 from 10.0.0.5 port 40001 ssh2: ED25519 SHA256:x',
      'exited MaxStartups throttling after 00:00:12, 37 connections dropped',
      '2025-06-01T10:00:00+00:00 collector sshd[1]: error: beginning MaxStartups throttling',
      '2025-06-01T10:00:00+00:00 collector sshd[1]: drop connection #12 from [10.0.0.6]:1 on [10.0.0.1]:22 past MaxStartups',
      '2025-06-01T10:05:00+00:00 collector sshd[1]: error: in MaxStartups throttling for 00:05:00, 8 connections dropped',
    ]));
    expect(r.maxStartups).toMatchObject({ dropped: 45, episodes: 2, ongoing: true });
    expect([...r.maxStartups.bySource]).toEqual([['10.0.0.5', 1], ['10.0.0.6', 1]]);
  });

  it('a read that starts inside an episode counts the drops it sees, or sshd\'s total when larger', () => {
    expect(analyseDrops(lines([
      'drop connection #10 from [10.0.0.5]:1 on [10.0.0.1]:22 past MaxStartups',
      'exited MaxStartups throttling after 00:00:03, 4 connections dropped',
    ])).maxStartups).toMatchObject({ dropped: 4, episodes: 1, ongoing: false });
  });

  it('OpenSSH 9.8–9.9 ("past Maxstartups") and 10.x ("Maxstartups", then "logging rate-limited: additional N")', () => {
    expect(analyseDrops(lines([
      'beginning MaxStartups throttling',
      'drop connection #10 from [10.0.0.5]:1 on [10.0.0.1]:22 past Maxstartups',
      'exited MaxStartups throttling after 00:00:01, 2 connections dropped',
    ])).maxStartups.dropped).toBe(2);
    const r = analyseDrops(lines([
      'drop connection #10 from [10.0.0.5]:1 on [10.0.0.1]:22 Maxstartups',
      'drop connection #11 from [10.0.0.6]:1 on [10.0.0.1]:22 Maxstartups',
      'Maxstartups logging rate-limited: additional 20 connections dropped',
    ]));
    expect(r.maxStartups).toMatchObject({ dropped: 22, episodes: 0 });
  });

  it('counts penalty refusals per address and reason (9.8+), the full table, and 10.1\'s INFO penalty lines', () => {
    const r = analyseDrops(lines([
      'Connection closed by authenticating user cam07 10.0.0.7 port 1 [preauth]',
      'srclimit_penalise: ipv4: new 10.0.0.7/32 active penalty of 5.000 seconds for penalty: failed authentication',
      'drop connection #0 from [10.0.0.7]:2 on [10.0.0.1]:22 penalty: failed authentication',
      'drop connection #0 from [10.0.0.7]:3 on [10.0.0.1]:22 penalty: failed authentication',
      'drop connection #0 from [192.0.2.1]:3 on [10.0.0.1]:22 penalty: attempted authentication by invalid user',
      'drop connection #0 from [192.0.2.2]:3 on [10.0.0.1]:22 too many penalised addresses',
      'PerSourcePenalties logging rate-limited: additional 5 connections dropped',
    ]), ['cam07']);
    expect(r.penalties.refused).toBe(9);
    expect(r.penalties.tableFull).toBe(1);
    expect(r.penalties.byAddr.get('10.0.0.7')).toEqual({ refused: 2, reasons: new Set(['failed authentication']) });
    expect(r.penalties.imposed.get('10.0.0.7/32')).toEqual(new Set(['failed authentication']));
    expect(r.cameraAddrs.get('10.0.0.7')).toBe('cam07');
  });

  it('a user name or another program cannot forge a drop: the pattern holds only at the start of sshd\'s own message', () => {
    const r = analyseDrops(lines([
      'Invalid user drop connection #1 from [6.6.6.6]:1 on [10.0.0.1]:22 past MaxStartups from 6.6.6.6 port 2',
      'Jun  1 10:00:00 collector logger[5]: drop connection #1 from [6.6.6.6]:1 on [10.0.0.1]:22 Maxstartups',
      'Jun  1 10:00:00 collector sshd[5]: Connection closed by authenticating user x exited MaxStartups throttling after 00:00:01, 999 connections dropped 1.2.3.4 port 1 [preauth]',
    ]));
    expect(r.maxStartups.dropped).toBe(0);
  });
});

describe('dropChecks', () => {
  const ctx = { version: v('9.2p1'), maxStartups: '10:30:100', users: ['cam01'] };

  it('passes with none, naming the source and the setting; warns with the count, the sources and a fix', () => {
    const [ok] = dropChecks({ source: '/var/log/sshd.log (sshd -E)', lines: [] }, ctx);
    expect(ok).toMatchObject({ id: 'sshd.drops', status: 'pass', evidence: ['none in /var/log/sshd.log (sshd -E); MaxStartups 10:30:100'] });
    const [bad] = dropChecks({ source: 'journalctl -u ssh', lines: lines([
      '1748772000.0 c sshd[1]: drop connection #10 from [10.0.0.5]:1 on [10.0.0.1]:22 Maxstartups',
      '1748772060.0 c sshd[1]: Maxstartups logging rate-limited: additional 6 connections dropped',
    ]) }, ctx);
    expect(bad!.status).toBe('warn');
    expect(bad!.evidence[0]).toBe('7 connection(s) dropped in journalctl -u ssh (2025-06-01 10:00:00 UTC to 2025-06-01 10:01:00 UTC); MaxStartups 10:30:100');
    expect(bad!.evidence[1]).toBe('addresses in sshd\'s drop lines: 10.0.0.5 (1)');
    expect(bad!.fix).toMatch(/MaxStartups START:30:FULL/);
  });

  it('lists the most frequent addresses first, ties in code-point order, at most five', () => {
    const drop = (addr: string) => `1748772000.0 c sshd[1]: drop connection #10 from [${addr}]:1 on [10.0.0.1]:22 Maxstartups`;
    const addrs = ['9.0.0.1', '10.0.0.2', '10.0.0.2', '100.0.0.1', '10.0.0.10', '2.0.0.1', '192.0.2.1'];
    const [bad] = dropChecks({ source: 's', lines: lines(addrs.map(drop)) }, ctx);
    expect(bad!.evidence[1]).toBe('addresses in sshd\'s drop lines: 10.0.0.2 (2), 10.0.0.10 (1), 100.0.0.1 (1), 192.0.2.1 (1), 2.0.0.1 (1), … and 1 more');
  });

  it('skips penalties before OpenSSH 9.8, and without a log says where it looked', () => {
    expect(dropChecks({ source: 's', lines: [] }, ctx)[1]).toMatchObject({ id: 'sshd.penalties', status: 'skip', reason: 'OpenSSH 9.2 has no PerSourcePenalties (9.8 and later)' });
    expect(dropChecks(undefined, ctx).map((c) => [c.id, c.status])).toEqual([['sshd.drops', 'skip'], ['sshd.penalties', 'skip']]);
  });

  it('penalised strangers pass (PerSourcePenalties doing its job); a penalised camera warns with the exemption', () => {
    const c10 = { ...ctx, version: v('10.0p2') };
    const stranger = dropChecks({ source: 's', lines: lines(['drop connection #0 from [192.0.2.1]:3 on [10.0.0.1]:22 penalty: failed authentication']) }, c10)[1]!;
    expect(stranger.status).toBe('pass');
    expect(stranger.evidence[0]).toMatch(/^1 connection\(s\) refused in s, from 1 address\(es\); none of them logged in to an upload account/);
    const camera = dropChecks({ source: 's', lines: lines([
      'Accepted publickey for cam01 from 10.0.0.7 port 1 ssh2: ED25519 SHA256:x',
      'drop connection #0 from [10.0.0.7]:3 on [10.0.0.1]:22 penalty: failed authentication',
    ]) }, c10)[1]!;
    expect(camera.status).toBe('warn');
    expect(camera.evidence[1]).toBe('10.0.0.7 (last tried cam01): 1 refused (failed authentication)');
    expect(camera.fix).toMatch(/PerSourcePenaltyExemptList 10\.0\.0\.7/);
  });

  it('prints the log\'s lines escaped: an ESC in what a client sent never reaches the terminal', () => {
    const evil = 'drop connection #10 from [10.0.0.5\x1b[2J\x1b(0\x07]:1 on [10.0.0.1]:22 Maxstartups';
    const checks = dropChecks({ source: 's\x1b[31m', lines: lines([evil]) }, ctx);
    expect(checks[0]!.status).toBe('warn');
    const shown = checks.map((c) => formatDoctorCheck(c, 80)).join('\n');
    expect(shown).toContain('10.0.0.5\\x1b[2J');
    expect(shown).not.toMatch(DANGEROUS);
  });
});

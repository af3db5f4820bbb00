import { describe, expect, it } from 'vitest';
import { addrMatchList, matchApplies, matchPattern, matchPatternList, matchRefApplies } from '../../src/sshd/match.js';

const u = { user: 'allsky-upload', groups: ['allsky-upload', 'uploaders'] };

describe('patterns (match.c)', () => {
  it('wildcards and lists with negation', () => {
    expect(matchPattern('allsky-upload', 'allsky-*')).toBe(true);
    expect(matchPattern('ab', 'a?')).toBe(true);
    expect(matchPattern('abc', 'a?')).toBe(false);
    expect(matchPattern('', '*')).toBe(true);
    expect(matchPattern('a*b', 'a\\*b')).toBe(false); // no escapes in sshd patterns
    expect(matchPatternList('bob', 'alice,bob')).toBe(1);
    expect(matchPatternList('bob', '*,!bob')).toBe(-1); // a negated match wins whatever the order
    expect(matchPatternList('bob', '!alice')).toBe(0); // negation alone never matches
    expect(matchPatternList('Bob', 'bob')).toBe(0); // users are case-sensitive
  });

  it('addresses: CIDR v4/v6, wildcards, negation, malformed entries', () => {
    expect(addrMatchList('192.168.1.5', '192.168.1.0/24')).toBe(1);
    expect(addrMatchList('192.168.2.5', '192.168.1.0/24')).toBe(0);
    expect(addrMatchList('192.168.1.5', '192.168.*')).toBe(1);
    expect(addrMatchList('192.168.1.5', '10.0.0.0/8,!192.168.1.5')).toBe(-1);
    expect(addrMatchList('192.168.1.5', '192.168.1.1/24')).toBe(-2); // host bits set
    expect(addrMatchList('2001:db8::1', '2001:db8::/32')).toBe(1);
    expect(addrMatchList('::ffff:10.1.2.3', '::ffff:10.0.0.0/104')).toBe(1);
    expect(addrMatchList('10.1.2.3', '2001:db8::/32')).toBe(0);
  });
});

describe('matchApplies', () => {
  it('User, Group, All and keyword=value forms', () => {
    expect(matchApplies(['User', 'allsky-upload'], u)).toBe('yes');
    expect(matchApplies(['user', 'allsky-*,!allsky-upload'], u)).toBe('no');
    expect(matchApplies(['Group', 'uploaders'], u)).toBe('yes');
    expect(matchApplies(['Group', 'wheel,!uploaders'], u)).toBe('no');
    expect(matchApplies(['Group', '*,!allsky-upload'], u)).toBe('no');
    expect(matchApplies(['All'], u)).toBe('yes');
    expect(matchApplies(['all', '#', 'comment'], u)).toBe('yes');
    expect(matchApplies(['User=allsky-upload'], u)).toBe('yes');
    expect(matchApplies(['User', 'bob', 'Address', '10.0.0.0/8'], u)).toBe('no');
  });

  it('maybe when the connection decides', () => {
    expect(matchApplies(['User', 'allsky-upload', 'Address', '10.0.0.0/8'], u)).toBe('maybe');
    expect(matchApplies(['Host', '*.lan'], u)).toBe('maybe');
    expect(matchApplies(['LocalPort', '2222'], u)).toBe('maybe');
    expect(matchApplies(['LocalAddress', '127.0.0.1'], u)).toBe('maybe');
    expect(matchApplies(['Address', '10.0.0.0/8'], { ...u, addr: '10.1.1.1' })).toBe('yes');
    expect(matchApplies(['Address', '10.0.0.0/8'], { ...u, addr: '11.1.1.1' })).toBe('no');
    expect(matchApplies(['Host', '*.LAN'], { ...u, host: 'Cam.lan' })).toBe('yes');
    expect(matchApplies(['LocalPort', '2222'], { ...u, localPort: 22 })).toBe('no');
    expect(matchApplies(['Group', 'x', 'Host', 'h'], u)).toBe('no'); // a 'no' beats a 'maybe'
  });

  it('malformed lines are not called harmless', () => {
    expect(matchApplies([], u)).toBe('maybe');
    expect(matchApplies(['User'], u)).toBe('maybe');
    expect(matchApplies(['All', 'User', 'x'], u)).toBe('maybe');
    expect(matchApplies(['Bogus', 'x'], u)).toBe('maybe');
    expect(matchApplies(['invalid-user'], u)).toBe('no');
  });

  it('a Match chain applies only when every level does', () => {
    const outer = { criteria: ['User', 'allsky-upload'], file: 'a', lineNo: 1 };
    expect(matchRefApplies({ criteria: ['all'], file: 'b', lineNo: 2, outer }, u)).toBe('yes');
    expect(matchRefApplies({ criteria: ['all'], file: 'b', lineNo: 2, outer: { ...outer, criteria: ['User', 'x'] } }, u)).toBe('no');
    expect(matchRefApplies(undefined, u)).toBe('yes');
  });
});

import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import sshpk from 'sshpk';
import { describe, expect, it } from 'vitest';
import {
  addKey,
  keyLine,
  listKeys,
  metaLine,
  parseAuthorizedKeys,
  removeKey,
  renderAuthorizedKeys,
} from '../../src/keys/authorized-keys.js';
import { generateEd25519 } from '../../src/keys/generate.js';
import { parseOptions, renderOptions } from '../../src/keys/options.js';
import { parsePublicKey, type ParsedKey } from '../../src/keys/parse.js';
import { usageError } from './helpers.js';

const mk = (comment: string): ParsedKey => parsePublicKey(generateEd25519(comment).publicLine, 'test');
const cam1 = mk('cam1');
const cam2 = mk('cam2');
const cam3 = mk('cam3');
const now = new Date('2026-11-23T10:00:00.123Z');
const later = new Date('2027-01-02T03:04:05Z');
const pubLine = (k: ParsedKey) => `${k.type} ${k.base64} ${k.comment}`;


describe('parse/render', () => {
  it('round-trips arbitrary text byte for byte', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(renderAuthorizedKeys(parseAuthorizedKeys(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips files made of keys, options, metadata, CRLF and garbage', () => {
    const fragment = fc.oneof(
      fc.constantFrom(
        pubLine(cam1),
        `restrict,from="10.0.0.0/24,10.0.0.9" ${pubLine(cam2)}`,
        `command="echo \\"a b\\"",no-pty ${pubLine(cam3)}`,
        metaLine(now),
        '# hand comment',
        'ssh-ed25519 AAAAbroken',
        'from="unterminated ssh-ed25519 AAAA',
        '   ',
        '\t',
        '\r',
      ),
      fc.string(),
    );
    const eol = fc.constantFrom('\n', '\r\n', '', '\r');
    const file = fc.array(fc.tuple(fragment, eol)).map((parts) => parts.map(([a, b]) => a + b).join(''));
    fc.assert(
      fc.property(file, (text) => {
        expect(renderAuthorizedKeys(parseAuthorizedKeys(text))).toBe(text);
        // listing never throws, whatever the file holds
        listKeys(text);
      }),
      { numRuns: 300 },
    );
  });

  it('classifies lines', () => {
    const text = `# hi\r\n\n${metaLine(now)}\n${pubLine(cam1)}\r\nssh-ed25519 AAAAbroken x\ngarbage here`;
    const kinds = parseAuthorizedKeys(text).lines.map((l) => l.kind);
    expect(kinds).toEqual(['other', 'other', 'meta', 'key', 'broken', 'broken']);
  });
});

describe('keyLine', () => {
  it('always restricts, and quotes from=', () => {
    expect(keyLine(cam1, {})).toBe(`restrict ${pubLine(cam1)}`);
    expect(keyLine(cam1, { from: ['10.0.0.0/24', '192.168.1.5'] })).toBe(
      `restrict,from="10.0.0.0/24,192.168.1.5" ${pubLine(cam1)}`,
    );
  });
  it('refuses from= values that would break out of the quotes', () => {
    usageError(() => keyLine(cam1, { from: ['10.0.0.1" ,command="sh'] }));
  });
});

describe('addKey', () => {
  it('appends a dated entry to an empty file', () => {
    const r = addKey('', cam1, { now });
    expect(r).toMatchObject({ changed: true, action: 'added' });
    expect(r.text).toBe(`# sftp-setup: added 2026-11-23T10:00:00Z\nrestrict ${pubLine(cam1)}\n`);
  });

  it('is idempotent', () => {
    const once = addKey('', cam1, { from: ['10.0.0.0/24'], now }).text;
    const twice = addKey(once, cam1, { from: ['10.0.0.0/24'], now: later });
    expect(twice).toEqual({ text: once, changed: false, action: 'unchanged' });
  });

  it('adds a newline to a file that lacks one, keeping the rest byte for byte', () => {
    const before = `# mine\r\n${pubLine(cam2)}`;
    const r = addKey(before, cam1, { now });
    expect(r.text.startsWith(`${before}\n`)).toBe(true);
    expect(r.text.endsWith(`restrict ${pubLine(cam1)}\n`)).toBe(true);
  });

  it('replaces the options of an existing key in place and keeps its date', () => {
    const start = addKey(`${pubLine(cam2)}\n`, cam1, { from: ['10.0.0.0/24'], now }).text + `${pubLine(cam3)}\n`;
    const r = addKey(start, cam1, { from: ['192.168.1.0/24'], now: later });
    expect(r).toMatchObject({ changed: true, action: 'updated' });
    expect(r.text).toBe(start.replace('from="10.0.0.0/24"', 'from="192.168.1.0/24"'));
    expect(listKeys(r.text).entries.find((e) => e.comment === 'cam1')).toMatchObject({
      addedAt: '2026-11-23T10:00:00Z',
      from: ['192.168.1.0/24'],
    });
  });

  it('adds restrict to a hand-written unrestricted copy of the key', () => {
    const r = addKey(`${pubLine(cam1)}\n`, cam1, { now });
    expect(r).toEqual({ text: `restrict ${pubLine(cam1)}\n`, changed: true, action: 'updated' });
  });

  it('matches the key by type and data, not by comment', () => {
    const renamed = { ...cam1, comment: 'other name' };
    expect(addKey(addKey('', cam1, { now }).text, renamed, { now }).changed).toBe(false);
  });
});

describe('removeKey', () => {
  const file =
    '# header kept\n' +
    addKey(addKey(addKey('', cam1, { now }).text, cam2, { from: ['10.0.0.5'], now }).text, cam3, { now: later }).text +
    'trailing garbage';

  it('removes by fingerprint, with its metadata line', () => {
    const r = removeKey(file, cam2.fingerprint);
    expect(r.changed).toBe(true);
    expect(r.removed.map((e) => e.key.fingerprint)).toEqual([cam2.fingerprint]);
    expect(r.text).not.toContain(cam2.base64);
    expect(r.text.split('\n').filter((l) => l.startsWith('# sftp-setup'))).toHaveLength(2);
    expect(r.text.startsWith('# header kept\n')).toBe(true);
    expect(r.text.endsWith('trailing garbage')).toBe(true);
  });

  it('removes by exact comment, and accepts a padded fingerprint', () => {
    expect(removeKey(file, 'cam3').text).not.toContain(cam3.base64);
    expect(removeKey(file, `${cam1.fingerprint}=`).removed).toHaveLength(1);
  });

  it('keeps a hand comment that is not ours above the key', () => {
    const text = `# my note\n${pubLine(cam1)}\n`;
    expect(removeKey(text, 'cam1').text).toBe('# my note\n');
  });

  it('lists what exists when nothing matches', () => {
    const e = usageError(() => removeKey(file, 'SHA256:nope'));
    expect(e.message).toMatch(/no key matches/);
    expect(e.fix).toContain(cam1.fingerprint);
    expect(e.fix).toContain('(cam2)');
    expect(usageError(() => removeKey('', 'cam1')).fix).toMatch(/no keys/);
  });

  it('asks for a fingerprint when a comment matches several keys', () => {
    const text = addKey(file, { ...mk('x'), comment: 'cam1' }, { now }).text;
    const e = usageError(() => removeKey(text, 'cam1'));
    expect(e.message).toMatch(/2 different keys/);
    expect(e.fix).toContain(cam1.fingerprint);
  });

  it('removes every copy of the same key', () => {
    const text = `${pubLine(cam1)}\nrestrict ${pubLine(cam1)}\n${pubLine(cam2)}\n`;
    const r = removeKey(text, 'cam1');
    expect(r.removed).toHaveLength(2);
    expect(r.text).toBe(`${pubLine(cam2)}\n`);
  });
});

describe('listKeys', () => {
  it('reports entries with metadata and broken key-like lines', () => {
    const rsa2048 =
      'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7' + 'A'.repeat(340) + '== short'; // bad blob: reported, not thrown
    const text =
      addKey('# c\n', cam1, { from: ['10.0.0.0/24', 'fd00::/8'], now }).text +
      `no-pty,command="x \\"y\\"" ${pubLine(cam2)}\n` +
      `ssh-ed25519 ${cam3.base64.slice(0, 20)} cut\n` +
      `${rsa2048}\n` +
      'from="a ssh-ed25519 AAAA\n';
    const { entries, problems } = listKeys(text);
    expect(entries).toEqual([
      {
        line: 3,
        fingerprint: cam1.fingerprint,
        type: 'ssh-ed25519',
        bits: 256,
        comment: 'cam1',
        options: 'restrict,from="10.0.0.0/24,fd00::/8"',
        from: ['10.0.0.0/24', 'fd00::/8'],
        addedAt: '2026-11-23T10:00:00Z',
      },
      {
        line: 4,
        fingerprint: cam2.fingerprint,
        type: 'ssh-ed25519',
        bits: 256,
        comment: 'cam2',
        options: 'no-pty,command="x \\"y\\""',
      },
    ]);
    expect(problems.map((p) => p.line)).toEqual([5, 6, 7]);
    expect(problems[0]!.problem).toMatch(/base64|truncated|malformed/);
  });

  it('lists legacy keys that the add policy would refuse', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsa = `${sshpk.parseKey(publicKey.export({ type: 'spki', format: 'pem' }), 'pem').toString('ssh').split(' ').slice(0, 2).join(' ')} old`;
    const { entries } = listKeys(`${rsa}\n`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ type: 'ssh-rsa', bits: 2048, comment: 'old' });
  });
});

describe('options', () => {
  it.each([
    ['restrict', [{ name: 'restrict' }]],
    ['from="a,b",restrict', [{ name: 'from', value: 'a,b' }, { name: 'restrict' }]],
    ['command="echo \\"hi\\"",no-pty', [{ name: 'command', value: 'echo "hi"' }, { name: 'no-pty' }]],
    ['', []],
  ])('parses %j and renders it back', (s, out) => {
    expect(parseOptions(s)).toEqual(out);
    expect(renderOptions(parseOptions(s)!)).toBe(s);
  });
  it.each(['from=a', 'from="a', 'restrict,', ',restrict', 'a b'])('rejects %j', (s) => {
    expect(parseOptions(s)).toBeUndefined();
  });
});

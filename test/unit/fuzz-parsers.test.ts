/**
 * Issue 6, "parsers fuzzed": mutation-based fuzzing seeded from the real fixtures (Debian's sshd_config and
 * the hostile tree, Allsky's settings.json and ftp-settings.sh, authorized_keys made of real keys, an lftp
 * rc). Mutations: byte flips to characters that matter to these formats, line duplication and deletion,
 * CRLF/LF changes, truncation. The generated-input properties live next to each parser's own tests; these
 * add what the real files look like after a bad edit, a crash or a Windows editor.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseConfig } from '../../src/sshd/parse.js';
import { ConfigLoadError, loadConfigDetailed } from '../../src/sshd/includes.js';
import { addKey, listKeys, parseAuthorizedKeys, removeKey, renderAuthorizedKeys } from '../../src/keys/authorized-keys.js';
import { fingerprintOfLine, parsePublicKey } from '../../src/keys/parse.js';
import { parseJsonObject, updateJsonObject } from '../../src/allsky/settings-json.js';
import { readShellVars, updateShellVars } from '../../src/allsky/ftp-settings.js';
import { mergeLftpRc } from '../../src/lftp/rc.js';
import { fixtureIO } from '../fixtures/sshd/fsio.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const allsky = (name: string) => readFileSync(new URL(`../fixtures/allsky/${name}`, import.meta.url), 'utf8');

/** Only these may escape a parser: the CLI turns them into one-line messages. */
function onlyExpected(fn: () => void, also: Array<new (...a: never[]) => Error> = []): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof UsageError || also.some((c) => err instanceof c)) return false;
    throw err;
  }
}

// ---- mutations of a real file ---------------------------------------------------------------------------
const SPECIAL = [' ', '\t', '\r', '\n', '\0', '=', '"', "'", '#', '\\', '{', '}', '[', ']', ',', ':', '$', '`', ';', '*', 'é', '\u2028', '\uFEFF'];
type Mutation =
  | { op: 'flip'; at: number; ch: string }
  | { op: 'dup' | 'del' | 'crlf' | 'lf'; line: number }
  | { op: 'truncate'; at: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), ch: fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }),
  fc.record({ op: fc.constantFrom('dup' as const, 'del' as const, 'crlf' as const, 'lf' as const), line: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function applyMutation(text: string, m: Mutation): string {
  if (m.op === 'flip') {
    if (text.length === 0) return m.ch;
    const at = m.at % text.length;
    return text.slice(0, at) + m.ch + text.slice(at + 1);
  }
  if (m.op === 'truncate') return text.slice(0, text.length === 0 ? 0 : m.at % (text.length + 1));
  const lines = text.split(/(?<=\n)/);
  if (lines.length === 0) return text;
  const i = m.line % lines.length;
  if (m.op === 'dup') lines.splice(i, 0, lines[i]!.endsWith('\n') ? lines[i]! : `${lines[i]}\n`);
  else if (m.op === 'del') lines.splice(i, 1);
  else if (m.op === 'crlf') lines[i] = lines[i]!.replace(/\r?\n$/, '\r\n');
  else lines[i] = lines[i]!.replace(/\r\n$/, '\n');
  return lines.join('');
}

/** A real file with 1–8 mutations, or none (the fixture itself is always tried too). */
const mutated = (seed: string) => fc.array(mutation, { maxLength: 8 }).map((ms) => ms.reduce(applyMutation, seed));

// ---- real keys --------------------------------------------------------------------------------------------
function realEd25519(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const len = (b: Buffer) => {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(b.length);
    return Buffer.concat([l, b]);
  };
  const wire = Buffer.concat([len(Buffer.from('ssh-ed25519')), len(raw)]);
  return `ssh-ed25519 ${wire.toString('base64')} ${comment}`;
}
const KEYS = [realEd25519('cam1@allsky'), realEd25519('cam2@allsky'), realEd25519('laptop')];
const NEW_KEY = parsePublicKey(realEd25519('new@camera'), 'test');
const NOW = new Date('2025-01-01T00:00:00Z');
const AUTHORIZED = [
  '# sftp-setup: added 2024-05-01T10:00:00Z',
  `restrict ${KEYS[0]}`,
  '',
  '# a comment by hand',
  `restrict,from="10.0.0.0/8,192.168.1.0/24" ${KEYS[1]}`,
  `${KEYS[2]}`,
  '',
].join('\n');

describe('fuzz: sshd_config reader on mutated real configs', () => {
  const debian = fixtureIO('debian12');
  const hostile = fixtureIO('hostile');
  const seeds = [debian.files['/etc/ssh/sshd_config']!, ...Object.values(hostile.files)];

  it('parseConfig never throws and joins back byte for byte', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds).chain(mutated), (text) => {
        const lines = parseConfig(text, 'f');
        expect(lines.map((l) => l.raw).join('')).toBe(text);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('loadConfig over a mutated include tree throws only a load error, and reads every line of every file', () => {
    const paths = Object.keys(hostile.files);
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.array(mutation, { minLength: 1, maxLength: 8 }), (path, ms) => {
        const files = { ...hostile.files, [path]: ms.reduce(applyMutation, hostile.files[path]!) };
        const io = { read: (p: string) => files[p] ?? null, glob: hostile.glob };
        onlyExpected(() => {
          const r = loadConfigDetailed('/etc/ssh/sshd_config', io);
          for (const d of r.directives) expect(files[d.file]).toBeDefined();
        }, [ConfigLoadError]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: authorized_keys on mutated files of real keys', () => {
  it('parse/render round-trips byte for byte; listKeys throws nothing', () => {
    fc.assert(
      fc.property(mutated(AUTHORIZED), (text) => {
        expect(renderAuthorizedKeys(parseAuthorizedKeys(text))).toBe(text);
        listKeys(text);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('addKey keeps every existing line as it was and only appends', () => {
    fc.assert(
      fc.property(mutated(AUTHORIZED), (text) => {
        onlyExpected(() => {
          const r = addKey(text, NEW_KEY, { now: NOW });
          if (!r.changed) return;
          // The old text stays, at most with a line end added to an unterminated last line.
          const kept = r.text.startsWith(text) || r.text.startsWith(`${text}\n`) || r.text.startsWith(`${text}\r\n`);
          expect(kept, JSON.stringify({ text, out: r.text })).toBe(true);
          expect(r.text).toContain(NEW_KEY.base64);
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('removeKey removes only the matching key (and its metadata line); every other line stays identical, in order', () => {
    const fp = fingerprintOfLine(KEYS[1]!)!;
    fc.assert(
      fc.property(mutated(AUTHORIZED), (text) => {
        onlyExpected(() => {
          const r = removeKey(text, fp);
          const before = parseAuthorizedKeys(text).lines.map((l) => l.raw + l.eol);
          const after = parseAuthorizedKeys(r.text).lines.map((l) => l.raw + l.eol);
          // after is before with some lines taken out: a subsequence, each removed line a key or our metadata
          let i = 0;
          const removed: string[] = [];
          for (const l of before) {
            if (after[i] === l) i++;
            else removed.push(l);
          }
          expect(i, JSON.stringify({ text, out: r.text })).toBe(after.length);
          for (const l of removed) expect(l.includes(KEYS[1]!.split(' ')[1]!) || /^# sftp-setup: added/.test(l), l).toBe(true);
        });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: Allsky settings readers on mutated real files', () => {
  const settings = allsky('settings.json');
  const changes = { remoteserverimagedir: 'images', useremoteserver: true, remoteserverport: 22 };

  it('updateJsonObject throws only UsageError; the change lands and every other key is unchanged', () => {
    fc.assert(
      fc.property(mutated(settings), (text) => {
        onlyExpected(() => {
          const before = parseJsonObject(text, 'settings.json');
          const r = updateJsonObject(text, changes, 'settings.json');
          const after = parseJsonObject(r.text, 'settings.json');
          for (const [k, v] of Object.entries(changes)) expect(after[k]).toEqual(v);
          for (const k of Object.keys(before)) if (!(k in changes)) expect(after[k]).toEqual(before[k]);
          expect(Object.keys(after).filter((k) => !(k in before) && !(k in changes))).toEqual([]);
          // nothing to change: the very same bytes
          expect(updateJsonObject(r.text, changes, 'settings.json')).toEqual({ text: r.text, changed: false });
        });
      }),
      { numRuns: RUNS },
    );
  });

  for (const name of ['ftp-settings.sh', 'config.sh']) {
    it(`updateShellVars/readShellVars on mutated ${name}: UsageError only; other variables unchanged`, () => {
      const seed = allsky(name);
      const vars = { REMOTE_HOST: 'collector', REMOTE_PORT: '22', PROTOCOL: 'sftp' };
      fc.assert(
        fc.property(mutated(seed), (text) => {
          onlyExpected(() => {
            const before = readShellVars(text, name);
            const r = updateShellVars(text, vars, name);
            const after = readShellVars(r.text, name);
            for (const [k, v] of Object.entries(vars)) expect(after[k]).toBe(v);
            for (const [k, v] of Object.entries(before)) if (!(k in vars)) expect(after[k], k).toBe(v);
            expect(updateShellVars(r.text, vars, name)).toEqual({ text: r.text, changed: false });
          });
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe('fuzz: lftp rc merge on mutated rc files', () => {
  const rc = [
    '# my lftp settings',
    'set net:timeout 10',
    'set sftp:connect-program "ssh -a -x -i ~/.ssh/old"',
    'set xfer:clobber on',
    'alias up "mirror -R"',
    '',
  ].join('\r\n');
  const SET = 'set sftp:connect-program "ssh -a -x -i /home/pi/.ssh/allsky_upload -o IdentitiesOnly=yes"';
  const ours = (l: string) => /^\s*set\s+sftp:connect-program(?=[\s=/]|$)/.test(l) || l.trim() === '# managed by sftp-setup';

  it('never throws; lines that are not connect-program lines stay identical, in order; a re-run changes nothing', () => {
    fc.assert(
      fc.property(mutated(rc), (text) => {
        const r = mergeLftpRc(text, SET);
        const split = (t: string) => t.split(/(?<=\n)/).filter((l) => l !== '');
        // A last line ending in a lone CR gets a LF after it (its bytes stay): compare without line ends.
        const strip = (l: string) => l.replace(/\r?\n$/, '').replace(/\r+$/, '');
        const others = (t: string) => split(t).map(strip).filter((l) => !ours(l));
        expect(others(r.text)).toEqual(others(text));
        expect(split(r.text).map(strip).filter((l) => /connect-program/.test(l) && ours(l))).toEqual([SET]);
        expect(mergeLftpRc(r.text, SET)).toEqual({ text: r.text, changed: false });
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

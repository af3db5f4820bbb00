import { setColors } from '../../src/text/color.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatDoctorCheck, type CheckStatus } from '../../src/doctor/check.js';
import { FailError } from '../../src/errors.js';
import { colorDiff, formatCheck, formatStep, reportError } from '../../src/report.js';
import { printable, printableLines } from '../../src/text/printable.js';

// Any byte below 0x20, DEL, C1, and the bidi/line-separator code points a terminal acts on.
const DANGEROUS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const DANGEROUS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const DANGEROUS_BUT_NEWLINE_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

// Text an attacker would pick: every dangerous code point is likely, mixed with ordinary text.
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\n', '\r', '\t', '\x1b', '\x07', '\x7f', '\x9b', '\x85', '\u202e', '\u2066', '\u2028', '\\', '!', '$(id)', '[2J', ']0;'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});

describe('printable', () => {
  it('escapes line breaks, tabs, ESC and other C0, DEL, C1 and bidi controls into visible escapes', () => {
    expect(printable('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
    expect(printable('\x1b[2J\x1b[31mFAKE-PASS')).toBe('\\x1b[2J\\x1b[31mFAKE-PASS');
    expect(printable('\x1b]0;title\x07')).toBe('\\x1b]0;title\\x07');
    expect(printable('\0\x7f')).toBe('\\x00\\x7f');
    expect(printable('\u009b31m\u0085')).toBe('\\u{9b}31m\\u{85}');
    expect(printable('evil\u202egpj.exe \u2066x\u2069')).toBe('evil\\u{202e}gpj.exe \\u{2066}x\\u{2069}');
    expect(printable('a\u2028b')).toBe('a\\u{2028}b');
  });

  it('leaves ordinary text alone: letters of any script, emoji, backslashes, quotes', () => {
    for (const s of ['/var/lib/allsky-uploads/images', 'pi@allsky Köln ✓ 星 🌌', 'C:\\x', `it's "q" $(x) \`y\``]) expect(printable(s)).toBe(s);
  });

  it('printableLines keeps our line breaks and tabs (indentation in files) and escapes everything else', () => {
    expect(printableLines('+a\x1b[31m\n-b\rc\n+\t"x": 1')).toBe('+a\\x1b[31m\n-b\\rc\n+\t"x": 1');
  });

  it('property: no dangerous code point ever survives, and one item stays one line', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const out = printable(s);
        expect(out).not.toMatch(DANGEROUS);
        expect(out.split('\n')).toHaveLength(1);
        expect(printableLines(s).split('\n')).toHaveLength(s.split('\n').length);
        expect(printableLines(s)).not.toMatch(DANGEROUS_BUT_NEWLINE_TAB);
      }),
      { numRuns: 500 },
    );
  });
});

describe('human output escapes data from the machine', () => {
  beforeAll(() => {
    setColors(false); // no colour codes of our own: then any ESC in the output came from the data
  });
  afterAll(() => {
    setColors(undefined);
  });

  it('formatDoctorCheck: title, evidence, reason and fix; as many lines as items, no control byte', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<CheckStatus>('pass', 'warn', 'fail', 'skip'),
        hostile,
        fc.array(hostile, { maxLength: 4 }),
        fc.option(hostile, { nil: undefined }),
        fc.option(hostile, { nil: undefined }),
        (status, title, evidence, reason, fix) => {
          const out = formatDoctorCheck({ id: 'x', status, title, evidence, reason, fix });
          expect(out).not.toMatch(DANGEROUS_BUT_NEWLINE);
          const lines = out.split('\n');
          if (status === 'warn' || status === 'fail') {
            expect(lines).toHaveLength(1 + evidence.length + (reason ? 1 : 0) + (fix ? 1 : 0));
          } else expect(lines).toHaveLength(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('formatStep and formatCheck: one line per item; a diff keeps its own lines, each escaped', () => {
    fc.assert(
      fc.property(hostile, fc.option(hostile, { nil: undefined }), fc.option(hostile, { nil: undefined }), fc.array(hostile, { minLength: 1, maxLength: 5 }), (title, summary, error, diffLines) => {
        const diff = diffLines.map((l) => `+${l.replace(/\n/g, '')}`).join('\n') + '\n';
        const out = formatStep({ id: 's', title, status: 'would-change', summary, error, diff }, true);
        // tabs only inside the diff (file indentation), never in our own lines
        expect(out).not.toMatch(DANGEROUS_BUT_NEWLINE_TAB);
        expect(out.split('\n').slice(0, 1 + (error ? 1 : 0)).join('\n')).not.toMatch(DANGEROUS_BUT_NEWLINE);
        expect(out.split('\n')).toHaveLength(1 + (error ? 1 : 0) + diffLines.length);
        const c = formatCheck({ id: 'c', title, ok: false, detail: error ?? title });
        expect(c).not.toMatch(DANGEROUS);
      }),
      { numRuns: 300 },
    );
    expect(colorDiff('+x\x1b[2J\n')).toBe('+x\\x1b[2J');
  });

  it('with colours on, the ESC bytes are our own colour codes only, never the data', () => {
    setColors(true);
    try {
      const out = formatDoctorCheck({ id: 'x', status: 'fail', title: 'name \x1b[2J', evidence: ['a\nFORGED pass'], fix: 'rm \x1b]0;t\x07' });
      expect(out).toContain('name \\x1b[2J');
      expect(out).toContain('a\\nFORGED pass');
      expect(out.replace(/\x1b\[\d+m/g, '')).not.toMatch(DANGEROUS_BUT_NEWLINE);
      expect(out.split('\n')).toHaveLength(3);
    } finally {
      setColors(false);
    }
  });

  it('reportError prints one line, the message escaped', () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      written.push(String(s));
      return true;
    });
    try {
      expect(reportError(new FailError('cannot read /images/x\x1b[2J\rFAKE', 'remove \u202eit'))).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(written).toHaveLength(1);
    expect(written[0]).toBe('sftp-setup: error: cannot read /images/x\\x1b[2J\\rFAKE — fix: remove \\u{202e}it\n');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { terminalWidth, visibleLength, wrapLine } from '../../src/text/wrap.js';

describe('wrapLine', () => {
  it('breaks at spaces under the text, never inside a word', () => {
    const line = '  FAIL  upload directories exist and allsky-upload can write to them';
    expect(wrapLine(line, 31, 8)).toBe('  FAIL  upload directories\n        exist and allsky-upload\n        can write to them');
  });

  it('leaves a short line, a width of 0 and a word longer than the width as they are', () => {
    expect(wrapLine('short', 80, 4)).toBe('short');
    expect(wrapLine('a '.repeat(100), 0, 4)).toBe('a '.repeat(100));
    expect(wrapLine('x /a/very/long/path/that/does/not/fit y', 30, 2)).toBe('x\n  /a/very/long/path/that/does/not/fit\n  y');
    // On a very narrow terminal the continuation is not indented at all.
    expect(wrapLine('aaaa bbbb cccc', 10, 8)).toBe('aaaa bbbb\ncccc');
  });

  it('does not count colour codes as columns', () => {
    const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
    expect(visibleLength(red('FAIL'))).toBe(4);
    expect(wrapLine(`${red('FAIL')} abc def`, 12, 2)).toBe(`${red('FAIL')} abc def`);
  });

  it('keeps every word, in order, and fits every line that has more than one word (property)', () => {
    const word = fc.stringMatching(/^[a-z/.:-]{1,15}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 40 }), fc.integer({ min: 20, max: 120 }), fc.integer({ min: 0, max: 12 }), (words, width, indent) => {
        const out = wrapLine(words.join(' '), width, indent);
        expect(out.split(/\s+/).filter(Boolean)).toEqual(words);
        for (const l of out.split('\n')) if (l.trim().includes(' ')) expect(visibleLength(l)).toBeLessThanOrEqual(width);
      }),
    );
  });

  it('wraps only on a terminal', () => {
    expect(terminalWidth({ isTTY: true, columns: 80 })).toBe(80);
    expect(terminalWidth({ isTTY: false, columns: 80 })).toBe(0);
    expect(terminalWidth({ isTTY: true })).toBe(80);
  });
});


describe('formatters on an 80-column terminal', () => {
  it('doctor checks and plan steps break long lines at spaces, continued under their text', async () => {
    const { formatDoctorCheck } = await import('../../src/doctor/check.js');
    const { formatStep } = await import('../../src/report.js');
    const long = 'the upload directory /var/lib/allsky-uploads/images/videos/thumbnails is owned by uid 1000 with mode 0777, not by allsky-upload';
    const outputs = [
      formatDoctorCheck({ id: 'x', status: 'fail', title: long, evidence: [long, long], reason: long, fix: `sudo chown allsky-upload ${long}` }, 80),
      formatStep({ id: 's', title: long, status: 'would-change', summary: long, error: long }, false, 80),
    ];
    for (const out of outputs) {
      const lines = out.split('\n');
      expect(lines.length).toBeGreaterThan(4);
      for (const l of lines) expect(visibleLength(l)).toBeLessThanOrEqual(80);
      // every word is kept
      expect(out.replace(/\x1b\[[0-9;]*m/g, '')).toContain('allsky-upload');
    }
  });
});

describe('whyFailed (a failed demo stage)', () => {
  it("shows the CLI's own error line, a thrown error's message rather than its frames, or the last lines", async () => {
    const { whyFailed } = await import('../../src/demo/stages.js');
    expect(whyFailed({ stdout: 'Setting up\n  ok  account', stderr: 'sftp-setup: error: --root /etc is a system directory — fix: choose another\n' }))
      .toBe('sftp-setup: error: --root /etc is a system directory — fix: choose another');
    const stack = 'file:///x/cli.js:3\nTypeError: Cannot read properties of undefined (reading \'x\')\n    at a (file:///x/a.js:1:1)\n    at b (file:///x/b.js:2:2)\n    at c (file:///x/c.js:3:3)\n    at d (file:///x/d.js:4:4)';
    expect(whyFailed({ stdout: '', stderr: stack })).toBe("TypeError: Cannot read properties of undefined (reading 'x')");
    expect(whyFailed({ stdout: 'a\nb\nc\nd\ne', stderr: '' })).toBe('b / c / d / e');
  });
});

describe('wrapLine and runs of spaces', () => {
  it('keeps column gaps inside a line and leaves no trailing space where it breaks', () => {
    const out = wrapLine('  ok  image      5.4 kB   0.28s  /var/lib/allsky-uploads/images/image.jpg', 40, 6);
    expect(out).toBe('  ok  image      5.4 kB   0.28s\n      /var/lib/allsky-uploads/images/image.jpg');
  });
});

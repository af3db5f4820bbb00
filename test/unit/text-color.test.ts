/**
 * Our colours write what chalk (which they replace) wrote for the same calls, byte for byte: the expected
 * strings below are chalk 5's output at level 1. And the environment decides as documented in text/color.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { colorsWanted, paint, setColors, termHasColors } from '../../src/text/color.js';

afterEach(() => setColors(undefined));

describe('paint', () => {
  it('writes basic SGR codes, reopening an outer style after a nested one ends, and closing at line breaks', () => {
    setColors(true);
    expect(paint.red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(paint.dim('d')).toBe('\x1b[2md\x1b[22m');
    expect(paint.red(`a ${paint.bold('b')} ${paint.red('c')} d`)).toBe('\x1b[31ma \x1b[1mb\x1b[22m \x1b[31mc\x1b[39m\x1b[31m d\x1b[39m');
    expect(paint.bold(`a ${paint.dim('b')} c`)).toBe('\x1b[1ma \x1b[2mb\x1b[22m\x1b[1m c\x1b[22m');
    expect(paint.green.bold(`x ${paint.yellow('y')}\nz`)).toBe(
      '\x1b[32m\x1b[1mx \x1b[33my\x1b[39m\x1b[32m\x1b[22m\x1b[39m\n\x1b[32m\x1b[1mz\x1b[22m\x1b[39m',
    );
    expect(paint.cyan('a\r\nb\n')).toBe('\x1b[36ma\x1b[39m\r\n\x1b[36mb\x1b[39m\n\x1b[36m\x1b[39m');
    expect(paint.red.bold('')).toBe('');
  });

  it('writes the text alone when colours are off', () => {
    setColors(false);
    expect(paint.red.bold(`a ${paint.dim('b')}\nc`)).toBe('a b\nc');
  });
});

describe('colorsWanted', () => {
  const never = () => {
    throw new Error('the terminal was asked');
  };
  it('FORCE_COLOR decides when set, without asking about the terminal: 0 and false turn colours off', () => {
    for (const v of ['1', '2', '3', '', 'true']) expect(colorsWanted({ FORCE_COLOR: v, NO_COLOR: '1' }, never), v).toBe(true);
    for (const v of ['0', 'false']) expect(colorsWanted({ FORCE_COLOR: v, TERM: 'xterm' }, never), v).toBe(false);
  });

  it('NO_COLOR turns them off; otherwise a terminal whose TERM takes colours has them', () => {
    expect(colorsWanted({ NO_COLOR: '1', TERM: 'xterm' }, never)).toBe(false);
    expect(colorsWanted({ TERM: 'xterm-256color' }, () => true)).toBe(true);
    expect(colorsWanted({ TERM: 'xterm-256color' }, () => false)).toBe(false);
    expect(colorsWanted({ NO_COLOR: '', TERM: 'linux' }, () => true)).toBe(true);
    expect(colorsWanted({ TERM: 'dumb', COLORTERM: 'truecolor' }, () => true)).toBe(false);
    expect(colorsWanted({}, () => true)).toBe(false);
  });

  it('knows the usual colour terminals', () => {
    for (const term of ['xterm', 'xterm-256color', 'screen', 'tmux-256color', 'linux', 'vt100', 'rxvt-unicode', 'xterm-kitty']) {
      expect(termHasColors({ TERM: term }), term).toBe(true);
    }
    expect(termHasColors({ TERM: 'vt52' })).toBe(false);
    expect(termHasColors({ TERM: 'vt52', COLORTERM: '1' })).toBe(true);
  });
});

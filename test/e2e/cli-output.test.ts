/**
 * What a person sees on a Pi's 80-column terminal: help that fits and copies correctly, no noise about
 * flags that are simply off, and a reader that goes away (`--help | head -1`) ends the run quietly. Output
 * to a pipe, a socket or a file bypasses process.stdout (src/system/stdout.ts): it must arrive whole and in
 * order however the reader behaves. Runs the built CLI on this machine; it only prints.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/system/exec.js';
import { CLI } from './helpers.js';

const STDOUT_MODULE = fileURLToPath(new URL('../../dist/system/stdout.js', import.meta.url));
/** 512 KiB of numbered lines through writeOut, a console.log (which makes the stream) halfway. */
const WRITER = `
const { watchStdout, writeOut } = await import(process.argv[1]);
watchStdout();
for (let i = 0; i < 8192; i++) {
  if (i === 4096) console.log('console.log, halfway');
  writeOut(String(i).padStart(7, '0') + 'x'.repeat(56) + '\\n');
}
`;
const EXPECTED = Array.from({ length: 8192 }, (_, i) => `${i === 4096 ? 'console.log, halfway\n' : ''}${String(i).padStart(7, '0')}${'x'.repeat(56)}\n`).join('');
/** Run WRITER with its output into `sink` (a shell command reading stdin), through `wrap` (a command prefix). */
const writeInto = (sink: string, wrap = '') =>
  run('bash', ['-c', `${wrap} node --input-type=module -e "$1" "$2" | ${sink}; exit "\${PIPESTATUS[0]}"`, 'bash', WRITER, STDOUT_MODULE]);

const COMMANDS = [[], ['init'], ['uninstall'], ['keys'], ['keys', 'list'], ['keys', 'add'], ['keys', 'remove'], ['keys', 'sign'], ['keys', 'revoke'], ['keys', 'rotate'], ['ca'], ['ca', 'init'], ['allsky-config'], ['sync'], ['doctor'], ['watch'], ['status'], ['demo']];

describe('command-line output', () => {
  it('every --help fits 80 columns and shows no "(default: false)" or "(default: [])"', async () => {
    for (const c of COMMANDS) {
      const r = await run('node', [CLI, ...c, '--help'], { env: { COLUMNS: '80' } });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^Usage: sftp-setup/);
      for (const line of r.stdout.split('\n')) expect([...line].length, `${c.join(' ')}: ${line}`).toBeLessThanOrEqual(80);
      expect(r.stdout).not.toMatch(/\(default: (false|\[\])\)/);
    }
    const init = await run('node', [CLI, 'init', '--help']);
    expect(init.stdout).toContain('images/videos/thumbnails'); // the default list is shown
  });

  it('a closed stderr ends the run with its own exit code, not a crash', async () => {
    // stderr's stream is made only when written to (src/cli.ts): its handler must come with it.
    for (let i = 0; i < 3; i++) {
      const r = await run('bash', ['-c', 'node "$1" no-such-command 2>&1 >/dev/null | true; exit "${PIPESTATUS[0]}"', 'bash', CLI]);
      expect(r.exitCode).toBe(2);
    }
  });

  it('a closed stdout ends the run quietly, with no stack trace', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await run('bash', ['-c', 'set -o pipefail; node "$1" --help | true', 'bash', CLI]);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
    }
  });

  it('output written past a pipe\'s buffer reaches a slow reader whole and in order, a blocking pipe or not', async () => {
    const slow = await writeInto('{ sleep 0.5; cat; }');
    expect(slow.stderr).toBe('');
    expect(slow.exitCode).toBe(0);
    expect(slow.stdout === EXPECTED, 'output differs').toBe(true);
    // A descriptor left non-blocking by whoever started the run: write(2) meets EAGAIN, the stream takes over.
    const nonBlocking = await writeInto('{ sleep 0.5; cat; }', `perl -MFcntl -e 'fcntl(STDOUT, F_SETFL, fcntl(STDOUT, F_GETFL, 0) | O_NONBLOCK) or die; exec @ARGV' --`);
    expect(nonBlocking.stderr).toBe('');
    expect(nonBlocking.exitCode).toBe(0);
    expect(nonBlocking.stdout === EXPECTED, 'output differs').toBe(true);
    const gone = await writeInto('head -c 100 >/dev/null');
    expect(gone.stderr).toBe('');
    expect(gone.exitCode).toBe(0);
  });

  it('--help is the same to a pipe, a file and a terminal of 80 columns, and wrapped to a narrower one', async () => {
    const piped = await run('node', [CLI, 'init', '--help']);
    const file = await run('bash', ['-c', 'node "$1" init --help > "$2" && cat "$2"; rm -f "$2"', 'bash', CLI, `/tmp/sftp-setup-help-${process.pid}`]);
    expect(file.stdout).toBe(piped.stdout);
    const tty = (cols: number) => run('script', ['-qec', `stty cols ${cols}; node '${CLI}' init --help`, '/dev/null']);
    expect((await tty(80)).stdout.replace(/\r\n/g, '\n')).toBe(piped.stdout);
    const narrow = (await tty(64)).stdout.replace(/\r\n/g, '\n');
    expect(narrow).toMatch(/^Usage: sftp-setup init/);
    // The terminal's width was read: the description is wrapped at 64 columns.
    expect(narrow).toContain('\ncreate or update an SFTP upload account on this collector (run\nas root)\n');
  });
});

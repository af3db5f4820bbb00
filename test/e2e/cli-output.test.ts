/**
 * What a person sees on a Pi's 80-column terminal: help that fits and copies correctly, no noise about
 * flags that are simply off, and a reader that goes away (`--help | head -1`) ends the run quietly. Runs the
 * built CLI on this machine; it only prints.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../src/system/exec.js';
import { CLI } from './helpers.js';

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
});

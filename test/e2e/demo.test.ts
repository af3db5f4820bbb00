/**
 * `sftp-setup demo` on the real machine: it makes its own throwaway hosts, and whether it passes, fails or
 * is interrupted, the machine's users, sshd configuration, mounts and network are exactly as before.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/system/exec.js';
import { CLI } from './helpers.js';

/** What the demo must never change on the real machine. */
async function realState(): Promise<Record<string, string>> {
  const sh = async (script: string) => (await run('sh', ['-c', script])).stdout;
  return {
    users: await sh('sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow 2>/dev/null'),
    sshd: await sh("find /etc/ssh -printf '%y %u:%g %m %s %T@ %p\\n' | sort; find /etc/ssh -type f -print0 | sort -z | xargs -0 -r sha256sum"),
    mounts: String((await sh('cat /proc/self/mountinfo')).trim().split('\n').length),
    links: await sh("ip -o link | sed 's/ qlen [0-9]*//'"),
    netns: await sh('ls -A /run/netns 2>/dev/null || true'),
  };
}

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the demo; when `interruptAfter` shows up in its output, send SIGINT. */
function runDemo(args: string[], interruptAfter?: RegExp): Promise<DemoRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += String(d);
      if (interruptAfter && !sent && interruptAfter.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('sftp-setup demo', () => {
  it('runs both ends, uploads five files intact, and leaves the machine as it was', async () => {
    const before = await realState();
    const r = await runDemo([]);
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/ok .* collector: sftp-setup init .* self-test (\d+)\/\1 passed/);
    expect(r.stdout).toMatch(/ok .* camera: sftp-setup allsky-config --via root@collector/);
    expect(r.stdout).toMatch(/5\/5 checksums match, owned by allsky-upload/);
    for (const remote of ['images/image.jpg', 'images/keograms/keogram.jpg', 'images/startrails/startrails.jpg', 'images/videos/allsky.mp4', 'images/videos/thumbnails/allsky.jpg']) {
      expect(r.stdout).toContain(`✓`);
      expect(r.stdout).toContain(`/var/lib/allsky-uploads/${remote}`);
    }
    expect(r.stdout).toMatch(/Demo passed/);
    expect(r.stdout).not.toMatch(/FAILED/);
    expect(await realState()).toEqual(before);
  }, 400_000);

  it('cleans up when interrupted with Ctrl-C midway', async () => {
    const before = await realState();
    const r = await runDemo([], /start two throwaway hosts/);
    expect(r.code, r.stdout + r.stderr).toBe(130);
    expect(r.stdout).toMatch(/Interrupted \(SIGINT\): removing the throwaway hosts/);
    expect(r.stdout).not.toMatch(/Demo passed/);
    // The hosts' PID 1 and everything in them are gone, so the state is back at once.
    expect(await realState()).toEqual(before);
  }, 400_000);

  it('prints a machine-readable report with --json', async () => {
    const r = await runDemo(['--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; stages: { id: string; status: string; ms: number }[]; uploads: { arrived: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.stages.map((s) => s.id)).toEqual(['hosts', 'init', 'allsky', 'admin', 'allsky-config', 'uploads', 'verify', 'doctor', 'teardown']);
    expect(report.stages.every((s) => s.status !== 'failed' && s.ms >= 0)).toBe(true);
    expect(report.uploads).toHaveLength(5);
    expect(report.uploads.every((u) => u.arrived)).toBe(true);
  }, 400_000);
});

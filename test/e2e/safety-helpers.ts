/**
 * Shared pieces of the safety suites (issue 6): a watcher that checks sshd's configuration every ~20 ms
 * while a command runs, and a way to SIGKILL a command's whole process group at a chosen moment. The
 * collector host and the snapshot two hosts can be compared by are helpers.ts's (collectorHost, snapshot
 * with acrossHosts).
 */
import type { ThrowawayHost } from '../../src/system/hosts.js';
import type { RunResult } from '../../src/system/exec.js';
import { CLI } from './helpers.js';

export { collectorHost } from './helpers.js';

export interface WatchResult {
  /** how many times `sshd -t` ran */
  checks: number;
  /** the failures, with sshd's words */
  failures: string[];
  /** every content seen for each file under /etc/ssh (sha256), temporary files excluded */
  seen: Map<string, Set<string>>;
}

/** The sha256 of every file under /etc/ssh but the host keys, now. */
export async function sshHashes(host: ThrowawayHost): Promise<Map<string, string>> {
  const out = await host.sh(`find /etc/ssh -type f ! -name 'ssh_host_*' ! -name '*.tmp' -print0 | xargs -0 -r sha256sum`);
  const m = new Map<string, string>();
  for (const l of out.trim().split('\n').filter(Boolean)) {
    const [h, p] = l.split(/\s+/);
    m.set(p!, h!);
  }
  return m;
}

/**
 * Poll `sshd -t` (the configuration the daemon would load on its next reload) and hash every file under
 * /etc/ssh, about every 20 ms, until stop() is called.
 */
export function watchSshd(host: ThrowawayHost): { stop(): Promise<WatchResult> } {
  const flag = `/tmp/watch-stop-${Math.random().toString(36).slice(2)}`;
  const script =
    `while [ ! -e ${flag} ]; do` +
    // sshd -t globs the Include, then opens each file: a drop-in the command removes in between fails that
    // one check although no configuration on disk was ever invalid. Such a failure ("No such file") is
    // checked once more; any other, or the same twice, counts.
    ` if out=$(/usr/sbin/sshd -t 2>&1) || { case "$out" in *'No such file or directory'*) out=$(/usr/sbin/sshd -t 2>&1);; *) false;; esac; }; then echo OK; else echo "FAIL $out" | tr '\\n' ' '; echo; fi;` +
    ` find /etc/ssh -type f ! -name 'ssh_host_*' ! -name '*.tmp' -print0 2>/dev/null | xargs -0 -r sha256sum 2>/dev/null | sed 's/^/H /';` +
    ` sleep 0.02; done`;
  const running = host.run(['sh', '-c', script]);
  return {
    async stop() {
      await host.sh(`touch ${flag}`);
      const r = await running;
      const seen = new Map<string, Set<string>>();
      let checks = 0;
      const failures: string[] = [];
      for (const line of r.stdout.split('\n')) {
        if (line === 'OK') checks++;
        else if (line.startsWith('FAIL')) {
          checks++;
          failures.push(line);
        } else if (line.startsWith('H ')) {
          const [, h, p] = line.split(/\s+/);
          if (!seen.has(p!)) seen.set(p!, new Set());
          seen.get(p!)!.add(h!);
        }
      }
      return { checks, failures, seen };
    },
  };
}

/** Every content the watcher saw is either the file's content before or after: nothing half-written. */
export function halfWritten(w: WatchResult, before: Map<string, string>, after: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [p, hashes] of w.seen) {
    for (const h of hashes) if (h !== before.get(p) && h !== after.get(p)) bad.push(`${p} ${h}`);
  }
  return bad;
}

/**
 * Run the CLI in a process group of its own and SIGKILL the whole group `delayMs` after it started (timed
 * inside the host, so the moment is not blurred by the cost of entering it). Without a delay only the step
 * seam kills it (env SFTP_SETUP_TEST_KILL_AFTER_STEP).
 */
export async function runKillable(
  host: ThrowawayHost,
  args: string[],
  opts: { delayMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  // bash job control gives the CLI a process group of its own, led by the CLI.
  const kill = opts.delayMs === undefined ? '' : `sleep ${(opts.delayMs / 1000).toFixed(3)}; kill -KILL -- -$c 2>/dev/null;`;
  return host.run(['bash', '-c', `set -m; node ${CLI} "$@" & c=$!; ${kill} wait $c`, 'bash', ...args], { env: opts.env });
}

/** How long a command takes inside the host, in ms. */
export async function timeInside(host: ThrowawayHost, args: string[]): Promise<{ ms: number; r: RunResult }> {
  const r = await host.run(['sh', '-c', `s=$(date +%s%N); node ${CLI} "$@"; rc=$?; echo "ELAPSED $(( ($(date +%s%N) - s) / 1000000 ))"; exit $rc`, 'sh', ...args]);
  const ms = Number(/ELAPSED (\d+)/.exec(r.stdout)?.[1]);
  return { ms, r };
}

/**
 * The one door to child processes. Every external program the tool runs (sshd, ssh, sftp, useradd, lftp…)
 * goes through here, so it is easy to see what the tool can do to a host.
 */
import { execa } from 'execa';
import { FailError } from '../errors.js';

// SFTP_SETUP_TRACE=1 prints every program run and how long it took, for bug reports and speed work.
const TRACE = Boolean(process.env.SFTP_SETUP_TRACE);

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** true when the process was killed by the timeout */
  timedOut: boolean;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

/** Run a program and return its exit code and output; never throws for a non-zero exit. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = TRACE ? performance.now() : 0;
  const r = await execa(cmd, args, {
    reject: false,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    env: opts.env,
    cwd: opts.cwd,
    timeout: opts.timeoutMs,
    stripFinalNewline: false,
  });
  if (r.failed && r.exitCode === undefined && !r.timedOut) {
    // The program could not be started at all (ENOENT and friends).
    throw new FailError(`cannot run ${cmd}: ${r.shortMessage ?? r.message}`, `install the package that provides ${cmd}`);
  }
  if (TRACE) process.stderr.write(`[trace] ${(performance.now() - started).toFixed(0)}ms ${cmd} ${args.join(' ')} -> ${r.exitCode}\n`);
  return {
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    timedOut: Boolean(r.timedOut),
  };
}

/** Run a program that must succeed; a failure becomes a FailError naming the command and its stderr. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.exitCode !== 0) {
    const detail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ');
    throw new FailError(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${detail}`);
  }
  return r;
}

/** Is a program on PATH (or at an absolute path)? */
export async function haveProgram(cmd: string): Promise<boolean> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', cmd], { reject: false });
  return r.exitCode === 0;
}

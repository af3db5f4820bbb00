/**
 * The one door to child processes. Every external program the tool runs (sshd, ssh, sftp, useradd, lftp…)
 * goes through here, so it is easy to see what the tool can do to a host.
 *
 * Plain node:child_process rather than execa: importing execa costs about 250 ms on a small machine, more
 * than Node's own start-up, and init runs dozens of short programs. execa drives the long-lived throwaway
 * hosts instead (system/hosts.ts), where its clean-up on exit matters and its start-up cost does not.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
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
  /** open descriptors handed to the program as its fds 3, 4, … (e.g. directories held by safe-fs) */
  fds?: number[];
  /** stdout as it comes (a long sftp session's progress), besides the collected result */
  onStdout?: (chunk: string) => void;
}

/** Run a program and return its exit code and output; never throws for a non-zero exit. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = TRACE ? performance.now() : 0;
  const r = await new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(opts.fds ?? [])],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const decoder = new StringDecoder('utf8'); // a character split between two chunks stays whole
    child.stdout!.on('data', (d: Buffer) => {
      out.push(d);
      if (opts.onStdout) opts.onStdout(decoder.write(d));
    });
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new FailError(`cannot run ${cmd}: ${e.code === 'ENOENT' ? 'not installed' : e.message}`, `install the package that provides ${cmd}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // the program may exit without reading all of it
      child.stdin!.end(opts.input);
    }
  });
  if (TRACE) process.stderr.write(`[trace] ${(performance.now() - started).toFixed(0)}ms ${cmd} ${args.join(' ')} -> ${r.exitCode}\n`);
  return r;
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
  return (await run('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', cmd])).exitCode === 0;
}

/**
 * Run a program on our own terminal (stdin, stdout and stderr handed over) and return its exit code: for a
 * command that re-runs itself as another user and must keep the terminal's progress display.
 */
export async function runAttached(cmd: string, args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ? { ...process.env, ...opts.env } : process.env, stdio: 'inherit' });
    child.on('error', (e: NodeJS.ErrnoException) => reject(new FailError(`cannot run ${cmd}: ${e.code === 'ENOENT' ? 'not installed' : e.message}`)));
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

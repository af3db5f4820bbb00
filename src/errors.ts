/**
 * Errors that the CLI turns into a one-line message and an exit code.
 * UsageError: bad input (exit 2) — it names the input and says how to fix it; nothing was changed.
 * FailError: the run could not complete (exit 1); whatever was changed has been put back.
 */
import { EXIT } from './exit-codes.js';
import { shQuote } from './text/shell.js';

export class UsageError extends Error {
  readonly exitCode: number = EXIT.usage;
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export class FailError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'FailError';
  }
}

/** Format "<message> — fix: <fix>" on one line. */
export function oneLine(err: UsageError | FailError): string {
  const text = err.fix ? `${err.message} — fix: ${err.fix}` : err.message;
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * The one root check of the commands that need root: `why` says what the command does that needs it, and the
 * fix is the same command line again under sudo.
 */
export function requireRoot(why: string): void {
  if (process.getuid?.() === 0) return;
  throw new UsageError(`${why}: it must run as root`, ['sudo', 'sftp-setup', ...process.argv.slice(2)].map(shQuote).join(' '));
}

/**
 * Errors that the CLI turns into a one-line message and an exit code.
 * UsageError: bad input (exit 2) — it names the input and says how to fix it; nothing was changed.
 * FailError: the run could not complete (exit 1); whatever was changed has been put back.
 */
export class UsageError extends Error {
  readonly exitCode: number = 2;
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
    readonly exitCode: number = 1,
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

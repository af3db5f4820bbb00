/**
 * The exit codes, in one table: the CLI, the error classes, the commands and the help text take them from
 * here (the README documents them).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, keyNotAuthorized: 3, resumable: 4 } as const;

/**
 * A file operation's failure as one line with the fix (read-only or full disk, permissions). Its own module so
 * that lock.ts can use it without importing files.ts, which imports lock.ts.
 */
import { dirname } from 'node:path';
import { FailError } from '../errors.js';

export function fileError(verb: string, path: string, err: unknown): FailError {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === 'EROFS' ? 'the filesystem is read-only'
    : e.code === 'ENOSPC' ? 'the disk is full'
    : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied'
    : (e.message ?? String(err));
  const fix =
    e.code === 'EROFS' ? `remount ${dirname(path)} read-write, then run again`
    : e.code === 'ENOSPC' ? 'free some space, then run again'
    : e.code === 'EACCES' || e.code === 'EPERM' ? 'run it as root (sudo) or as the owner of the file'
    : undefined;
  return new FailError(`cannot ${verb} ${path}: ${why}`, fix);
}

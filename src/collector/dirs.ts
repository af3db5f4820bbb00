import { UsageError } from '../errors.js';

const COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * A plain relative directory, as `--dirs` accepts it. Only such names, of all that the upload tree holds,
 * ever reach an sftp batch or a path root acts on: the tree is the upload account's, and a name with a
 * newline and `!` would be a shell command in a batch.
 */
export function isPlainDir(rel: string): boolean {
  const parts = rel.split('/');
  return parts.every((p) => COMPONENT.test(p) && p !== '.' && p !== '..');
}

/** `--dirs images,videos,images/keograms`: relative paths below the chroot, plain names only. */
export function parseDirList(value: string, flag = '--dirs'): string[] {
  const items = value.split(',').map((s) => s.trim().replace(/\/+$/, ''));
  if (items.length === 0 || items.some((s) => s === '')) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} has an empty entry`, `list directories separated by commas, e.g. ${flag} images,videos`);
  }
  for (const item of items) {
    const parts = item.split('/');
    if (!isPlainDir(item)) {
      throw new UsageError(
        `${flag}: ${JSON.stringify(item)} is not a plain relative directory`,
        'use names made of letters, digits, ".", "_" and "-", relative to --root (no "..", no leading "/")',
      );
    }
    if (parts.length > 6) throw new UsageError(`${flag}: ${JSON.stringify(item)} is nested too deep`, 'use at most 6 levels');
  }
  return [...new Set(items)];
}

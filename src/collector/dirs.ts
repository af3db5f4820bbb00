import { UsageError } from '../errors.js';

const COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** `--dirs images,videos,images/keograms`: relative paths below the chroot, plain names only. */
export function parseDirList(value: string, flag = '--dirs'): string[] {
  const items = value.split(',').map((s) => s.trim().replace(/\/+$/, ''));
  if (items.length === 0 || items.some((s) => s === '')) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} has an empty entry`, `list directories separated by commas, e.g. ${flag} images,videos`);
  }
  for (const item of items) {
    const parts = item.split('/');
    if (item.startsWith('/') || parts.some((p) => !COMPONENT.test(p) || p === '.' || p === '..')) {
      throw new UsageError(
        `${flag}: ${JSON.stringify(item)} is not a plain relative directory`,
        'use names made of letters, digits, ".", "_" and "-", relative to --root (no "..", no leading "/")',
      );
    }
    if (parts.length > 6) throw new UsageError(`${flag}: ${JSON.stringify(item)} is nested too deep`, 'use at most 6 levels');
  }
  return [...new Set(items)];
}

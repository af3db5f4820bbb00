/**
 * Which names the archive sync may hand to sftp. Names come from the camera's Allsky tree (written by the
 * Allsky owner, not by root) and from the collector's listings (written by whoever holds the upload key):
 * only names matching a strict plain pattern ever reach an sftp batch line or a path we act on; anything
 * else is skipped and reported (escaped). Pure.
 */

/** A plain name: letters, digits, `.`, `_`, `-`; not starting with `.` or `-`; short enough for our part suffix. */
const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
/** Allsky's dated folders: images/YYYYMMDD. */
const DAY = /^\d{8}$/;
/** The suffix of a file while it is being uploaded (a hidden name next to its final one). */
export const PART_SUFFIX = '.sftp-setup-part';

export function isPlainName(name: string): boolean {
  return PLAIN.test(name) && name !== '.' && name !== '..';
}

export function isDayDir(name: string): boolean {
  return DAY.test(name);
}

/** A relative path of plain names only (`20240101/keogram/keogram-20240101.jpg`). */
export function isPlainPath(rel: string): boolean {
  return rel !== '' && rel.split('/').every(isPlainName);
}

/** The temporary name a file is uploaded under, then renamed from: `.NAME.sftp-setup-part`, in the same directory. */
export function partPath(rel: string): string {
  assertPlain(rel);
  const i = rel.lastIndexOf('/');
  return `${rel.slice(0, i + 1)}.${rel.slice(i + 1)}${PART_SUFFIX}`;
}

/** The final name a part name belongs to, or undefined when `name` is not one of ours. */
export function finalOfPart(name: string): string | undefined {
  if (!name.startsWith('.') || !name.endsWith(PART_SUFFIX)) return undefined;
  const base = name.slice(1, -PART_SUFFIX.length);
  return isPlainName(base) ? base : undefined;
}

/** A remote directory option (`--remote-dir archive`): plain components, no leading or trailing slash. */
export function isPlainRemoteDir(dir: string): boolean {
  return isPlainPath(dir) && dir.split('/').length <= 6;
}

/**
 * Defence in depth: the batch renderers call this on every path they write, so a name that slipped past the
 * scan can never become an sftp command.
 */
export function assertPlain(rel: string): void {
  if (!isPlainPath(rel)) throw new Error(`internal: refusing a non-plain path in an sftp batch: ${JSON.stringify(rel)}`);
}

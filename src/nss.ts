/**
 * Reading the account databases the way glibc's `files` source does, and deciding from /etc/nsswitch.conf
 * when that gives the same answer as getent (pure; src/system/accounts.ts reads the files).
 *
 * A look-up by name or number stops at the first source that knows it, so when `files` comes first a hit in
 * the file is getent's answer, whatever follows (Debian's default is `files systemd`). A listing of every
 * entry asks every source, so only a line of `files` alone may be read from the file: systemd's dynamic
 * users and userdb records are known to getent only.
 */

export type NssDatabase = 'passwd' | 'group' | 'shadow';

/**
 * The sources of one database line, e.g. ['files', 'systemd']; null when the line is missing or holds
 * anything but plain source names (a `[NOTFOUND=return]` action changes the order rules above).
 */
export function nssSources(conf: string | null, db: NssDatabase): string[] | null {
  if (conf === null) return null;
  let found: string[] | null = null;
  for (const raw of conf.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^([A-Za-z_]+)\s*:(.*)$/.exec(line);
    if (!m || m[1]!.toLowerCase() !== db) continue;
    const words = m[2]!.trim().split(/\s+/).filter(Boolean);
    // glibc uses the last line for a database.
    found = words.length > 0 && words.every((w) => /^[A-Za-z0-9_-]+$/.test(w)) ? words : null;
  }
  return found;
}

/** Look-ups in the file answer for NSS when `files` is asked first. */
export function filesFirst(sources: string[] | null): boolean {
  return sources?.[0] === 'files';
}

/** Listings from the file answer for NSS only when `files` is the only source. */
export function filesOnly(sources: string[] | null): boolean {
  return sources !== null && sources.length === 1 && sources[0] === 'files';
}

/** The entries of a passwd, group or shadow file as glibc's files source reads them: fields split at ':'. */
function entries(text: string, minFields: number, numeric: number[]): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    // glibc skips blank lines and comments, and lines it cannot parse.
    const l = line.replace(/^[ \t]+/, '');
    if (l === '' || l.startsWith('#')) continue;
    const f = l.split(':');
    if (f.length < minFields || f[0] === '') continue;
    if (numeric.some((i) => !/^\d+$/.test(f[i]!))) continue;
    out.push(f);
  }
  return out;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  return entries(text, 7, [2, 3]).map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! }));
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parseGroup(text: string): GroupEntry[] {
  return entries(text, 4, [2]).map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').map((m) => m.trim()).filter(Boolean) }));
}

/** The password field of each name in a shadow file (the first entry of a name, as glibc finds it). */
export function shadowPasswords(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of entries(text, 2, [])) if (!out.has(f[0]!)) out.set(f[0]!, f[1]!);
  return out;
}

/** The password field of `name` in a shadow file, or undefined when the file has no entry for it. */
export function shadowPassword(text: string, name: string): string | undefined {
  return shadowPasswords(text).get(name);
}

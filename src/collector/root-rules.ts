/**
 * Which directories may become an upload chroot (init --root) or be deleted as one (uninstall --purge).
 * Pure: the callers read the host (accounts, sshd's blocks, directory entries) and pass it in.
 *
 * A chroot is handed to an account that the outside world reaches with a key that lives on a camera: it must
 * never be a directory the system or a person relies on. sshd itself only demands root-owned, not writable
 * by others, which /etc, /usr or /home all are.
 */

/** Never a chroot, never purged: the directory itself. */
const SYSTEM_DIRS = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/lost+found', '/media', '/mnt',
  '/opt', '/proc', '/root', '/run', '/sbin', '/snap', '/srv', '/sys', '/tmp', '/usr', '/var',
  '/var/backups', '/var/cache', '/var/lib', '/var/local', '/var/lock', '/var/log', '/var/mail', '/var/opt', '/var/run',
  '/var/spool', '/var/tmp', '/var/www',
]);

/** Never a chroot, never purged: the directory and everything below it. */
const SYSTEM_TREES = ['/bin', '/boot', '/dev', '/etc', '/proc', '/root', '/run', '/sbin', '/sys', '/tmp', '/usr', '/var/tmp'];

/** /lib, /lib32, /lib64, /libx32, /libo32, /libn32, /libexec and anything below them. */
export const LIB_DIR = /^\/lib(?:\d+|x32|o32|n32|exec)?(?:\/|$)/;

const below = (path: string, dir: string) => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

/** Trailing slashes off; '/' stays '/'. */
export function normalizeDir(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}

/**
 * Why `dir` is a system directory, or null. `/lib*` covers the top-level lib directories (lib32, libx32,
 * lib64, libexec …), not any name that starts with lib (/library).
 */
export function systemDirProblem(dir: string): string | null {
  const d = normalizeDir(dir);
  if (SYSTEM_DIRS.has(d)) return `${d} is a system directory`;
  const tree = SYSTEM_TREES.find((t) => below(d, t)) ?? (LIB_DIR.test(d) ? d.split('/').slice(0, 2).join('/') : undefined);
  if (tree) return `${d} is inside the system directory ${tree}`;
  return null;
}

export interface HomeEntry {
  user: string;
  home: string;
}

/**
 * Why `dir` is some other account's home directory (from passwd), or null. The account being set up may
 * have `dir` as its home already: that is a re-run, not a foreign home.
 */
export function homeProblem(dir: string, accounts: HomeEntry[], self: string): string | null {
  const d = normalizeDir(dir);
  const owner = accounts.find((a) => a.user !== self && a.home.startsWith('/') && normalizeDir(a.home) === d);
  return owner ? `${d} is the home directory of the account ${owner.user}` : null;
}

export interface ManagedChroot {
  user: string;
  chroot: string;
}

/** Why `dir` would share a tree with another account's chroot (the same, inside it, or around it), or null. */
export function otherChrootProblem(dir: string, managed: ManagedChroot[], self: string): string | null {
  const d = normalizeDir(dir);
  for (const m of managed) {
    if (m.user === self) continue;
    const c = normalizeDir(m.chroot);
    if (c === d) return `${d} is already the chroot of the upload account ${m.user}`;
    if (below(d, c)) return `${d} is inside ${c}, the chroot of the upload account ${m.user}`;
    if (below(c, d)) return `${d} holds ${c}, the chroot of the upload account ${m.user}`;
  }
  return null;
}

/**
 * Entries at the top of an existing --root that sftp-setup did not make: anything but the top level of the
 * upload directories and `dev` (the log socket's directory). `lost+found` is mkfs's, on a filesystem made
 * for the uploads and mounted there: not a sign of someone else's data. Sorted, for a stable message.
 */
export function foreignEntries(names: string[], dirs: string[]): string[] {
  const ours = new Set(['dev', 'lost+found', ...dirs.map((d) => d.split('/')[0]!)]);
  return names.filter((n) => !ours.has(n)).sort();
}

/** Login shells that refuse a login: what init gives an upload account, or what the guide's accounts had. */
export const DENYING_SHELLS = new Set(['/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false']);

/**
 * Why an existing account does not look like an upload account sftp-setup made or adopted: init leaves it
 * with a shell that refuses logins and its home at the chroot its Match block names. Empty when it does.
 */
export function accountNotOurs(account: { uid: number; shell: string; home: string }, chroot: string | undefined): string[] {
  const problems: string[] = [];
  if (account.uid === 0) problems.push('it has uid 0');
  if (!DENYING_SHELLS.has(account.shell)) problems.push(`its shell is ${account.shell || '(empty)'}, a login shell`);
  if (chroot !== undefined && normalizeDir(account.home) !== normalizeDir(chroot)) problems.push(`its home is ${account.home}, not the chroot ${chroot} of sftp-setup's Match block`);
  return problems;
}

/**
 * Why the chroot named in our Match block must not be deleted by --purge, or null: the same system
 * directories and homes --root refuses, a path sshd would expand (%h, %u) or that is not absolute, and a
 * tree shared with another account's chroot.
 */
export function purgeProblem(chroot: string, accounts: HomeEntry[], managed: ManagedChroot[], self: string): string | null {
  if (!chroot.startsWith('/') || chroot.includes('%')) return `${chroot} is not a plain absolute path`;
  const parts = chroot.split('/').slice(1);
  if (parts.some((c) => c === '.' || c === '..')) return `${chroot} contains "." or ".." components`;
  return systemDirProblem(chroot) ?? homeProblem(chroot, accounts, self) ?? otherChrootProblem(chroot, managed, self);
}

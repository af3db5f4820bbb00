/**
 * Renders our Match block from its template (the caller reads the template file and passes its text,
 * keeping this module free of I/O), and builds internal-sftp's request allow-list.
 */
import { UsageError } from '../errors.js';

export const templateName = 'sshd-match.conf.hbs';

export interface MatchBlockOptions {
  user: string;
  chroot: string;
  /** One path or several (sshd tries each in turn). */
  authorizedKeysFile: string | string[];
  /** Arguments after `internal-sftp`, e.g. '-u 0022 -p realpath,open,...'. */
  sftpFlags: string;
  /** One or more lines saying the block is managed by sftp-setup; '# ' is added where missing. */
  header: string;
  /** Accept certificates from the user CA (sftp-setup ca init), for this account's own name only. */
  certificates?: { trustedUserCaKeys: string; authorizedPrincipalsFile: string; revokedKeys: string };
}

// Usernames that are also safe as a Match pattern: no wildcards, lists, negation or spaces.
const USER_RE = /^[a-z_][a-z0-9_.-]*\$?$/i;

/**
 * Quote one sshd_config argument so argv_split() gives it back unchanged: double quotes when it
 * holds spaces, quotes, backslashes or starts with '#'; inside them only \" and \\ are escapes.
 */
export function quoteArg(value: string, what: string): string {
  if (value === '') throw new UsageError(`${what} is empty`, `give a non-empty ${what}`);
  if (/[\r\n\0]/.test(value) || /[\x00-\x08\x0b-\x1f\x7f]/.test(value)) {
    throw new UsageError(`${what} contains a line break or control character: ${JSON.stringify(value)}`, `use a plain ${what}`);
  }
  if (!/[\s"'\\#]/.test(value)) return value;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function headerLines(header: string): string {
  const lines = header.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  return lines.map((l) => (l.trimStart().startsWith('#') ? l : l === '' ? '#' : `# ${l}`)).join('\n');
}

/**
 * Fill a template's `{{name}}` placeholders, verbatim (a config file: no HTML escaping; quoting is done by
 * quoteArg). The template keeps Handlebars syntax, but only plain placeholders: anything else between
 * braces, or a name without a value, is an error, never silently left in the file. A placeholder alone on
 * its line whose value is empty takes the line with it (an optional group of directives). Handlebars itself
 * (with its compiler, a quarter of a megabyte to load on every init) is not needed for that.
 */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const emptyLine = /^[ \t]*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}[ \t]*(?:\n|$)/gm;
  const kept = template.replace(emptyLine, (line, name: string) => (Object.hasOwn(values, name) && values[name] === '' ? '' : line));
  return kept.replace(/\{\{([^{}]*)\}\}|\{\{|\}\}/g, (whole, inner: string | undefined) => {
    const name = inner?.trim();
    if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`template: unsupported ${JSON.stringify(whole)}`);
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) throw new Error(`template: no value for {{${name}}}`);
    return value;
  });
}

export function renderMatchBlock(template: string, opts: MatchBlockOptions): string {
  if (!USER_RE.test(opts.user)) {
    throw new UsageError(`user name ${JSON.stringify(opts.user)} is not usable in a Match block`, 'use letters, digits, "_", "-" or "."');
  }
  if (/[\r\n]/.test(opts.sftpFlags)) {
    throw new UsageError('internal-sftp flags contain a line break', 'pass the flags on one line');
  }
  const text = fillTemplate(template, {
    header: headerLines(opts.header),
    user: opts.user,
    chroot: quoteArg(opts.chroot, 'chroot directory'),
    // ForceCommand takes the rest of the line verbatim (servconf.c), so no quoting here.
    sftpFlags: opts.sftpFlags.trim(),
    authorizedKeysFile: [opts.authorizedKeysFile].flat().map((p) => quoteArg(p, 'authorized keys file')).join(' '),
    certificates: opts.certificates
      ? [
          `    TrustedUserCAKeys ${quoteArg(opts.certificates.trustedUserCaKeys, 'trusted user CA keys file')}`,
          `    AuthorizedPrincipalsFile ${quoteArg(opts.certificates.authorizedPrincipalsFile, 'authorized principals file')}`,
          `    RevokedKeys ${quoteArg(opts.certificates.revokedKeys, 'revoked keys file')}`,
        ].join('\n')
      : '',
  });
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Every request internal-sftp knows (sftp-server -Q requests, OpenSSH 9.x). */
export const SFTP_REQUESTS = [
  'open', 'close', 'read', 'write', 'lstat', 'fstat', 'setstat', 'fsetstat', 'opendir', 'readdir',
  'remove', 'mkdir', 'rmdir', 'realpath', 'stat', 'rename', 'readlink', 'symlink', 'posix-rename',
  'statvfs', 'fstatvfs', 'hardlink', 'fsync', 'lsetstat', 'limits', 'expand-path', 'copy-data',
  'home-directory', 'users-groups-by-id',
] as const;

export type SftpRequest = (typeof SFTP_REQUESTS)[number];
export type SftpProfile = 'allsky' | 'dropbox';

// What a plain upload needs: lftp put = realpath, stat, open, write, close; OpenSSH sftp adds limits;
// scp (SFTP mode) adds expand-path/home-directory for ~ paths, lstat/fstat. `read` stays denied: opening
// for write still works.
// Neither `setstat` (chmod/chown/touch by path) nor `fsetstat` (the same on a handle) is allowed:
// fsetstat acts on any handle, and OPEN with the read flag gives a handle on a *directory* too, so with it
// the account made its directories drwsrwsrwx and its uploads -rwsrwsrwx. Measured on OpenSSH 9.2 without
// fsetstat: lftp 4.9 sends FSETSTAT for the mtime after a put, ignores the refusal and succeeds (Allsky's
// put to a temp name, rm -f, mv works; the file gets the upload time as mtime); `sftp put` works (`put -p`
// prints "remote fsetstat: Permission denied"); scp works for new files but, as it opens without TRUNCATE
// and truncates with fsetstat, overwriting an existing file with a shorter one leaves the old tail.
// What the allow-list cannot bound: OPEN and MKDIR carry modes. Under -u 0022 OPEN with 06777 creates
// -rwsr-sr-x and MKDIR with 07777 drwxr-xr-t (the umask clears only group/other write): a nosuid,nodev
// mount of the tree (init --protect-mount) and doctor's mode check close that.
const UPLOAD: SftpRequest[] = [
  'realpath', 'stat', 'lstat', 'fstat', 'open', 'close', 'write', 'fsync',
  'limits', 'expand-path', 'home-directory',
];

export const SFTP_PROFILES: Record<SftpProfile, readonly SftpRequest[]> = {
  // Allsky's upload.sh: put to a temp name, `rm -f` target, `mv` (lftp rename, OpenSSH sftp
  // posix-rename), `glob --exist` (opendir/readdir), and mkdir for its dated sub-directories.
  allsky: [...UPLOAD, 'opendir', 'readdir', 'remove', 'rename', 'posix-rename', 'mkdir'],
  // Strict drop box: write new files only; clients must not use temp-file-and-rename.
  dropbox: UPLOAD,
};

/**
 * internal-sftp arguments: umask 0022 and an allow-list (-p) for the profile; with `log`, `-l INFO`: open,
 * close (with the bytes written), rename and remove of every upload go to the log (through /dev/log inside
 * the chroot, see collector/devlog.ts).
 */
export function sftpProfileFlags(profile: SftpProfile, log = false): string {
  const allowed = SFTP_PROFILES[profile];
  if (!allowed) throw new UsageError(`unknown SFTP profile ${JSON.stringify(profile)}`, 'use "allsky" or "dropbox"');
  return `-u 0022 -p ${allowed.join(',')}${log ? ' -l INFO' : ''}`;
}

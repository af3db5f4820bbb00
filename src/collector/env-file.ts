/**
 * Which file `--collector-env` may name (init writes it as root; doctor reads it): a regular `.env`-style
 * file of the collector application, nothing else. Rules, decided here once:
 * - its name is `.env` or ends in `.env` (`production.env`); `.env.local` and friends are not accepted;
 * - it is not below a system directory (/etc, /usr, /boot, /proc, /sys, /dev, /run, /bin, /sbin, /lib*, /root)
 *   nor inside any `.ssh` directory;
 * - its directory exists, is a real directory (no symbolic link anywhere on the path) and is not
 *   world-writable;
 * - if it exists: a regular file (not a link), with one hard link, at most 1 MiB, and every line is a dotenv
 *   line (blank, `# comment`, `KEY=value` or `export KEY=value`).
 * A file that breaks a rule is refused with exit 2 before anything changes.
 */
import { basename, dirname } from 'node:path';
import { UsageError } from '../errors.js';
import { readText, resolveLinks, statPath } from '../system/files.js';
import { LIB_DIR } from './root-rules.js';

const SYSTEM_TREES = ['/etc', '/usr', '/boot', '/proc', '/sys', '/dev', '/run', '/bin', '/sbin', '/root', '/var/spool/cron', '/var/lib/dpkg'];
export const MAX_ENV_BYTES = 1 << 20;

const FIX = 'give the path of the collector application\'s own .env file, e.g. /opt/collector-app/.env';

/** Why the path itself (name and place) cannot be a collector .env, or null. Pure. */
export function envPathProblem(path: string): string | null {
  const name = basename(path);
  if (!(name === '.env' || (name.endsWith('.env') && name.length > 4))) return 'is not a .env file (its name must be .env or end in .env)';
  const tree = SYSTEM_TREES.find((t) => path.startsWith(`${t}/`)) ?? (LIB_DIR.test(path) ? path.split('/').slice(0, 2).join('/') : undefined);
  if (tree) return `is inside the system directory ${tree}`;
  if (path.split('/').includes('.ssh')) return 'is inside an .ssh directory';
  return null;
}

/**
 * The first line that is not a dotenv line (1-based number and the reason), or null. Values may be quoted
 * on one line; anything else (binary data, a passwd-style line, a multi-line value) is not ours to edit.
 */
export function dotenvProblem(text: string): { line: number; why: string } | null {
  if (text.includes('\0')) return { line: text.slice(0, text.indexOf('\0')).split('\n').length, why: 'holds a NUL byte (binary data)' };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.replace(/\r$/, '');
    if (/^\s*(#.*)?$/.test(l)) continue;
    const m = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=(.*)$/.exec(l);
    if (!m) return { line: i + 1, why: 'is not KEY=value, a comment or blank' };
    const v = m[1]!.trim();
    if ((v.startsWith('"') && !/^"(?:[^"\\]|\\.)*"(\s+#.*)?$/.test(v)) || (v.startsWith("'") && !/^'[^']*'(\s+#.*)?$/.test(v))) {
      return { line: i + 1, why: 'has a quoted value that does not end on the same line' };
    }
  }
  return null;
}

/**
 * Check a --collector-env path on the host, before anything changes. A missing file passes (init creates
 * it; doctor reports it). Throws UsageError naming the input.
 */
export async function refuseBadCollectorEnv(path: string, flag = '--collector-env'): Promise<void> {
  const bad = (why: string): never => {
    throw new UsageError(`${flag} ${path} ${why}; nothing was changed`, FIX);
  };
  const p = envPathProblem(path);
  if (p) bad(p);
  const dir = dirname(path);
  const parent = await statPath(dir);
  if (!parent) bad(`is in ${dir}, which does not exist`);
  if (parent!.type !== 'dir') bad(`is in ${dir}, which is ${parent!.type === 'symlink' ? 'a symbolic link' : 'not a directory'}`);
  const real = await resolveLinks(dir).catch(() => null);
  if (real !== dir) bad(`is reached through a symbolic link (its directory is really ${real ?? 'unreadable'})`);
  if (parent!.mode & 0o002) bad(`is in ${dir}, which everyone may write to`);
  const info = await statPath(path);
  if (!info) return;
  if (info.type === 'symlink') bad('is a symbolic link');
  if (info.type !== 'file') bad('is not a regular file');
  if (info.nlink > 1) bad(`has ${info.nlink} hard links (another name for the same file)`);
  if (info.size > MAX_ENV_BYTES) bad(`is larger than ${MAX_ENV_BYTES} bytes`);
  const text = await readText(path);
  const d = text === null ? null : dotenvProblem(text);
  if (d) bad(`is not a .env file: line ${d.line} ${d.why}`);
}

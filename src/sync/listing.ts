/**
 * Reading what the collector has from OpenSSH sftp's `ls -lan DIR` output (run with LC_ALL=C). The names in it
 * are written by whoever holds the upload key, and sftp prints them raw: a name holding a newline forges
 * lines. It cannot hold a `/`, though, and sftp prints each entry as `DIR/NAME`: so only lines whose path is
 * a plain name directly below a directory we listed count. Lines that do not parse, other paths, names that
 * are not plain and paths seen twice are dropped. What is read here only decides what need not be sent
 * again; a camera's file is deleted only after a confirmation by exact path (`ls -ln PATH`, one line naming
 * just the path we asked for). Pure.
 */
import { finalOfPart, isPlainName } from './names.js';

export interface RemoteEntry {
  type: 'file' | 'dir' | 'other';
  size: number;
}

// type+mode, links (`?` over SFTP), uid, gid, size, three date words (`Nov 30 06:50` or `Nov 30  2023`), path.
const LINE = /^([-dlcbps?])[-rwxsStT]{9}\S*\s+\S+\s+\d+\s+\d+\s+(\d{1,15})\s+\S+\s+\S+\s+\S+ (.+)$/;

/**
 * Entries by path relative to the login directory (`archive/20240101/image.jpg`,
 * `archive/20240101/.image.jpg.sftp-setup-part`), from the stdout of a batch of `ls -lan DIR` commands.
 */
export function parseListing(stdout: string, dirs: string[]): Map<string, RemoteEntry> {
  const listed = new Set(dirs);
  const seen = new Map<string, RemoteEntry>();
  const doubtful = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (line.startsWith('sftp> ')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const path = m[3]!;
    const slash = path.lastIndexOf('/');
    if (slash <= 0) continue;
    const dir = path.slice(0, slash);
    const name = path.slice(slash + 1);
    if (!listed.has(dir)) continue;
    if (!isPlainName(name) && finalOfPart(name) === undefined) continue;
    if (seen.has(path)) doubtful.add(path);
    const type = m[1] === '-' ? 'file' : m[1] === 'd' ? 'dir' : 'other';
    seen.set(path, { type, size: Number(m[2]) });
  }
  for (const p of doubtful) seen.delete(p);
  return seen;
}

/**
 * What sftp printed for each command of a batch: the echo lines (`sftp> CMD`) split stdout into sections.
 * `null` when the echoes are not exactly a prefix of the commands we sent, in order: a listed name can forge
 * an echo line, and then no section can be trusted.
 */
export function sections(stdout: string, sent: string[]): Array<{ cmd: string; lines: string[] }> | null {
  const out: Array<{ cmd: string; lines: string[] }> = [];
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (line.startsWith('sftp> ')) {
      const cmd = line.slice(6);
      if (sent[out.length] !== cmd) return null;
      out.push({ cmd, lines: [] });
    } else if (out.length === 0) {
      return null;
    } else {
      out[out.length - 1]!.lines.push(line);
    }
  }
  return out;
}

/**
 * The size an exact-path `ls -ln PATH` printed: its section must be exactly one line, a regular file, ending
 * in exactly the path we asked for (sftp prints the path as we gave it). A directory at that path lists its
 * entries instead (more lines, or other paths): not a confirmation.
 */
export function confirmedSize(section: { lines: string[] }, path: string): number | undefined {
  if (section.lines.length !== 1) return undefined;
  const m = LINE.exec(section.lines[0]!);
  return m && m[1] === '-' && m[3] === path ? Number(m[2]) : undefined;
}

/**
 * A nosuid,nodev,noexec mount of the upload tree: what OpenSSH's allow-list cannot bound. OPEN and MKDIR
 * carry modes (under internal-sftp -u 0022, OPEN with 06777 creates -rwsr-sr-x), so the account can still
 * leave set-uid files; on a nosuid,nodev,noexec mount they are inert. Pure: fstab and mountinfo text in,
 * plans and verdicts out (src/system/mount.ts mounts, src/collector/mount-step.ts applies).
 */

/** The per-mount flags that make files in the tree inert. */
export const PROTECT_FLAGS = ['nosuid', 'nodev', 'noexec'] as const;

/** fstab(5) and mountinfo escape whitespace and backslashes as \ooo. */
export function escapeMountPath(path: string): string {
  return path.replace(/[\s\\#]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

export function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export const fstabComment = (root: string) => `# sftp-setup: upload tree ${escapeMountPath(root)} without set-uid, devices or programs (init --protect-mount)`;

/** The line init --protect-mount adds: a bind mount of the tree onto itself with the flags; nofail so a
 *  missing tree never stops a boot. */
export function fstabLine(root: string): string {
  const p = escapeMountPath(root);
  return `${p} ${p} none bind,${PROTECT_FLAGS.join(',')},nofail 0 0`;
}

export interface FstabEntry {
  /** 0-based line number */
  index: number;
  source: string;
  target: string;
  type: string;
  options: string[];
}

export function parseFstab(text: string): FstabEntry[] {
  const out: FstabEntry[] = [];
  text.split('\n').forEach((line, index) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const f = t.split(/\s+/);
    if (f.length < 2) return;
    out.push({ index, source: unescapeMountPath(f[0]!), target: unescapeMountPath(f[1]!), type: f[2] ?? '', options: (f[3] ?? 'defaults').split(',') });
  });
  return out;
}

const norm = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);

/**
 * /etc/fstab with the tree protected at the next boot: an entry for it (the last one wins at boot) gets
 * the missing flags added to its options; without one, our bind line is appended. Unchanged text when
 * nothing is missing.
 */
export function planFstab(text: string, root: string): { text: string; change: 'none' | 'added' | 'options' } {
  const entries = parseFstab(text).filter((e) => norm(e.target) === norm(root));
  const last = entries[entries.length - 1];
  if (last) {
    const missing = PROTECT_FLAGS.filter((f) => !last.options.includes(f));
    if (missing.length === 0) return { text, change: 'none' };
    const lines = text.split('\n');
    const f = lines[last.index]!.trim().split(/\s+/);
    while (f.length < 4) f.push(f.length === 2 ? 'auto' : 'defaults');
    f[3] = [...f[3]!.split(',').filter((o) => !['suid', 'dev', 'exec'].includes(o)), ...missing].join(',');
    lines[last.index] = f.join(' ');
    return { text: lines.join('\n'), change: 'options' };
  }
  const base = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return { text: `${base}${fstabComment(root)}\n${fstabLine(root)}\n`, change: 'added' };
}

export interface MountEntry {
  id: number;
  parent: number;
  mountPoint: string;
  /** per-mount options (field 6): rw, nosuid, nodev, noexec, relatime … */
  options: string[];
  fsType: string;
  source: string;
}

/** /proc/self/mountinfo (proc(5)); lines that do not parse are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0 || !/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[1]!)) continue;
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      mountPoint: unescapeMountPath(f[4]!),
      options: f[5]!.split(','),
      fsType: f[dash + 1] ?? '',
      source: unescapeMountPath(f[dash + 2] ?? ''),
    });
  }
  return out;
}

/** The mount a path is on: the longest mount point above it; of several at one point, the last (on top). */
export function mountOf(entries: MountEntry[], path: string): MountEntry | undefined {
  const p = norm(path);
  let best: MountEntry | undefined;
  for (const e of entries) {
    const mp = norm(e.mountPoint);
    const above = mp === p || mp === '/' || p.startsWith(`${mp}/`);
    if (above && (!best || mp.length >= norm(best.mountPoint).length)) best = e;
  }
  return best;
}

export interface MountProtection {
  mount: MountEntry | undefined;
  /** the tree is a mount point of its own (so its flags can change without touching anything else) */
  ownMount: boolean;
  missing: string[];
}

export function mountProtection(entries: MountEntry[], root: string): MountProtection {
  const mount = mountOf(entries, root);
  return {
    mount,
    ownMount: Boolean(mount && norm(mount.mountPoint) === norm(root)),
    missing: PROTECT_FLAGS.filter((f) => !mount?.options.includes(f)),
  };
}

/**
 * /etc/fstab with one marked entry of ours: `comment` on its own line, `line` below it. An entry already
 * marked with that comment is replaced when it differs; otherwise both lines are appended.
 */
export function planMarkedEntry(text: string, comment: string, line: string): { text: string; change: 'none' | 'added' | 'updated' } {
  const lines = text.split('\n');
  const at = lines.findIndex((l, i) => l === comment && i + 1 < lines.length && parseFstab(lines[i + 1]!).length === 1);
  if (at >= 0) {
    if (lines[at + 1] === line) return { text, change: 'none' };
    lines[at + 1] = line;
    return { text: lines.join('\n'), change: 'updated' };
  }
  const base = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return { text: `${base}${comment}\n${line}\n`, change: 'added' };
}

/**
 * /etc/fstab without our marked entries: each `comment` line whose next line is an entry `ours()` accepts
 * goes, with that entry. Anything else (an entry of the person's own, even one we added flags to) stays.
 */
export function removeMarkedEntry(text: string, comment: string, ours: (e: FstabEntry) => boolean): { text: string; removed: boolean } {
  const lines = text.split('\n');
  const keep: string[] = [];
  let removed = false;
  for (let i = 0; i < lines.length; i++) {
    const e = lines[i] === comment && i + 1 < lines.length ? parseFstab(lines[i + 1]!)[0] : undefined;
    if (e && ours(e)) {
      i++;
      removed = true;
      continue;
    }
    keep.push(lines[i]!);
  }
  return { text: removed ? keep.join('\n') : text, removed };
}

/**
 * /etc/fstab without what `init --protect-mount` added for this tree: our marked comment and the bind line
 * below it. Anything else (an entry of the person's own, even one we added flags to) stays.
 */
export function removeFromFstab(text: string, root: string): { text: string; removed: boolean } {
  return removeMarkedEntry(text, fstabComment(root), (e) =>
    norm(e.target) === norm(root) && norm(e.source) === norm(root) && e.type === 'none' && e.options.includes('bind'));
}

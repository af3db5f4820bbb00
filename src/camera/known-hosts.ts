/**
 * known_hosts editing for the collector's pinned host key. Pure: the caller reads and writes the file.
 * Hashed entries (`|1|salt|hmac`, what Debian's HashKnownHosts writes) are matched by recomputing the HMAC,
 * so an entry is found whether or not the file is hashed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { appendLines, joinLines, splitLines, type Line } from '../lftp/lines.js';

export interface HostKey {
  type: string;
  base64: string;
}

/** How ssh names a host in known_hosts: the bare host on port 22, `[host]:port` otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${mac}`;
}

/** Does one comma-separated host-field entry name exactly this host (plain or hashed)? Wildcards never do. */
export function entryNames(entry: string, pattern: string): boolean {
  const h = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(entry);
  if (h) return hashHostName(pattern, Buffer.from(h[1]!, 'base64')) === entry;
  return entry.toLowerCase() === pattern;
}

interface Entry {
  hosts: string[];
  type: string;
  base64: string;
  rest: string;
}

function parseEntry(content: string): Entry | undefined {
  const t = content.trim();
  if (t === '' || t.startsWith('#') || t.startsWith('@')) return undefined; // markers (@revoked, @cert-authority) stay as they are
  const f = t.split(/[ \t]+/);
  if (f.length < 3) return undefined;
  return { hosts: f[0]!.split(','), type: f[1]!, base64: f[2]!, rest: f.slice(3).join(' ') };
}

const same = (a: HostKey, b: HostKey) => a.type === b.type && a.base64 === b.base64;

export interface KnownHostsPlan {
  text: string;
  changed: boolean;
  /** Entries for this host whose key the collector no longer has: removed (needs confirmation). */
  stale: string[];
  /** The pinned key was absent and is added. */
  added: boolean;
}

/**
 * Make `pinned` the key known for this host. Entries for the host with a key the collector still offers
 * (`current`), or of a type that was not looked at, are kept; entries with any other key are stale and
 * dropped (only this host's name is taken out of a shared line). Every other line is kept byte for byte.
 */
export function planKnownHosts(
  existing: string,
  pattern: string,
  pinned: HostKey,
  current: HostKey[],
  opts: { hash: boolean; salt?: Buffer },
): KnownHostsPlan {
  const stale: string[] = [];
  const seenTypes = new Set([pinned.type, ...current.map((k) => k.type)]);
  let present = false;
  const out: Line[] = [];
  for (const line of splitLines(existing)) {
    const e = parseEntry(line.content);
    const ours = e?.hosts.filter((h) => entryNames(h, pattern)) ?? [];
    if (!e || ours.length === 0) {
      out.push(line);
      continue;
    }
    const key = { type: e.type, base64: e.base64 };
    if (same(key, pinned)) present = true;
    if (same(key, pinned) || current.some((c) => same(c, key)) || !seenTypes.has(key.type)) {
      out.push(line);
      continue;
    }
    stale.push(line.content);
    const others = e.hosts.filter((h) => !ours.includes(h));
    if (others.length > 0) {
      out.push({ content: [others.join(','), e.type, e.base64, ...(e.rest ? [e.rest] : [])].join(' '), eol: line.eol });
    }
  }
  let lines = out;
  if (!present) {
    const name = opts.hash ? hashHostName(pattern, opts.salt) : pattern;
    lines = appendLines(out, [`${name} ${pinned.type} ${pinned.base64}`]);
  }
  const text = joinLines(lines);
  return { text, changed: text !== existing, stale, added: !present };
}

/** ssh-keyscan's key lines, without the `# host:port SSH-2.0-…` comment OpenSSH 10 prints on stdout (9.x: stderr). */
export function keyscanKeyLines(stdout: string): string {
  return stdout.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).map((l) => `${l}\n`).join('');
}

/** Keys from `ssh-keyscan` output or `*.pub` host key files: `[host] type base64 [comment]` lines. */
export function parseHostKeyLines(text: string): HostKey[] {
  const keys: HostKey[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    const f = t.split(/\s+/);
    const i = /^(ssh|ecdsa|sk|rsa)-/.test(f[0]!) ? 0 : 1;
    const type = f[i];
    const base64 = f[i + 1];
    if (type && base64 && /^[A-Za-z0-9+/]+={0,2}$/.test(base64) && !keys.some((k) => k.type === type && k.base64 === base64)) {
      keys.push({ type, base64 });
    }
  }
  return keys;
}

/** Host key types in the order ssh asks for them. */
export const HOST_KEY_ORDER = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'ssh-rsa'];

/** Which key to pin when nothing else decides: the one ssh itself prefers. */
export function preferredHostKey(keys: HostKey[]): HostKey | undefined {
  return [...keys].sort((a, b) => rank(a.type) - rank(b.type))[0];
  function rank(t: string) {
    const i = HOST_KEY_ORDER.indexOf(t);
    return i === -1 ? HOST_KEY_ORDER.length : i;
  }
}

/** The entries that name this host (plain or hashed), with their 1-based line numbers. */
export function hostEntries(text: string, pattern: string): Array<HostKey & { line: number; content: string }> {
  const found: Array<HostKey & { line: number; content: string }> = [];
  splitLines(text).forEach((l, i) => {
    const e = parseEntry(l.content);
    if (e && e.hosts.some((h) => entryNames(h, pattern))) found.push({ line: i + 1, type: e.type, base64: e.base64, content: l.content.trim() });
  });
  return found;
}

/** The `@cert-authority` lines whose host field names exactly this host (plain or hashed), with line numbers. */
export function certAuthorityEntries(text: string, pattern: string): Array<HostKey & { line: number; content: string }> {
  const found: Array<HostKey & { line: number; content: string }> = [];
  splitLines(text).forEach((l, i) => {
    const f = l.content.trim().split(/[ \t]+/);
    if (f[0] !== '@cert-authority' || f.length < 4) return;
    if (f[1]!.split(',').some((h) => entryNames(h, pattern))) found.push({ line: i + 1, type: f[2]!, base64: f[3]!, content: l.content.trim() });
  });
  return found;
}

/**
 * Trust the collector through its host CA: one `@cert-authority PATTERN KEY` line for this host, and no
 * plain host key pinned for it any more (a new host key then needs nothing here). Plain entries for the host
 * and CA lines with another key are `stale` (only this host's name is taken out of a shared line); every
 * other line is kept byte for byte.
 */
export function planCertAuthority(existing: string, pattern: string, ca: HostKey): KnownHostsPlan {
  const stale: string[] = [];
  let present = false;
  const out: Line[] = [];
  for (const line of splitLines(existing)) {
    const f = line.content.trim().split(/[ \t]+/);
    const marker = f[0] === '@cert-authority' ? '@cert-authority ' : '';
    if (f[0]?.startsWith('@') && !marker) {
      out.push(line); // @revoked stays
      continue;
    }
    const e = marker ? { hosts: (f[1] ?? '').split(','), type: f[2] ?? '', base64: f[3] ?? '', rest: f.slice(4).join(' ') } : parseEntry(line.content);
    const ours = e?.hosts.filter((h) => entryNames(h, pattern)) ?? [];
    if (!e || ours.length === 0) {
      out.push(line);
      continue;
    }
    if (marker && same({ type: e.type, base64: e.base64 }, ca)) {
      present = true;
      out.push(line);
      continue;
    }
    stale.push(line.content);
    const others = e.hosts.filter((h) => !ours.includes(h));
    if (others.length > 0) out.push({ content: `${marker}${[others.join(','), e.type, e.base64, ...(e.rest ? [e.rest] : [])].join(' ')}`, eol: line.eol });
  }
  const lines = present ? out : appendLines(out, [`@cert-authority ${pattern} ${ca.type} ${ca.base64}`]);
  const text = joinLines(lines);
  return { text, changed: text !== existing, stale, added: !present };
}

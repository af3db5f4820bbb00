/**
 * Validation of command-line inputs. Pure: every function either returns a normalised value or throws a
 * UsageError naming the flag and the bad value, with a fix saying what is accepted. Values end up in
 * sshd_config, authorized_keys options and shell-free argv lists, so the rules are deliberately narrower
 * than what the underlying tools would tolerate.
 */
import { UsageError } from './errors.js';

/** Quote a user value for an error message: visible control characters, bounded length. */
export function show(value: string, max = 60): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

// Accounts Debian/Raspberry Pi OS create for themselves: an upload user must never be one of them.
const RESERVED_USERS = new Set([
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy',
  'www-data', 'backup', 'list', 'irc', 'gnats', 'nobody', 'nogroup', 'sshd', 'messagebus', 'systemd-network',
  'systemd-resolve', 'systemd-timesync', 'systemd-journal', 'systemd-coredump', '_apt', 'avahi', 'polkitd',
  'statd', 'tss', 'rtkit', 'pulse', 'lightdm', 'colord', 'dnsmasq', 'tcpdump', 'usbmux', 'saned', 'ntp',
  'postfix', 'ftp', 'adm', 'tty', 'disk', 'kmem', 'dialout', 'cdrom',
  'floppy', 'audio', 'dip', 'video', 'plugdev', 'staff', 'users', 'shadow', 'utmp', 'operator', 'src',
  'sudo', 'wheel', 'input', 'render', 'netdev', 'gpio', 'i2c', 'spi',
  // Raspberry Pi OS's conventional admin login: locking it into a chroot would lock the owner out.
  'pi',
]);

const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
const USER_FIX =
  'use 1-32 characters: lowercase letters, digits, "_" and "-", starting with a letter or "_" (e.g. allsky-upload)';

export function validateUserName(name: string, flag = '--user'): string {
  if (!USER_RE.test(name)) {
    const why =
      name === '' ? 'is empty'
      : name.length > 32 ? `is ${name.length} characters long (at most 32)`
      : name.startsWith('-') ? 'starts with "-"'
      : /[A-Z]/.test(name) ? 'contains uppercase letters'
      : 'contains characters not allowed in a user name';
    throw new UsageError(`${flag} ${show(name)} ${why}`, USER_FIX);
  }
  if (RESERVED_USERS.has(name) || name.startsWith('systemd-')) {
    throw new UsageError(
      `${flag} ${show(name)} is a reserved system account`,
      'choose a dedicated name for the upload account, e.g. allsky-upload',
    );
  }
  return name;
}

// Characters that sshd_config would read as tokens, quotes, comments or patterns.
const PATH_BAD_CHARS = /[%"'\\#*?[\]{}$`]/;

export function validateAbsPath(p: string, flag: string): string {
  const fix =
    'give an absolute path such as /srv/sftp/allsky, without spaces, quotes, %, *, ?, "." or ".." components';
  const bad = (why: string): never => {
    throw new UsageError(`${flag} ${show(p)} ${why}`, fix);
  };
  if (p === '') bad('is empty');
  if (!p.startsWith('/')) bad('is not an absolute path');
  if (/[\s\x00-\x1f\x7f]/.test(p)) bad('contains whitespace or control characters');
  if (p.includes('%')) bad('contains "%" (sshd expands it as a token)');
  if (PATH_BAD_CHARS.test(p)) bad('contains quote, glob or shell characters');
  const trimmed = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
  if (trimmed === '/') bad('is the root directory');
  if (trimmed.includes('//')) bad('contains "//"');
  const parts = trimmed.split('/').slice(1);
  if (parts.some((c) => c === '.' || c === '..')) bad('contains "." or ".." components');
  return trimmed;
}

export function validatePort(s: string | number, flag = '--port'): number {
  const text = String(s);
  const n = typeof s === 'number' ? s : /^[0-9]{1,5}$/.test(s) ? Number(s) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UsageError(`${flag} ${show(text)} is not a valid TCP port`, 'give a whole number from 1 to 65535, e.g. 22');
  }
  return n;
}

/** Dotted quad with decimal octets 0-255; leading zeros are refused because some tools read them as octal. */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((o) => /^(0|[1-9][0-9]{0,2})$/.test(o) && Number(o) <= 255);
}

/**
 * IPv6 literal without zone id ("%eth0" is meaningless in from= and a token in sshd_config), as RFC 4291
 * section 2.2 writes them: eight groups of 1 to 4 hex digits, at most one "::" standing for one or more zero
 * groups, the last two groups optionally as a dotted quad. Node's net.isIPv6 agrees (a unit test compares
 * them); this one spares a run loading Node's net module, and with it the stream modules, to validate a flag.
 */
export function isIPv6Literal(s: string): boolean {
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0 || s.length > 45) return false;
  let text = s;
  if (s.includes('.')) {
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    text = `${s.slice(0, lastColon + 1)}0:0`; // the quad is two groups
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8;
}

function ipv4Bytes(s: string): number[] {
  return s.split('.').map(Number);
}

function ipv6Bytes(s: string): number[] {
  // Expand an embedded IPv4 tail into two hextets first, then the "::" gap.
  let text = s.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = ipv4Bytes(v4[1]!);
    text = text.slice(0, v4.index) + `${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

/** True when the bits after the prefix are all zero: sshd refuses a network entry otherwise. */
function hostBitsZero(bytes: number[], prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}

function networkOf(bytes: number[], prefix: number, v6: boolean): string {
  const out = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  if (!v6) return out.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((out[i]! << 8) | out[i + 1]!).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function parseCidrList(s: string, flag = '--from'): string[] {
  const fix =
    'give comma-separated IPv4/IPv6 addresses or networks, e.g. 192.168.1.0/24,10.0.0.5,fd00::/8';
  // Space after a comma is a harmless typing habit; anything else that is not an address is refused.
  const items = s.split(',').map((x) => x.trim());
  if (items.some((x) => x === '')) {
    throw new UsageError(`${flag} ${show(s)} has an empty entry`, fix);
  }
  const out: string[] = [];
  for (const item of items) {
    const m = /^([^/]+)(?:\/([0-9]{1,3}))?$/.exec(item);
    const addr = m?.[1] ?? '';
    const v4 = isIPv4(addr);
    const v6 = !v4 && isIPv6Literal(addr);
    if (!m || (!v4 && !v6)) {
      throw new UsageError(`${flag} entry ${show(item)} is not an IP address or CIDR network`, fix);
    }
    const max = v4 ? 32 : 128;
    const prefix = m[2] === undefined ? max : Number(m[2]);
    if (m[2] !== undefined && (prefix > max || (m[2].length > 1 && m[2].startsWith('0')))) {
      throw new UsageError(`${flag} entry ${show(item)} has prefix length /${m[2]} (allowed 0-${max})`, fix);
    }
    const bytes = v4 ? ipv4Bytes(addr) : ipv6Bytes(addr);
    if (!hostBitsZero(bytes, prefix)) {
      const net = `${networkOf(bytes, prefix, v6)}/${prefix}`;
      throw new UsageError(
        `${flag} entry ${show(item)} has host bits set after /${prefix}; sshd would ignore it`,
        `use the network address ${net}, or the single address ${addr}`,
      );
    }
    const norm = v6 ? addr.toLowerCase() : addr;
    const entry = m[2] === undefined ? norm : `${norm}/${prefix}`;
    if (!out.includes(entry)) out.push(entry);
  }
  return out;
}

export function validateFingerprint(s: string, flag = '--host-key'): string {
  const text = s.trim();
  if (/^(MD5:)?([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(text)) {
    throw new UsageError(
      `${flag} ${show(s)} is an MD5 fingerprint`,
      'give the SHA256 form printed by "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" on the collector',
    );
  }
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/i.exec(text);
  // The body must decode to exactly 32 bytes; re-encoding catches a wrong final character.
  const body = m?.[1];
  if (!body || Buffer.from(body, 'base64').toString('base64').slice(0, 43) !== body) {
    throw new UsageError(
      `${flag} ${show(s)} is not a SHA256 key fingerprint`,
      'give "SHA256:" followed by 43 base64 characters, as printed by "ssh-keygen -lf KEY.pub"',
    );
  }
  return `SHA256:${body}`;
}

const HOST_FIX = 'give a host name (camera.local), an IPv4 address (192.168.1.20) or an IPv6 address (fd00::20)';

export function validateHostName(s: string, flag = '--collector'): string {
  const bracketed = /^\[(.*)\]$/.exec(s);
  if (bracketed) {
    if (isIPv6Literal(bracketed[1]!)) return bracketed[1]!.toLowerCase();
    throw new UsageError(`${flag} ${show(s)}: only IPv6 addresses go inside [ ]`, HOST_FIX);
  }
  if (isIPv4(s)) return s;
  if (isIPv6Literal(s)) return s.toLowerCase();
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  const labels = name.split('.');
  const ok =
    name.length > 0 &&
    name.length <= 253 &&
    labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l)) &&
    // All-numeric names are mistyped IPv4 addresses (e.g. 300.1.1.1), not host names.
    !/^[0-9.]+$/.test(name);
  if (!ok) {
    const why = s === '' ? 'is empty' : s.includes('@') ? 'contains "@" (give the user separately)' : 'is not a valid host name or IP address';
    throw new UsageError(`${flag} ${show(s)} ${why}`, HOST_FIX);
  }
  return name;
}

export interface AdminTarget {
  user: string;
  host: string;
}

// Admin logins may be root or a normal account with sudo: only the shape is checked.
const ADMIN_USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/;

export function validateAdminTarget(s: string, flag = '--via'): AdminTarget {
  const fix = 'give USER@HOST, e.g. root@collector.local or pi@192.168.1.10';
  const at = s.indexOf('@');
  if (at < 0 || at !== s.lastIndexOf('@')) {
    throw new UsageError(`${flag} ${show(s)} is not of the form USER@HOST`, fix);
  }
  const user = s.slice(0, at);
  if (!ADMIN_USER_RE.test(user)) {
    throw new UsageError(`${flag} ${show(s)}: user ${show(user)} is not a valid user name`, fix);
  }
  const host = validateHostName(s.slice(at + 1), flag);
  return { user, host };
}

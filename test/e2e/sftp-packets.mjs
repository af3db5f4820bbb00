/**
 * SFTP version 3 packets (draft-ietf-secsh-filexfer-02, as OpenSSH speaks it), pure: requests from plain
 * objects to bytes, replies from bytes to plain objects. Names and data are arbitrary bytes, so a test can
 * send any name a hostile client could (newlines, CR, ESC, quotes, 255 bytes, invalid UTF-8).
 *
 * Test code only, no dependencies: test/e2e/raw-sftp.mjs runs it with plain `node` inside a throwaway host.
 */

export const SSH_FXP = {
  INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, LSTAT: 7, FSTAT: 8, SETSTAT: 9, FSETSTAT: 10,
  OPENDIR: 11, READDIR: 12, REMOVE: 13, MKDIR: 14, RMDIR: 15, REALPATH: 16, STAT: 17, RENAME: 18,
  READLINK: 19, SYMLINK: 20,
  STATUS: 101, HANDLE: 102, DATA: 103, NAME: 104, ATTRS: 105, EXTENDED: 200, EXTENDED_REPLY: 201,
};

export const PFLAGS = { read: 0x01, write: 0x02, append: 0x04, creat: 0x08, trunc: 0x10, excl: 0x20 };

export const ATTR = { SIZE: 0x1, UIDGID: 0x2, PERMISSIONS: 0x4, ACMODTIME: 0x8, EXTENDED: 0x80000000 };

export const STATUS_NAMES = [
  'OK', 'EOF', 'NO_SUCH_FILE', 'PERMISSION_DENIED', 'FAILURE', 'BAD_MESSAGE', 'NO_CONNECTION',
  'CONNECTION_LOST', 'OP_UNSUPPORTED',
];

/**
 * A name or data given in JSON: a plain string (JSON escapes such as \n, \r, \u001b give any character;
 * sent as UTF-8), `{ "b64": "…" }` for raw bytes, `{ "hex": "…" }`, or `{ "repeat": "a", "count": 255 }`.
 * A `prefix`/`suffix` may be added to the object forms.
 */
export function bytesOf(spec) {
  if (spec === undefined || spec === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(spec)) return spec;
  if (typeof spec === 'string') return Buffer.from(spec, 'utf8');
  if (typeof spec === 'object') {
    let core;
    if (typeof spec.b64 === 'string') core = Buffer.from(spec.b64, 'base64');
    else if (typeof spec.hex === 'string') core = Buffer.from(spec.hex, 'hex');
    else if (typeof spec.repeat === 'string') core = Buffer.from(spec.repeat.repeat(spec.count ?? 1), 'utf8');
    else throw new Error(`bad byte spec ${JSON.stringify(spec)}`);
    return Buffer.concat([bytesOf(spec.prefix ?? ''), core, bytesOf(spec.suffix ?? '')]);
  }
  throw new Error(`bad byte spec ${JSON.stringify(spec)}`);
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function str(spec) {
  const b = bytesOf(spec);
  return Buffer.concat([u32(b.length), b]);
}

/** pflags from a number or a list of names ("write", "creat", …). */
export function pflagsOf(v) {
  if (typeof v === 'number') return v >>> 0;
  if (Array.isArray(v)) {
    return v.reduce((acc, name) => {
      const bit = PFLAGS[name];
      if (bit === undefined) throw new Error(`unknown open flag ${name}`);
      return acc | bit;
    }, 0);
  }
  if (v === undefined) return PFLAGS.write | PFLAGS.creat | PFLAGS.trunc;
  throw new Error(`bad pflags ${JSON.stringify(v)}`);
}

/** ATTRS: only the fields present are sent (size, uid+gid, permissions, atime+mtime, extended pairs). */
export function encodeAttrs(a = {}) {
  let flags = 0;
  const parts = [];
  if (a.size !== undefined) {
    flags |= ATTR.SIZE;
    parts.push(u64(a.size));
  }
  if (a.uid !== undefined || a.gid !== undefined) {
    flags |= ATTR.UIDGID;
    parts.push(u32(a.uid ?? 0), u32(a.gid ?? 0));
  }
  if (a.permissions !== undefined) {
    flags |= ATTR.PERMISSIONS;
    parts.push(u32(a.permissions));
  }
  if (a.atime !== undefined || a.mtime !== undefined) {
    flags |= ATTR.ACMODTIME;
    parts.push(u32(a.atime ?? 0), u32(a.mtime ?? 0));
  }
  if (a.extended && a.extended.length) {
    flags |= ATTR.EXTENDED;
    parts.push(u32(a.extended.length));
    for (const [k, v] of a.extended) parts.push(str(k), str(v));
  }
  return Buffer.concat([u32(flags), ...parts]);
}

function handleOf(h) {
  if (Buffer.isBuffer(h)) return h;
  if (typeof h === 'string') return Buffer.from(h, 'hex');
  throw new Error(`bad handle ${JSON.stringify(h)}`);
}

/** One whole packet: uint32 length, byte type, payload. */
export function frame(type, payload) {
  return Buffer.concat([u32(payload.length + 1), Buffer.from([type]), payload]);
}

export function encodeInit(version = 3) {
  return frame(SSH_FXP.INIT, u32(version));
}

/**
 * A request as a packet. `req.op` names it; handles are Buffers or hex strings (the caller resolves labels).
 * symlink follows OpenSSH's order on the wire (target first, then the link's path: sftp-server.c reads
 * "oldpath" then "newpath", the reverse of the draft).
 */
export function encodeRequest(req, id) {
  const rid = u32(id);
  const T = SSH_FXP;
  switch (req.op) {
    case 'open':
      return frame(T.OPEN, Buffer.concat([rid, str(req.path), u32(pflagsOf(req.pflags)), encodeAttrs(req.attrs)]));
    case 'close':
      return frame(T.CLOSE, Buffer.concat([rid, str(handleOf(req.handle))]));
    case 'read':
      return frame(T.READ, Buffer.concat([rid, str(handleOf(req.handle)), u64(req.offset ?? 0), u32(req.len ?? 32768)]));
    case 'write':
      return frame(T.WRITE, Buffer.concat([rid, str(handleOf(req.handle)), u64(req.offset ?? 0), str(req.data ?? '')]));
    case 'lstat':
      return frame(T.LSTAT, Buffer.concat([rid, str(req.path)]));
    case 'stat':
      return frame(T.STAT, Buffer.concat([rid, str(req.path)]));
    case 'fstat':
      return frame(T.FSTAT, Buffer.concat([rid, str(handleOf(req.handle))]));
    case 'setstat':
      return frame(T.SETSTAT, Buffer.concat([rid, str(req.path), encodeAttrs(req.attrs)]));
    case 'fsetstat':
      return frame(T.FSETSTAT, Buffer.concat([rid, str(handleOf(req.handle)), encodeAttrs(req.attrs)]));
    case 'opendir':
      return frame(T.OPENDIR, Buffer.concat([rid, str(req.path)]));
    case 'readdir':
      return frame(T.READDIR, Buffer.concat([rid, str(handleOf(req.handle))]));
    case 'remove':
      return frame(T.REMOVE, Buffer.concat([rid, str(req.path)]));
    case 'mkdir':
      return frame(T.MKDIR, Buffer.concat([rid, str(req.path), encodeAttrs(req.attrs)]));
    case 'rmdir':
      return frame(T.RMDIR, Buffer.concat([rid, str(req.path)]));
    case 'realpath':
      return frame(T.REALPATH, Buffer.concat([rid, str(req.path)]));
    case 'rename':
      return frame(T.RENAME, Buffer.concat([rid, str(req.from), str(req.to)]));
    case 'readlink':
      return frame(T.READLINK, Buffer.concat([rid, str(req.path)]));
    case 'symlink':
      return frame(T.SYMLINK, Buffer.concat([rid, str(req.target), str(req.link)]));
    case 'posix-rename':
      return frame(T.EXTENDED, Buffer.concat([rid, str('posix-rename@openssh.com'), str(req.from), str(req.to)]));
    case 'hardlink':
      return frame(T.EXTENDED, Buffer.concat([rid, str('hardlink@openssh.com'), str(req.from), str(req.to)]));
    case 'lsetstat':
      return frame(T.EXTENDED, Buffer.concat([rid, str('lsetstat@openssh.com'), str(req.path), encodeAttrs(req.attrs)]));
    case 'extended':
      return frame(T.EXTENDED, Buffer.concat([rid, str(req.name), ...(req.args ?? []).map(str)]));
    default:
      throw new Error(`unknown request ${JSON.stringify(req.op)}`);
  }
}

/** Reads SFTP fields from a payload, front to back. */
class Reader {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }
  need(n) {
    if (this.pos + n > this.buf.length) throw new Error(`truncated packet: need ${n} bytes at ${this.pos} of ${this.buf.length}`);
  }
  u8() {
    this.need(1);
    return this.buf[this.pos++];
  }
  u32() {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64() {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return Number(v);
  }
  bytes() {
    const n = this.u32();
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  left() {
    return this.buf.length - this.pos;
  }
}

export function decodeAttrs(r) {
  const flags = r.u32();
  const a = {};
  if (flags & ATTR.SIZE) a.size = r.u64();
  if (flags & ATTR.UIDGID) {
    a.uid = r.u32();
    a.gid = r.u32();
  }
  if (flags & ATTR.PERMISSIONS) {
    a.permissions = r.u32();
    a.mode = (a.permissions & 0o7777).toString(8).padStart(4, '0');
    a.type = typeOf(a.permissions);
  }
  if (flags & ATTR.ACMODTIME) {
    a.atime = r.u32();
    a.mtime = r.u32();
  }
  if (flags & ATTR.EXTENDED) {
    const n = r.u32();
    a.extended = [];
    for (let i = 0; i < n; i++) a.extended.push([r.bytes().toString('latin1'), r.bytes().toString('base64')]);
  }
  return a;
}

function typeOf(perm) {
  switch (perm & 0o170000) {
    case 0o040000: return 'dir';
    case 0o100000: return 'file';
    case 0o120000: return 'symlink';
    default: return 'other';
  }
}

/** A name as JSON can carry it: base64 always, and a printable form with every control byte escaped. */
export function showName(b) {
  const text = b.toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(b);
  return { b64: b.toString('base64'), text: exact ? JSON.stringify(text).slice(1, -1) : undefined };
}

/** A reply packet's payload (type byte first, no length) as a plain object. */
export function decodeReply(payload) {
  const r = new Reader(payload);
  const type = r.u8();
  const T = SSH_FXP;
  if (type === T.VERSION) {
    const version = r.u32();
    const extensions = [];
    while (r.left() > 0) extensions.push([r.bytes().toString('latin1'), r.bytes().toString('latin1')]);
    return { type: 'version', version, extensions };
  }
  const id = r.u32();
  switch (type) {
    case T.STATUS: {
      const code = r.u32();
      // OpenSSH always sends message and language tag; older servers may not.
      const message = r.left() >= 4 ? r.bytes().toString('utf8') : '';
      const lang = r.left() >= 4 ? r.bytes().toString('utf8') : '';
      return { type: 'status', id, code, status: STATUS_NAMES[code] ?? `CODE_${code}`, message, lang };
    }
    case T.HANDLE:
      return { type: 'handle', id, handle: r.bytes().toString('hex') };
    case T.DATA:
      return { type: 'data', id, data: r.bytes().toString('base64') };
    case T.NAME: {
      const n = r.u32();
      const names = [];
      for (let i = 0; i < n; i++) {
        const name = r.bytes();
        const longname = r.bytes();
        names.push({ name: showName(name), longname: showName(longname), attrs: decodeAttrs(r) });
      }
      return { type: 'name', id, names };
    }
    case T.ATTRS:
      return { type: 'attrs', id, attrs: decodeAttrs(r) };
    case T.EXTENDED_REPLY:
      return { type: 'extended_reply', id, data: payload.subarray(r.pos).toString('base64') };
    default:
      return { type: `unknown-${type}`, id, data: payload.subarray(r.pos).toString('base64') };
  }
}

/** Splits a byte stream into packet payloads; push chunks as they come, take whole payloads out. */
export class PacketSplitter {
  constructor(maxPacket = 1 << 20) {
    this.buf = Buffer.alloc(0);
    this.maxPacket = maxPacket;
  }
  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const out = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len === 0 || len > this.maxPacket) throw new Error(`bad packet length ${len}`);
      if (this.buf.length < 4 + len) break;
      out.push(this.buf.subarray(4, 4 + len));
      this.buf = this.buf.subarray(4 + len);
    }
    return out;
  }
}

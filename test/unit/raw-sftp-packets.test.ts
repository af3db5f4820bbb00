/**
 * The hostile-uploader suite's own SFTP v3 client (test/e2e/raw-sftp.mjs): its pure packet layer, byte
 * for byte, so that what the e2e suite claims to have sent is what went on the wire.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript test helper without type declarations
import * as P from '../e2e/sftp-packets.mjs';

const hex = (b: Buffer) => b.toString('hex');
const u32 = (n: number) => n.toString(16).padStart(8, '0');
const s = (t: string | Buffer) => {
  const b = Buffer.isBuffer(t) ? t : Buffer.from(t, 'utf8');
  return u32(b.length) + b.toString('hex');
};
/** A whole packet as hex from its type and payload hex. */
const pkt = (type: number, payload: string) => u32(payload.length / 2 + 1) + type.toString(16).padStart(2, '0') + payload;

describe('raw SFTP packets: requests', () => {
  it('INIT asks for version 3', () => {
    expect(hex(P.encodeInit())).toBe('000000050100000003');
  });

  it('OPEN carries the name bytes unchanged, the pflags and the permissions attribute', () => {
    const name = 'x\n!touch /tmp/PWNED;#\r\u001b[2J';
    const b = P.encodeRequest({ op: 'open', path: name, pflags: ['write', 'creat', 'excl'], attrs: { permissions: 0o6777 } }, 7);
    expect(hex(b)).toBe(pkt(3, u32(7) + s(name) + u32(0x2 | 0x8 | 0x20) + u32(0x4) + u32(0o6777)));
    // default pflags: write|creat|trunc, no attributes
    const d = P.encodeRequest({ op: 'open', path: '/a' }, 1);
    expect(hex(d)).toBe(pkt(3, u32(1) + s('/a') + u32(0x1a) + u32(0)));
  });

  it('names can be raw bytes (base64, hex, repeat) that are not UTF-8', () => {
    const raw = Buffer.from([0xff, 0x0a, 0x1b, 0x00, 0x27]);
    expect(P.bytesOf({ b64: raw.toString('base64') }).equals(raw)).toBe(true);
    expect(P.bytesOf({ hex: 'ff0a1b0027' }).equals(raw)).toBe(true);
    expect(P.bytesOf({ repeat: 'a', count: 255, prefix: '/images/' }).toString()).toBe('/images/' + 'a'.repeat(255));
    const m = P.encodeRequest({ op: 'mkdir', path: { b64: raw.toString('base64') }, attrs: { permissions: 0o7777 } }, 2);
    expect(hex(m)).toBe(pkt(14, u32(2) + s(raw) + u32(4) + u32(0o7777)));
    expect(() => P.bytesOf({ nope: 1 })).toThrow(/bad byte spec/);
  });

  it('FSETSTAT and SETSTAT carry every attribute field in draft order', () => {
    const f = P.encodeRequest({ op: 'fsetstat', handle: '0102', attrs: { size: 5, uid: 1, gid: 2, permissions: 0o4755, atime: 3, mtime: 4 } }, 9);
    expect(hex(f)).toBe(pkt(10, u32(9) + u32(2) + '0102' + u32(0xf) + '0000000000000005' + u32(1) + u32(2) + u32(0o4755) + u32(3) + u32(4)));
    const st = P.encodeRequest({ op: 'setstat', path: '/images', attrs: { permissions: 0o7777 } }, 3);
    expect(hex(st)).toBe(pkt(9, u32(3) + s('/images') + u32(4) + u32(0o7777)));
    const handle = P.encodeRequest({ op: 'fsetstat', handle: Buffer.from([0, 0, 0, 1]), attrs: {} }, 4);
    expect(hex(handle)).toBe(pkt(10, u32(4) + u32(4) + '00000001' + u32(0)));
  });

  it('WRITE, CLOSE, OPENDIR, READDIR, REMOVE, RENAME, REALPATH, STAT, LSTAT', () => {
    expect(hex(P.encodeRequest({ op: 'write', handle: 'aa', offset: 2, data: 'hi' }, 1))).toBe(pkt(6, u32(1) + s(Buffer.from([0xaa])) + '0000000000000002' + s('hi')));
    expect(hex(P.encodeRequest({ op: 'close', handle: 'aabb' }, 1))).toBe(pkt(4, u32(1) + u32(2) + 'aabb'));
    expect(hex(P.encodeRequest({ op: 'opendir', path: '/allsky' }, 1))).toBe(pkt(11, u32(1) + s('/allsky')));
    expect(hex(P.encodeRequest({ op: 'readdir', handle: '01' }, 1))).toBe(pkt(12, u32(1) + u32(1) + '01'));
    expect(hex(P.encodeRequest({ op: 'remove', path: '/a' }, 1))).toBe(pkt(13, u32(1) + s('/a')));
    expect(hex(P.encodeRequest({ op: 'rename', from: '/a', to: '/b' }, 1))).toBe(pkt(18, u32(1) + s('/a') + s('/b')));
    expect(hex(P.encodeRequest({ op: 'realpath', path: '.' }, 1))).toBe(pkt(16, u32(1) + s('.')));
    expect(hex(P.encodeRequest({ op: 'stat', path: '/a' }, 1))).toBe(pkt(17, u32(1) + s('/a')));
    expect(hex(P.encodeRequest({ op: 'lstat', path: '/a' }, 1))).toBe(pkt(7, u32(1) + s('/a')));
  });

  it("SYMLINK goes target first (OpenSSH's order); extensions are EXTENDED with their names", () => {
    expect(hex(P.encodeRequest({ op: 'symlink', target: '/etc', link: '/images/evil' }, 5))).toBe(pkt(20, u32(5) + s('/etc') + s('/images/evil')));
    expect(hex(P.encodeRequest({ op: 'posix-rename', from: '/a', to: '/b' }, 6))).toBe(pkt(200, u32(6) + s('posix-rename@openssh.com') + s('/a') + s('/b')));
    expect(hex(P.encodeRequest({ op: 'hardlink', from: '/a', to: '/b' }, 6))).toBe(pkt(200, u32(6) + s('hardlink@openssh.com') + s('/a') + s('/b')));
    expect(hex(P.encodeRequest({ op: 'lsetstat', path: '/a', attrs: { permissions: 0o777 } }, 6))).toBe(pkt(200, u32(6) + s('lsetstat@openssh.com') + s('/a') + u32(4) + u32(0o777)));
    expect(() => P.encodeRequest({ op: 'chmod' }, 1)).toThrow(/unknown request/);
  });
});

describe('raw SFTP packets: replies', () => {
  const payload = (h: string) => Buffer.from(h, 'hex');

  it('VERSION with its extensions', () => {
    const r = P.decodeReply(payload('02' + u32(3) + s('posix-rename@openssh.com') + s('1')));
    expect(r).toEqual({ type: 'version', version: 3, extensions: [['posix-rename@openssh.com', '1']] });
  });

  it('STATUS with code, name and message', () => {
    const r = P.decodeReply(payload('65' + u32(12) + u32(3) + s('Permission denied') + s('')));
    expect(r).toEqual({ type: 'status', id: 12, code: 3, status: 'PERMISSION_DENIED', message: 'Permission denied', lang: '' });
  });

  it('HANDLE as hex, ATTRS with the mode in octal and the file type', () => {
    expect(P.decodeReply(payload('66' + u32(1) + s(Buffer.from([1, 2, 3]))))).toEqual({ type: 'handle', id: 1, handle: '010203' });
    const a = P.decodeReply(payload('69' + u32(2) + u32(0xf) + '0000000000000010' + u32(1000) + u32(1000) + u32(0o104755) + u32(10) + u32(20)));
    expect(a).toEqual({ type: 'attrs', id: 2, attrs: { size: 16, uid: 1000, gid: 1000, permissions: 0o104755, mode: '4755', type: 'file', atime: 10, mtime: 20 } });
  });

  it('NAME entries: raw names round-trip through base64, control bytes escaped in the text form', () => {
    const n1 = Buffer.from('x\n\u001b[2J', 'utf8');
    const n2 = Buffer.from([0xff, 0x41]);
    const r = P.decodeReply(payload('68' + u32(4) + u32(2) + s(n1) + s('long') + u32(4) + u32(0o40755) + s(n2) + s('') + u32(0)));
    expect(r.type).toBe('name');
    expect(Buffer.from(r.names[0].name.b64, 'base64').equals(n1)).toBe(true);
    expect(r.names[0].name.text).toBe('x\\n\\u001b[2J');
    expect(r.names[0].attrs).toEqual({ permissions: 0o40755, mode: '0755', type: 'dir' });
    expect(Buffer.from(r.names[1].name.b64, 'base64').equals(n2)).toBe(true);
    expect(r.names[1].name.text).toBeUndefined();
  });

  it('a truncated reply is an error, not garbage', () => {
    expect(() => P.decodeReply(payload('65' + u32(1)))).toThrow(/truncated/);
  });

  it('the splitter reassembles packets split anywhere and keeps the rest', () => {
    const a = P.frame(101, Buffer.from('0000000100000000', 'hex'));
    const b = P.frame(102, Buffer.from('00000002' + u32(1) + '07', 'hex'));
    const all = Buffer.concat([a, b]);
    for (let cut = 0; cut <= all.length; cut++) {
      const sp = new P.PacketSplitter();
      const got = [...sp.push(all.subarray(0, cut)), ...sp.push(all.subarray(cut))];
      expect(got.map((g: Buffer) => g.toString('hex'))).toEqual([a.subarray(4).toString('hex'), b.subarray(4).toString('hex')]);
    }
    expect(() => new P.PacketSplitter().push(Buffer.from('00000000', 'hex'))).toThrow(/bad packet length/);
  });

  it('attributes round-trip', () => {
    const attrs = { size: 1, uid: 2, gid: 3, permissions: 0o2775, atime: 4, mtime: 5 };
    const back = P.decodeReply(Buffer.concat([Buffer.from('6900000001', 'hex'), P.encodeAttrs(attrs)]));
    expect(back.attrs).toMatchObject(attrs);
  });
});

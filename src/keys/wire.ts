/**
 * SSH wire-format helpers (RFC 4251 strings) and the SHA256 fingerprint, shared by the public and private
 * key readers. Kept separate from sshpk so that key types sshpk does not know (sk-*) can still be checked.
 */
import { sha256 } from './sha256.js';

/** Sequential reader over an SSH blob; every read returns undefined instead of running past the end. */
export class WireReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  uint32(): number | undefined {
    if (this.pos + 4 > this.buf.length) return undefined;
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(): Buffer | undefined {
    const len = this.uint32();
    if (len === undefined || this.pos + len > this.buf.length) return undefined;
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  string(): string | undefined {
    return this.bytes()?.toString('latin1');
  }

  raw(n: number): Buffer | undefined {
    if (this.pos + n > this.buf.length) return undefined;
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  get atEnd(): boolean {
    return this.pos === this.buf.length;
  }
}

/** Strict base64 (canonical padding, nothing else) so that a mangled paste is caught, not silently fixed. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  return buf.toString('base64') === text ? buf : undefined;
}

/** "SHA256:" + unpadded base64 of the blob's SHA-256, exactly as `ssh-keygen -lf` prints it. */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${sha256(blob).toString('base64').replace(/=+$/, '')}`;
}

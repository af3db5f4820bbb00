/**
 * Random names from the kernel's generator, read directly: loading Node's crypto module costs a start about
 * 4 ms here, and a name needs a few bytes. Key generation, which needs crypto itself, loads it when it runs.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** `bytes` random bytes from /dev/urandom, as hex. */
export function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let n = 0; n < bytes; ) {
      const got = readSync(fd, buf, n, bytes - n, null);
      if (got <= 0) throw new Error('/dev/urandom gave no bytes');
      n += got;
    }
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}

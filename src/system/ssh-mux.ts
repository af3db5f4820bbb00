/**
 * Closing an ssh ControlMaster through its control socket, as `ssh -O exit` does, without starting ssh for
 * it (an ssh process costs about 6 ms of CPU here, several times that on a Pi). The protocol is OpenSSH's
 * PROTOCOL.mux: packets of a uint32 length then the body, whose first uint32 is the type. Both sides say
 * HELLO (version 4) first; TERMINATE carries a request id, which the master's answer repeats.
 * The socket is the probe's own, in its root-only scratch directory.
 */
import { connect } from 'node:net';

const MUX_MSG_HELLO = 0x00000001;
const MUX_C_TERMINATE = 0x10000005;
const MUX_S_OK = 0x80000001;
const MUX_VERSION = 4;

/** One packet: its length, then the body's uint32 words. */
export function muxPacket(...words: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * words.length);
  b.writeUInt32BE(4 * words.length, 0);
  words.forEach((w, i) => b.writeUInt32BE(w >>> 0, 4 + 4 * i));
  return b;
}

/** The bodies of the whole packets at the start of `buf`, and what is left of it. */
export function muxBodies(buf: Buffer): { bodies: Buffer[]; rest: Buffer } {
  const bodies: Buffer[] = [];
  let off = 0;
  while (buf.length - off >= 4) {
    const len = buf.readUInt32BE(off);
    if (buf.length - off - 4 < len) break;
    bodies.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return { bodies, rest: buf.subarray(off) };
}

/**
 * Ask the master at `socketPath` to exit. True once it said yes, or closed the socket on us (it is going
 * away, as `ssh -O exit` also takes it); false when it could not be reached, refused or did not answer in
 * time: the caller then has `ssh -O exit` try.
 */
export function terminateMaster(socketPath: string, timeoutMs = 5000): Promise<boolean> {
  const id = Math.floor(Math.random() * 0x7fffffff);
  return new Promise((resolve) => {
    let pending: Buffer = Buffer.alloc(0);
    let helloSeen = false;
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const sock = connect(socketPath, () => {
      sock.write(Buffer.concat([muxPacket(MUX_MSG_HELLO, MUX_VERSION), muxPacket(MUX_C_TERMINATE, id)]));
    });
    sock.on('data', (chunk: Buffer) => {
      const { bodies, rest } = muxBodies(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const body of bodies) {
        if (body.length < 8) return done(false);
        const type = body.readUInt32BE(0);
        if (!helloSeen) {
          // The master's HELLO comes first; anything else is not a master we know how to talk to.
          if (type !== MUX_MSG_HELLO) return done(false);
          helloSeen = true;
          continue;
        }
        if (body.readUInt32BE(4) === id) return done(type === MUX_S_OK);
      }
    });
    // Closed after our request: the master is exiting (ssh -O exit treats it the same way).
    sock.on('close', () => done(helloSeen));
    sock.on('error', () => done(false));
  });
}

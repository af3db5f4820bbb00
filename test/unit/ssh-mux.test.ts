/** The framing of OpenSSH's control-socket protocol (PROTOCOL.mux): what terminateMaster writes and reads. */
import { describe, expect, it } from 'vitest';
import { muxBodies, muxPacket } from '../../src/system/ssh-mux.js';

describe('mux packets', () => {
  it('a packet is its body length, then the body of uint32 words, big-endian', () => {
    expect(muxPacket(0x00000001, 4).toString('hex')).toBe('00000008' + '00000001' + '00000004');
    expect(muxPacket(0x10000005, 0xfffffffe).toString('hex')).toBe('00000008' + '10000005' + 'fffffffe');
  });

  it('reads whole packets only, keeps the rest for the next read, and takes bodies longer than two words', () => {
    const hello = muxPacket(1, 4);
    const ok = muxPacket(0x80000001, 7);
    const withString = Buffer.concat([Buffer.from('00000011', 'hex'), Buffer.from('80000003000000070000000568656c6c6f', 'hex')]);
    const all = Buffer.concat([hello, ok, withString]);
    for (let cut = 0; cut <= all.length; cut++) {
      const first = muxBodies(all.subarray(0, cut));
      const second = muxBodies(Buffer.concat([first.rest, all.subarray(cut)]));
      expect([...first.bodies, ...second.bodies].map((b) => b.toString('hex'))).toEqual(['0000000100000004', '8000000100000007', '80000003000000070000000568656c6c6f']);
      expect(second.rest.length).toBe(0);
    }
  });
});

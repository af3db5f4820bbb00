/**
 * Small, real media files for the demo's uploads, made here so the demo needs no image tools.
 *
 * The JPEG is a valid baseline greyscale JFIF: each 8×8 block carries only its DC coefficient (its mean
 * brightness), so the encoder is a few lines: a quantisation table of ones, the standard luminance DC
 * Huffman table, and a one-symbol AC table whose only code is end-of-block. Any decoder shows a blocky
 * picture of whatever shade function it was given.
 */

/** Standard luminance DC table (ITU T.81 K.3): code counts per length 1..16 and the categories 0..11. */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/** Canonical Huffman codes from the counts per length, as [code, length] indexed by symbol. */
function canonicalCodes(bits: number[], vals: number[]): Map<number, [number, number]> {
  const codes = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]!; i++) codes.set(vals[k++]!, [code++, len]);
    code <<= 1;
  }
  return codes;
}

class BitWriter {
  private bytes: number[] = [];
  private acc = 0;
  private n = 0;
  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0x00); // byte stuffing
    this.acc = 0;
    this.n = 0;
  }
  finish(): number[] {
    while (this.n !== 0) this.write(1, 1); // pad with ones
    return this.bytes;
  }
}

function segment(marker: number, body: number[]): number[] {
  const len = body.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...body];
}

/** Encode a greyscale image; shade(x, y) returns 0..255 and is sampled at each block's centre. */
export function makeJpeg(width: number, height: number, shade: (x: number, y: number) => number): Buffer {
  const bw = Math.ceil(width / 8);
  const bh = Math.ceil(height / 8);
  const dc = canonicalCodes(DC_BITS, DC_VALS);
  const bits = new BitWriter();
  let previous = 0;
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      const level = Math.max(0, Math.min(255, Math.round(shade(bx * 8 + 4, by * 8 + 4))));
      // With a quantiser of 1, the DC coefficient of a flat block is 8 × (level − 128).
      const coefficient = 8 * (level - 128);
      const diff = coefficient - previous;
      previous = coefficient;
      const magnitude = Math.abs(diff);
      const category = magnitude === 0 ? 0 : Math.floor(Math.log2(magnitude)) + 1;
      const [code, length] = dc.get(category)!;
      bits.write(code, length);
      if (category > 0) bits.write(diff > 0 ? diff : diff + (1 << category) - 1, category);
      bits.write(0, 1); // end of block: the AC table's only code
    }
  }
  const jfif = [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const dqt = [0x00, ...new Array<number>(64).fill(1)];
  const sof = [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0];
  const dhtDc = [0x00, ...DC_BITS, ...DC_VALS];
  const dhtAc = [0x10, 1, ...new Array<number>(15).fill(0), 0x00];
  const sos = [1, 1, 0x00, 0, 63, 0];
  return Buffer.from([
    0xff, 0xd8,
    ...segment(0xe0, jfif),
    ...segment(0xdb, dqt),
    ...segment(0xc0, sof),
    ...segment(0xc4, dhtDc),
    ...segment(0xc4, dhtAc),
    ...segment(0xda, sos),
    ...bits.finish(),
    0xff, 0xd9,
  ]);
}

/** A night sky: dark, brighter towards the horizon, with a few stars. */
export function skyImage(width: number, height: number, seed = 1): Buffer {
  const stars = new Set<string>();
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < (width * height) / 640; i++) stars.add(`${Math.floor(rand() * width / 8)},${Math.floor(rand() * height / 8)}`);
  const cx = width / 2;
  const cy = height / 2;
  const r = Math.min(cx, cy);
  return makeJpeg(width, height, (x, y) => {
    if (stars.has(`${Math.floor(x / 8)},${Math.floor(y / 8)}`)) return 230;
    const d = Math.hypot(x - cx, y - cy) / r;
    return d > 1 ? 0 : 20 + 60 * d * d;
  });
}

/** A keogram-like strip: night in the middle, dusk and dawn at the ends. */
export function keogramImage(width: number, height: number): Buffer {
  return makeJpeg(width, height, (x) => 30 + 180 * Math.abs(x / width - 0.5) ** 2 * 4);
}

/** Concentric rings, like startrails around the pole. */
export function startrailsImage(width: number, height: number): Buffer {
  return makeJpeg(width, height, (x, y) => (Math.round(Math.hypot(x - width / 2, y - height / 2) / 8) % 3 === 0 ? 200 : 15));
}

/**
 * Bytes in an MP4 container (ftyp + free + mdat boxes) standing in for a timelapse: no video track, but the
 * name, size and checksum travel exactly as Allsky's allsky.mp4 would.
 */
export function timelapseStub(size = 64 * 1024): Buffer {
  const box = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(8 + body.length, 0);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, body]);
  };
  const ftyp = box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2mp41', 'latin1'));
  const free = box('free', Buffer.from('sftp-setup demo timelapse', 'latin1'));
  const data = Buffer.alloc(Math.max(0, size - ftyp.length - free.length - 8));
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
  return Buffer.concat([ftyp, free, box('mdat', data)]);
}

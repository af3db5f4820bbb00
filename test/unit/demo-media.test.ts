import { describe, expect, it } from 'vitest';
import { makeJpeg, timelapseStub } from '../../src/demo/jpeg.js';
import { demoFiles, uploadScript } from '../../src/demo/uploads.js';

describe('demo media', () => {
  it('makes a baseline JPEG with its size in SOF0 and stuffed entropy data', () => {
    const j = makeJpeg(100, 75, (x, y) => (x + y) % 256);
    expect([...j.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...j.subarray(-2)]).toEqual([0xff, 0xd9]);
    const sof = j.indexOf(Buffer.from([0xff, 0xc0]));
    expect(j.readUInt16BE(sof + 5)).toBe(75);
    expect(j.readUInt16BE(sof + 7)).toBe(100);
    const sos = j.indexOf(Buffer.from([0xff, 0xda]));
    const data = j.subarray(sos + 2 + j.readUInt16BE(sos + 2), -2);
    for (let i = 0; i < data.length; i++) if (data[i] === 0xff) expect(data[i + 1]).toBe(0);
  });

  it('makes an MP4 container whose boxes add up to the file', () => {
    const m = timelapseStub(4096);
    expect(m.length).toBe(4096);
    expect(m.subarray(4, 8).toString('latin1')).toBe('ftyp');
    let at = 0;
    while (at < m.length) at += m.readUInt32BE(at);
    expect(at).toBe(m.length);
  });

  it("writes Allsky's upload.sh sequence: put to TYPE-RANDOM, rm -f, mv", () => {
    const thumb = demoFiles().find((f) => f.type === 'thumbnail')!;
    const s = uploadScript({ host: 'collector', port: '2222', user: 'allsky-upload', lftpCommands: 'set sftp:connect-program "ssh -a -x"', imageDir: 'images' }, thumb, '/home/pi/allsky/tmp/thumbnail.jpg');
    const lines = s.trim().split('\n');
    expect(lines[0]).toBe('set sftp:connect-program "ssh -a -x"');
    expect(lines[2]).toBe('open --user allsky-upload --env-password -p 2222 sftp://collector');
    expect(lines.slice(3, 5)).toEqual(['cd .', 'cd images/videos/thumbnails/']);
    expect(lines[5]).toMatch(/^put \/home\/pi\/allsky\/tmp\/thumbnail\.jpg -o thumbnail-[0-9a-f]+$/);
    expect(lines[6]).toBe('rm -f allsky.jpg');
    expect(lines[7]).toBe(`mv ${lines[5]!.split(' -o ')[1]} allsky.jpg`);
  });
});

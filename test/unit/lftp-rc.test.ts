import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { extractKeyPath, MANAGED_MARKER, mergeLftpRc, readConnectProgram } from '../../src/lftp/rc.js';
import { connectProgramSetLine } from '../../src/lftp/connect-program.js';

const SET = connectProgramSetLine({ keyPath: '/home/pi/.ssh/allsky_ed25519' });
const SET2 = connectProgramSetLine({ keyPath: '/home/pi/.ssh/other' });

describe('mergeLftpRc', () => {
  it('appends to an empty rc', () => {
    const r = mergeLftpRc('', SET);
    expect(r).toEqual({ text: `${MANAGED_MARKER}\n${SET}\n`, changed: true });
  });

  it('appends after a last line without newline', () => {
    expect(mergeLftpRc('set net:timeout 10', SET).text).toBe(`set net:timeout 10\n${MANAGED_MARKER}\n${SET}\n`);
  });

  it('keeps CRLF files CRLF', () => {
    const r = mergeLftpRc('set a 1\r\nset b 2\r\n', SET);
    expect(r.text).toBe(`set a 1\r\nset b 2\r\n${MANAGED_MARKER}\r\n${SET}\r\n`);
  });

  it.each([
    'set sftp:connect-program "ssh -a -x -i /old/key"',
    "  set sftp:connect-program 'ssh -i /old/key'",
    'set sftp:connect-program=ssh',
    '\tset   sftp:connect-program ssh -i /x',
  ])('replaces %j in place', (old) => {
    const before = `# my rc\nset net:timeout 10\n${old}\nset xfer:clobber on`;
    const r = mergeLftpRc(before, SET);
    expect(r.text).toBe(`# my rc\nset net:timeout 10\n${MANAGED_MARKER}\n${SET}\nset xfer:clobber on`);
    expect(r.changed).toBe(true);
  });

  it('keeps a last line without newline when it is the replaced line', () => {
    expect(mergeLftpRc('set a 1\nset sftp:connect-program ssh', SET).text).toBe(`set a 1\n${MANAGED_MARKER}\n${SET}`);
  });

  it('drops later duplicates (lftp: last set wins) and keeps one marker', () => {
    const before = `set sftp:connect-program a\nset x 1\n${MANAGED_MARKER}\nset sftp:connect-program b\n`;
    const r = mergeLftpRc(before, SET);
    expect(r.text).toBe(`${MANAGED_MARKER}\n${SET}\nset x 1\n`);
    expect(r.text.split(MANAGED_MARKER).length).toBe(2);
  });

  it('is idempotent and updates a managed line', () => {
    const once = mergeLftpRc('set a 1\r\n', SET).text;
    expect(mergeLftpRc(once, SET)).toEqual({ text: once, changed: false });
    const other = mergeLftpRc(once, SET2);
    expect(other.changed).toBe(true);
    expect(other.text).toBe(once.replace(SET, SET2));
  });

  it('refuses a line that is not a connect-program line', () => {
    expect(() => mergeLftpRc('', 'set net:timeout 10')).toThrow();
    expect(() => mergeLftpRc('', `${SET}\nset x 1`)).toThrow();
  });

  it('round-trips every other line byte for byte (property)', () => {
    const line = fc
      .string({ unit: fc.constantFrom('a', ' ', '\t', '#', '"', "'", ';', 's', 'e', 't', ':', '=', '\r', 'x') })
      .filter((l) => !/^\s*set\s+sftp:connect-program/.test(l) && l.trim() !== MANAGED_MARKER && !l.endsWith('\r'));
    fc.assert(
      fc.property(fc.array(line), fc.constantFrom('\n', '\r\n'), fc.boolean(), (lines, eol, finalNl) => {
        const text = lines.join(eol) + (finalNl && lines.length > 0 ? eol : '');
        const r = mergeLftpRc(text, SET);
        // Appending is the only change: every existing line comes back byte for byte.
        const nl = text.includes('\n') ? eol : '\n';
        const sep = text === '' || text.endsWith('\n') ? '' : nl;
        expect(r.text).toBe(`${text}${sep}${MANAGED_MARKER}${nl}${SET}${nl}`);
        expect(mergeLftpRc(r.text, SET)).toEqual({ text: r.text, changed: false });
        expect(readConnectProgram(r.text)).toBe(SET.slice('set sftp:connect-program "'.length, -1));
      }),
    );
  });

  it('keeps arbitrary surrounding lines when replacing (property)', () => {
    const line = fc.string().filter((l) => !l.includes('\n') && !/^\s*set\s+sftp:connect-program/.test(l) && l.trim() !== MANAGED_MARKER);
    fc.assert(
      fc.property(fc.array(line), fc.array(line), (before, after) => {
        const text = [...before, 'set sftp:connect-program "ssh -i /old"', ...after].join('\n');
        const r = mergeLftpRc(text, SET);
        expect(r.text).toBe([...before, MANAGED_MARKER, SET, ...after].join('\n'));
      }),
    );
  });
});

describe('readConnectProgram', () => {
  it('reads the value, quotes removed, last one winning', () => {
    expect(readConnectProgram(`set sftp:connect-program "ssh -i /a"\n${SET}\n`)).toBe(
      'ssh -F /dev/null -o StrictHostKeyChecking=yes -a -x -i /home/pi/.ssh/allsky_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes -o UpdateHostKeys=no',
    );
    expect(readConnectProgram("set net:timeout 5; set sftp:connect-program 'ssh -i /k'; set x y")).toBe('ssh -i /k');
    expect(readConnectProgram('set sftp:connect-program=ssh -i /k')).toBe('ssh -i /k');
    expect(readConnectProgram('# set sftp:connect-program "ssh -i /k"\nset a b')).toBeUndefined();
    expect(readConnectProgram('')).toBeUndefined();
  });
});

describe('extractKeyPath', () => {
  it.each([
    ['ssh -a -x -i /home/pi/.ssh/k -o IdentitiesOnly=yes', '/home/pi/.ssh/k'],
    ['ssh -i/home/pi/k', '/home/pi/k'],
    ['ssh -axi /k -o BatchMode=yes', '/k'],
    ['ssh -o IdentityFile=/x -p 2222 -i "/with space/k"', '/with space/k'],
    ['ssh -o BatchMode=yes', undefined],
    ['ssh host -i /k', undefined],
    ['', undefined],
  ])('%j → %j', (cmd, key) => {
    expect(extractKeyPath(cmd)).toBe(key);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bashDoubleQuote, legacyChanges, readShellVars, updateShellVars } from '../../src/allsky/ftp-settings.js';
import { connectProgramSetLine } from '../../src/lftp/connect-program.js';
import { UsageError } from '../../src/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/allsky/${name}`, import.meta.url), 'utf8');
const SET = connectProgramSetLine({ keyPath: '/home/pi/.ssh/allsky_ed25519', controlDir: '/home/pi/.ssh/cm' });
const OPTS = { host: '192.168.1.20', port: '2222', user: 'allsky', imageDir: 'images', lftpCommands: SET };

const dir = mkdtempSync(join(tmpdir(), 'allsky-ftp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** What `source FILE; printf %s "$VAR"` gives in a real bash. */
function bashValue(text: string, name: string, extra = ''): string {
  const file = join(dir, `f${n++}.sh`);
  writeFileSync(file, text);
  return execFileSync('bash', ['-c', `source "$1" >/dev/null 2>&1; ${extra || `printf %s "$${name}"`}`, 'bash', file], {
    encoding: 'utf8',
  });
}

describe('updateShellVars', () => {
  it('rewrites values in place, keeping comments, quoting style and order', () => {
    const before = "# c\nA=\"1\"  # trailing\nexport B='x'\nC=plain\nD=\"$HOME/x\"\n";
    const r = updateShellVars(before, { A: '2', B: 'y', C: 'z', D: '/h', E: 'new' }, 'f');
    expect(r.text).toBe("# c\nA=\"2\"  # trailing\nexport B='y'\nC=z\nD=\"/h\"\nE=\"new\"\n");
    expect(r.changed).toBe(true);
    expect(updateShellVars(r.text, { A: '2', B: 'y', C: 'z', D: '/h', E: 'new' }, 'f')).toEqual({ text: r.text, changed: false });
  });

  it('falls back to double quotes when the old style cannot hold the value', () => {
    const r = updateShellVars("A='x'\nB=x\n", { A: "it's", B: 'a b' }, 'f');
    expect(r.text).toBe('A="it\'s"\nB="a b"\n');
  });

  it('appends after a last line without newline, keeping CRLF', () => {
    expect(updateShellVars('A=1', { B: '2' }, 'f').text).toBe('A=1\nB="2"\n');
    expect(updateShellVars('A=1\r\nC=3\r\n', { B: '2', C: '4' }, 'f').text).toBe('A=1\r\nC=4\r\nB="2"\r\n');
    expect(updateShellVars('', { B: '2' }, 'f').text).toBe('B="2"\n');
  });

  it('reads a lone CR at the very end as a line end, so appending keeps the other values (fuzz counterexample)', () => {
    const text = 'CAMERA_TYPE="RPi"\nTIMELAPSE="true"\r';
    expect(readShellVars(text).TIMELAPSE).toBe('true');
    const r = updateShellVars(text, { REMOTE_HOST: 'collector' });
    expect(readShellVars(r.text)).toEqual({ CAMERA_TYPE: 'RPi', TIMELAPSE: 'true', REMOTE_HOST: 'collector' });
    expect(updateShellVars(r.text, { REMOTE_HOST: 'collector' }).changed).toBe(false);
  });

  it('does not take assignments inside a multi-line string for real ones', () => {
    const before = 'MSG="line one\nA=fake\nend"\nA=real\n';
    const r = updateShellVars(before, { A: 'new' }, 'f');
    expect(r.text).toBe('MSG="line one\nA=fake\nend"\nA=new\n');
    expect(bashValue(r.text, 'MSG')).toBe('line one\nA=fake\nend');
  });

  it('refuses bad names and NUL bytes', () => {
    expect(() => updateShellVars('', { 'A-B': 'x' }, 'ftp-settings.sh')).toThrow(UsageError);
    expect(() => updateShellVars('', { A: 'a\0b' }, 'ftp-settings.sh')).toThrow(UsageError);
  });

  it.each([
    ['set sftp:connect-program "ssh -a -x -i /home/pi/.ssh/k"'],
    ['$HOME `id` \\ "q" \'s\' !! %C ${X}'],
    ['multi\nline'],
    [''],
    ['trailing backslash\\'],
  ])('bash sources the value %j back exactly', (value) => {
    for (const start of ['V=""\n', "V='old'\n", 'V=old\n', '']) {
      const r = updateShellVars(start, { V: value }, 'f');
      expect(bashValue(r.text, 'V')).toBe(value);
      expect(readShellVars(r.text).V).toBe(value);
    }
  });

  it('bash sources arbitrary values back exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !s.includes('\0')),
        fc.constantFrom('V=""\n', "V='old' # c\n", 'export V=old\n', '# none\n'),
        (value, start) => {
          const r = updateShellVars(start, { V: value }, 'f');
          expect(readShellVars(r.text).V).toBe(value);
          expect(updateShellVars(r.text, { V: value }, 'f').changed).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
    // A smaller sample through a real bash.
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (value) => {
        expect(bashValue(updateShellVars('V=""\n', { V: value }, 'f').text, 'V')).toBe(value);
      }),
      { numRuns: 25 },
    );
  });

  it('never throws anything but UsageError and keeps untouched lines (property)', () => {
    const line = fc.string({
      unit: fc.constantFrom('A', 'B', 'X', '=', '"', "'", '$', '(', ')', '{', '}', '`', '\\', '#', ' ', '\t', ';', 'e', 'x', 'p', 'o', 'r', 't', '\r', '~'),
      maxLength: 20,
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.string({ maxLength: 10 }), (lines, value) => {
        const text = lines.join('\n');
        let r: { text: string; changed: boolean };
        try {
          r = updateShellVars(text, { TARGET_VAR: value }, 'f');
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
          return;
        }
        // No TARGET_VAR in the input: the input is kept whole and the assignment appended.
        expect(r.text.startsWith(text)).toBe(true);
        expect(readShellVars(r.text).TARGET_VAR).toBe(value);
      }),
    );
  });

  it('refuses a command substitution left open before the assignment (fuzz counterexample)', () => {
    expect(() => updateShellVars('A=$(\nV="old"', { V: 'x' }, 'f')).toThrow(UsageError);
  });

  it('leaves other lines byte for byte when rewriting an assignment (property)', () => {
    // Lines that cannot open a construct spanning lines ("A=$(" would swallow the next line: bash
    // cannot source that and updateShellVars rightly refuses it, a fuzz counterexample).
    const other = fc.string({ maxLength: 25 }).filter((l) => !l.includes('\n') && !/^\s*(export\s+)?V=/.test(l) && !/["'`\\$(<{]/.test(l));
    fc.assert(
      fc.property(fc.array(other, { maxLength: 6 }), fc.array(other, { maxLength: 6 }), fc.string(), (before, after, value) => {
        const text = [...before, 'V="old"', ...after].join('\n');
        const r = updateShellVars(text, { V: value }, 'f');
        expect(r.text).toBe([...before, `V=${bashDoubleQuote(value)}`, ...after].join('\n'));
      }),
    );
  });
});

describe('legacy ftp-settings.sh', () => {
  it('produces the legacy variables with sibling top-level directories', () => {
    expect(legacyChanges(OPTS)).toEqual({
      PROTOCOL: 'sftp',
      REMOTE_HOST: '192.168.1.20',
      REMOTE_PORT: '2222',
      REMOTE_USER: 'allsky',
      REMOTE_PASSWORD: 'n/a',
      LFTP_COMMANDS: SET,
      IMAGE_DIR: 'images',
      VIDEOS_DIR: 'videos',
      KEOGRAM_DIR: 'keograms',
      STARTRAILS_DIR: 'startrails',
      VIDEOS_DESTINATION_NAME: 'allsky.mp4',
      KEOGRAM_DESTINATION_NAME: 'keogram.jpg',
      STARTRAILS_DESTINATION_NAME: 'startrails.jpg',
    });
    const nested = legacyChanges({ ...OPTS, imageDir: 'cam1/images/' });
    expect([nested.IMAGE_DIR, nested.VIDEOS_DIR, nested.KEOGRAM_DIR]).toEqual(['cam1/images', 'cam1/videos', 'cam1/keograms']);
  });

  it('keeps an existing password and refuses glob characters in LFTP_COMMANDS', () => {
    expect(legacyChanges(OPTS, fixture('ftp-settings.sh')).REMOTE_PASSWORD).toBe('s3cr$t!');
    expect(() => legacyChanges({ ...OPTS, lftpCommands: 'set x *' })).toThrow(UsageError);
  });

  it('updates the fixture so that legacy upload.sh would write the exact set line', () => {
    const before = fixture('ftp-settings.sh');
    const vars = legacyChanges(OPTS, before);
    const r = updateShellVars(before, vars, 'config/ftp-settings.sh');
    expect(r.changed).toBe(true);
    // Comments and unrelated lines survive.
    const keep = before.split('\n').filter((l) => !/^[A-Z_]+=/.test(l) || /^(WEB_|SSH_|AWS_|S3_)/.test(l));
    for (const l of keep) expect(r.text.split('\n')).toContain(l);
    expect(r.text).toContain("REMOTE_PASSWORD='s3cr$t!'\n");
    expect(r.text).toContain(`LFTP_COMMANDS=${bashDoubleQuote(SET)}\n`);
    // upload.sh (legacy) does: echo ${LFTP_COMMANDS}  — unquoted.
    expect(bashValue(r.text, '', 'echo ${LFTP_COMMANDS}')).toBe(`${SET}\n`);
    for (const [k, v] of Object.entries(vars)) expect(bashValue(r.text, k)).toBe(v);
    expect(readShellVars(r.text)).toMatchObject(vars);
    expect(updateShellVars(r.text, legacyChanges(OPTS, r.text), 'f').changed).toBe(false);
  });

  it('readShellVars reads the legacy config.sh switches', () => {
    const v = readShellVars(fixture('config.sh'));
    expect(v).toMatchObject({ IMG_UPLOAD: 'true', UPLOAD_VIDEO: 'true', UPLOAD_KEOGRAM: 'true', UPLOAD_STARTRAILS: 'false', IMG_UPLOAD_FREQUENCY: '1' });
    expect(readShellVars('A="$HOME/x"\nB=~/y\n')).toEqual({ A: '"$HOME/x"', B: '~/y' });
  });
});

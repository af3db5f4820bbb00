import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { UsageError } from '../../src/errors.js';
import { loadConfig } from '../../src/sshd/includes.js';
import { findMarkedBlock, globMatch, planPlacement, removeMarkedBlock, upsertMarkedBlock } from '../../src/sshd/placement.js';
import { fixtureIO, fixtureText, memoryIO } from '../fixtures/sshd/fsio.js';

const MAIN = '/etc/ssh/sshd_config';
const USER = 'allsky-upload';
const BLOCK = `# Managed by sftp-setup\nMatch User ${USER}\n    ChrootDirectory /var/lib/allsky-uploads\n`;
const v92 = { major: 9, minor: 2 };
const plan = (mainText: string, version = v92) => planPlacement({ mainText, mainPath: MAIN, version, user: USER });

describe('planPlacement', () => {
  it('Debian 12: a drop-in in sshd_config.d', () => {
    const mainText = fixtureText('debian12');
    const directives = loadConfig(MAIN, fixtureIO('debian12'));
    expect(planPlacement({ mainText, mainPath: MAIN, directives, version: v92, user: USER })).toMatchObject({
      kind: 'dropin',
      path: `/etc/ssh/sshd_config.d/50-sftp-setup-${USER}.conf`,
    });
  });

  it('relative and unusual Include patterns', () => {
    expect(plan('Include sshd_config.d/*.conf\n')).toMatchObject({ kind: 'dropin', path: `/etc/ssh/sshd_config.d/50-sftp-setup-${USER}.conf` });
    expect(plan('include /etc/ssh/conf.d/[0-9]*.conf /x/y.conf\n')).toMatchObject({ kind: 'dropin', path: `/etc/ssh/conf.d/50-sftp-setup-${USER}.conf` });
    expect(plan('Include /etc/ssh/sshd_config.d/*.cfg\n').kind).toBe('main');
    expect(plan('Include /etc/ssh/sshd_config.d/10-only.conf\n').kind).toBe('main');
  });

  it('falls back to the main file when there is no usable Include or sshd is too old', () => {
    expect(plan(fixtureText('noinclude')).kind).toBe('main');
    expect(plan('Match User x\n  X11Forwarding no\nInclude /etc/ssh/sshd_config.d/*.conf\n').kind).toBe('main');
    expect(plan(fixtureText('debian12'), { major: 8, minor: 3 })).toMatchObject({ kind: 'main', reason: expect.stringContaining('8.4') });
    expect(plan(fixtureText('debian12'), { major: 8, minor: 4 }).kind).toBe('dropin');
    expect(plan(fixtureText('hostile')).kind).toBe('dropin');
  });

  it('globMatch follows glob(3): no crossing "/", no leading dot', () => {
    expect(globMatch('/a/*.conf', '/a/x.conf')).toBe(true);
    expect(globMatch('/a/*.conf', '/a/b/x.conf')).toBe(false);
    expect(globMatch('/a/*.conf', '/a/.x.conf')).toBe(false);
    expect(globMatch('/a/[!0-4]*', '/a/50-x')).toBe(true);
    expect(globMatch('/a/[!5]*', '/a/50-x')).toBe(false);
  });
});

describe('marked block in the main file', () => {
  for (const name of ['debian12', 'hostile', 'noinclude']) {
    it(`${name}: insert, re-run, replace and remove round-trip`, () => {
      const before = fixtureText(name);
      const once = upsertMarkedBlock(before, USER, BLOCK);
      expect(once.changed).toBe(true);
      expect(once.text.startsWith(before)).toBe(true);
      expect(once.text.endsWith(`Match all\n# END sftp-setup ${USER}\n`)).toBe(true);
      expect(upsertMarkedBlock(once.text, USER, BLOCK)).toEqual({ text: once.text, changed: false });
      const replaced = upsertMarkedBlock(once.text, USER, BLOCK.replace('allsky-uploads', 'other'));
      expect(replaced.changed).toBe(true);
      expect(removeMarkedBlock(replaced.text, USER)).toEqual({ text: before, changed: true });
      expect(removeMarkedBlock(before, USER)).toEqual({ text: before, changed: false });

      // Our directives sit in our Match, and a line appended later lands in `Match all`, not ours.
      const ds = loadConfig(MAIN, memoryIO({ [MAIN]: `${once.text}PermitTTY yes\n` }));
      expect(ds.find((d) => d.keyword === 'chrootdirectory' && d.args[0] === '/var/lib/allsky-uploads')?.match?.criteria).toEqual(['User', USER]);
      expect(ds.at(-1)?.match?.criteria).toEqual(['all']);
    });
  }

  it('a missing final newline is fixed and restored', () => {
    const once = upsertMarkedBlock('Port 22', USER, BLOCK);
    expect(once.text.startsWith('Port 22\n# BEGIN sftp-setup')).toBe(true);
    expect(removeMarkedBlock(once.text, USER).text).toBe('Port 22');
    expect(findMarkedBlock(once.text, USER)).toMatchObject({ start: 2, addedNewline: true });
  });

  it('keeps other users blocks and text after ours', () => {
    const a = upsertMarkedBlock('Port 22\n', 'a', 'Match User a\n  PermitTTY no\n').text;
    const ab = upsertMarkedBlock(a, 'b', 'Match User b\n  PermitTTY no\n').text;
    const a2 = upsertMarkedBlock(ab, 'a', 'Match User a\n  PermitTTY yes\n').text;
    expect(a2.indexOf('# BEGIN sftp-setup a')).toBeLessThan(a2.indexOf('# BEGIN sftp-setup b'));
    expect(removeMarkedBlock(removeMarkedBlock(a2, 'a').text, 'b').text).toBe('Port 22\n');
  });

  it('refuses a half-present block', () => {
    expect(() => upsertMarkedBlock(`x\n# BEGIN sftp-setup ${USER}\nMatch User ${USER}\n`, USER, BLOCK)).toThrow(UsageError);
    expect(() => removeMarkedBlock(`# END sftp-setup ${USER}\n`, USER)).toThrow(UsageError);
  });

  it('round-trips any text (property)', () => {
    const chars = fc.constantFrom('a', ' ', '\n', '\r', '#', 'Match all', 'x');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 60 }).map((a) => a.join('')), (text) => {
        fc.pre(!text.includes('sftp-setup'));
        const once = upsertMarkedBlock(text, USER, BLOCK);
        expect(removeMarkedBlock(once.text, USER).text).toBe(text);
      }),
    );
  });
});

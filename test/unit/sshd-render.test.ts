import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseConfig } from '../../src/sshd/parse.js';
import { fillTemplate, quoteArg, renderMatchBlock, SFTP_PROFILES, sftpProfileFlags, templateName } from '../../src/sshd/render.js';

const template = readFileSync(new URL(`../../templates/${templateName}`, import.meta.url), 'utf8');
const base = {
  user: 'allsky-upload',
  chroot: '/var/lib/allsky-uploads',
  authorizedKeysFile: '/etc/ssh/sftp-setup/authorized_keys/%u',
  sftpFlags: sftpProfileFlags('allsky'),
  header: 'Managed by sftp-setup; changes here are overwritten',
};

describe('fillTemplate', () => {
  it('fills plain placeholders verbatim, values included as they are (no HTML escaping, no second pass)', () => {
    expect(fillTemplate('a {{x}} b {{ y }}\n', { x: '<&"\'>', y: '{{x}}' })).toBe('a <&"\'> b {{x}}\n');
  });
  it('refuses what it does not do, and a name without a value: never a half-filled file', () => {
    for (const t of ['{{#if x}}a{{/if}}', '{{{x}}}', '{{!c}}', '{{x.y}}', '{{> p}}', 'a {{ b', 'a }} b', '{{}}']) {
      expect(() => fillTemplate(t, { x: '1', b: '2' }), t).toThrow(/template: unsupported/);
    }
    expect(() => fillTemplate('{{missing}}', {})).toThrow(/no value for \{\{missing\}\}/);
    expect(() => fillTemplate('{{constructor}}', {})).toThrow(/no value/);
  });
});

describe('renderMatchBlock', () => {
  it('renders the block exactly', () => {
    expect(renderMatchBlock(template, base)).toBe(
      [
        '# Managed by sftp-setup; changes here are overwritten',
        'Match User allsky-upload',
        '    ChrootDirectory /var/lib/allsky-uploads',
        `    ForceCommand internal-sftp ${sftpProfileFlags('allsky')}`,
        '    AuthorizedKeysFile /etc/ssh/sftp-setup/authorized_keys/%u',
        '    PasswordAuthentication no',
        '    KbdInteractiveAuthentication no',
        '    PubkeyAuthentication yes',
        '    DisableForwarding yes',
        '    AllowTcpForwarding no',
        '    AllowStreamLocalForwarding no',
        '    X11Forwarding no',
        '    AllowAgentForwarding no',
        '    PermitOpen none',
        '    PermitListen none',
        '    PermitTunnel no',
        '    PermitTTY no',
        '    PermitUserRC no',
        '    LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
  });

  it('quotes paths so sshd reads them back unchanged, and escapes nothing HTML-ish', () => {
    const tricky = '/srv/a b/<c>&"d"\\e';
    const out = renderMatchBlock(template, { ...base, chroot: tricky, header: '# one\ntwo' });
    expect(out.startsWith('# one\n# two\nMatch User')).toBe(true);
    const chroot = parseConfig(out, 'f').find((l) => l.keyword === 'chrootdirectory')!;
    expect(chroot.args).toEqual([tricky]);
    expect(out).toContain('<c>&');
    expect(quoteArg('#x', 'p')).toBe('"#x"');
  });

  it('rejects input that would break the file or the Match pattern', () => {
    expect(() => renderMatchBlock(template, { ...base, user: 'a*' })).toThrow(UsageError);
    expect(() => renderMatchBlock(template, { ...base, user: 'a,b' })).toThrow(UsageError);
    expect(() => renderMatchBlock(template, { ...base, chroot: '/x\nPermitTTY yes' })).toThrow(UsageError);
    expect(() => renderMatchBlock(template, { ...base, sftpFlags: '-u 0022\nX11Forwarding yes' })).toThrow(UsageError);
    expect(() => renderMatchBlock(template, { ...base, chroot: '' })).toThrow(UsageError);
  });
});

describe('sftpProfileFlags', () => {
  const allowed = (p: 'allsky' | 'dropbox') => sftpProfileFlags(p).split(' -p ')[1]!.split(',');

  it('sets the umask and an allow-list', () => {
    expect(sftpProfileFlags('allsky')).toMatch(/^-u 0022 -p [a-z-]+(,[a-z-]+)+$/);
  });

  it('allsky: what lftp, OpenSSH sftp/scp and upload.sh need, and no reading or links', () => {
    const a = allowed('allsky');
    for (const r of ['realpath', 'stat', 'open', 'write', 'close', 'limits', 'opendir', 'readdir', 'remove', 'rename', 'posix-rename', 'mkdir', 'expand-path']) {
      expect(a).toContain(r);
    }
    // no reading, no links, and no mode changes: setstat, fsetstat (works on directory handles) and lsetstat
    for (const r of ['read', 'symlink', 'hardlink', 'readlink', 'copy-data', 'rmdir', 'setstat', 'fsetstat', 'lsetstat']) expect(a).not.toContain(r);
  });

  it('dropbox: upload only', () => {
    const d = allowed('dropbox');
    for (const r of ['realpath', 'stat', 'open', 'write', 'close', 'limits']) expect(d).toContain(r);
    for (const r of ['read', 'remove', 'rename', 'posix-rename', 'readdir', 'opendir', 'symlink', 'hardlink', 'setstat', 'fsetstat', 'lsetstat']) expect(d).not.toContain(r);
    expect(SFTP_PROFILES.dropbox.every((r) => SFTP_PROFILES.allsky.includes(r))).toBe(true);
  });
});

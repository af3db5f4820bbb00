/** The man page and the bash completion are generated from the commander program: everything in it, escaped. */
import { describe, expect, it } from 'vitest';
import { buildProgram, EXIT } from '../../src/cli.js';
import { bashCompletion, valueKind } from '../../src/docs/completion.js';
import { afterHelpText, allCommands, manPage, roffEscape } from '../../src/docs/man-page.js';

const exitCodes = Object.values(EXIT).map((code) => ({ code, meaning: `meaning of ${code}` }));
const page = () => manPage({ program: buildProgram(), version: '9.8.7', date: 'November 2026', exitCodes });

describe('roffEscape', () => {
  it('escapes backslashes and hyphens, and a line that would read as a request', () => {
    expect(roffEscape('a\\b --dry-run')).toBe('a\\eb \\-\\-dry\\-run');
    expect(roffEscape(".TH x\n'quote\nplain")).toBe("\\&.TH x\n\\&'quote\nplain");
    expect(roffEscape('SHA256:… — x')).toBe('SHA256:\\[u2026] \\[em] x');
  });
});

describe('man page', () => {
  it('has the title, name and the sections a man page needs, in order', () => {
    const text = page();
    expect(text.split('\n').find((l) => l.startsWith('.TH'))).toBe('.TH SFTP-SETUP 1 "November 2026" "sftp-setup 9.8.7" "User Commands"');
    const sections = text.split('\n').filter((l) => l.startsWith('.SH')).map((l) => l.slice(4));
    expect(sections).toEqual(['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'COMMANDS', '"EXIT STATUS"', '"SEE ALSO"']);
    expect(text).toMatch(/^\.SH NAME\nsftp\\-setup \\- Locked\\-down, chrooted OpenSSH SFTP upload accounts/m);
  });

  it('documents every command and subcommand, each option and argument, and the examples from its --help', () => {
    const text = page();
    const commands = allCommands(buildProgram());
    expect(commands.map((c) => c.name.join(' '))).toEqual(['init', 'uninstall', 'keys', 'keys list', 'keys add', 'keys remove', 'keys sign', 'keys revoke', 'keys rotate', 'ca', 'ca init', 'allsky-config', 'sync', 'doctor', 'watch', 'status', 'demo']);
    for (const { name, cmd } of commands) {
      expect(text).toContain(`.SS "sftp\\-setup ${roffEscape(name.join(' '))}`);
      for (const opt of cmd.options) expect(text, `${name.join(' ')} ${opt.long}`).toContain(`\\fB${roffEscape(opt.flags.split(' ').filter((f) => f.startsWith('-')).join(' '))}\\fR`);
      for (const arg of cmd.registeredArguments) expect(text).toContain(`\\fI<${arg.name()}>\\fR`);
      const after = afterHelpText(cmd);
      if (cmd.commands.length === 0) expect(after, name.join(' ')).toMatch(/Example:/);
      for (const line of after.split('\n').filter(Boolean)) expect(text).toContain(roffEscape(line));
    }
    expect(text).toContain('\\fBsftp\\-setup keys add\\fR [options] <key>');
    for (const { code } of exitCodes) expect(text).toMatch(new RegExp(`^\\.TP\\n\\\\fB${code}\\\\fR\\nmeaning of ${code}$`, 'm'));
  });

  it('never starts a text line with a dot or quote, and every request is a known man(7) macro', () => {
    const known = new Set(['TH', 'SH', 'SS', 'TP', 'PP', 'RS', 'RE', 'nf', 'fi', 'br', 'nh', 'ad', '\\"']);
    for (const line of page().split('\n').filter((l) => /^[.']/.test(l))) {
      expect(known.has(line.slice(1).split(' ')[0]!), line).toBe(true);
    }
  });
});

describe('bash completion', () => {
  it('knows where a value is a choice, a directory or a file', () => {
    expect(valueKind('<role>', ['collector', 'camera'])).toEqual({ words: ['collector', 'camera'] });
    expect(valueKind('<dir>')).toBe('dirs');
    expect(valueKind('<path>')).toBe('files');
    expect(valueKind('<key>')).toBe('files');
    expect(valueKind('<name>')).toBe('none');
  });

  it('lists every command level with its subcommands and options, and registers the function', () => {
    const script = bashCompletion(buildProgram());
    expect(script).toMatch(/^ {4}''\) opts='-V --version -h --help'; words='init uninstall keys ca allsky-config sync doctor watch status demo help';/m);
    expect(script).toMatch(/^ {4}'keys'\) opts='-h --help'; words='list add remove sign revoke rotate help';/m);
    expect(script).toMatch(/^ {4}'keys add'\) opts='--user --from -n --dry-run --json --wait -h --help'; words=''; compopt -o filenames 2>\/dev\/null; COMPREPLY=\(\$\(compgen -f -- "\$cur"\)\); ;;$/m);
    expect(script).toContain(`'init:--profile') COMPREPLY=($(compgen -W 'allsky dropbox' -- "$cur")); return ;;`);
    expect(script).toContain(`'doctor:--role') COMPREPLY=($(compgen -W 'collector camera' -- "$cur")); return ;;`);
    expect(script).toContain(`'init:--root') compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return ;;`);
    expect(script).toMatch(/\ncomplete -F _sftp_setup sftp-setup\n$/);
  });
});

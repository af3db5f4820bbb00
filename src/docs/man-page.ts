/**
 * The manual page, sftp-setup(1), generated from the same command definitions that print --help: every
 * command and subcommand with its usage, description, options and the examples its --help ends with.
 * Output is roff for the man(7) macros. Pure: the caller writes the text where it belongs.
 */
import type { Command, Help } from 'commander';

export interface ManPageInput {
  program: Command;
  version: string;
  /** exit codes and what each means, in order */
  exitCodes: { code: number; meaning: string }[];
  /** e.g. "November 2026" */
  date: string;
}

/** Text made safe for roff: backslashes, hyphens that are options, and lines that would read as requests. */
export function roffEscape(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/…/g, '\\[u2026]')
    .replace(/—/g, '\\[em]')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

/** The text commander prints after a command's help (addHelpText('after', …)): examples, exit codes. */
export function afterHelpText(cmd: Command): string {
  let out = '';
  // Commander keeps these texts only as listeners of its 'afterHelp' event (a Command is an EventEmitter).
  (cmd as unknown as NodeJS.EventEmitter).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (out += s) });
  return out.replace(/^\n+/, '').replace(/\s+$/, '');
}

/** Every command below `cmd`, depth first, with its full name ("keys add"); commander's own help command left out. */
export function allCommands(cmd: Command, prefix: string[] = []): { name: string[]; cmd: Command }[] {
  const help = cmd.createHelp();
  return help
    .visibleCommands(cmd)
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [{ name: [...prefix, c.name()], cmd: c }, ...allCommands(c, [...prefix, c.name()])]);
}

/** A preformatted block (examples, usage lines): kept as written, no filling. */
function literal(text: string): string[] {
  return ['.PP', '.nf', '.RS 4', roffEscape(text), '.RE', '.fi'];
}

function optionItems(help: Help, cmd: Command): string[] {
  const lines: string[] = [];
  for (const arg of help.visibleArguments(cmd)) {
    const term = arg.required ? `<${arg.name()}>` : `[${arg.name()}]`;
    lines.push('.TP', `\\fI${roffEscape(term)}\\fR`, roffEscape(help.argumentDescription(arg)));
  }
  for (const opt of help.visibleOptions(cmd)) {
    // "-n, --dry-run" in bold, the value placeholder ("<name>") in italics
    const words = help.optionTerm(opt).split(' ');
    const end = words.findIndex((w) => !w.startsWith('-'));
    const flags = (end < 0 ? words : words.slice(0, end)).join(' ');
    const value = end < 0 ? '' : words.slice(end).join(' ');
    const term = `\\fB${roffEscape(flags)}\\fR${value ? ` \\fI${roffEscape(value)}\\fR` : ''}`;
    lines.push('.TP', term, roffEscape(help.optionDescription(opt)));
  }
  return lines;
}

export function manPage(input: ManPageInput): string {
  const { program, version } = input;
  const help = program.createHelp();
  const name = program.name();
  const lines: string[] = [
    `.\\" Generated from the ${name} command definitions; edit those, not this file.`,
    `.TH ${name.toUpperCase()} 1 "${input.date}" "${name} ${version}" "User Commands"`,
    // no hyphenation, ragged right: paths and option names stay whole
    '.nh',
    '.ad l',
    '.SH NAME',
    `${roffEscape(name)} \\- ${roffEscape(help.commandDescription(program).replace(/\.$/, ''))}`,
    '.SH SYNOPSIS',
  ];
  const commands = allCommands(program);
  // Only the commands that do something; "keys" alone just lists its subcommands.
  for (const { cmd } of commands.filter((c) => c.cmd.commands.length === 0)) {
    // "sftp-setup keys add [options] <key>": the command in bold, its arguments as they are
    const usage = help.commandUsage(cmd);
    const words = usage.split(' ');
    const cut = words.findIndex((w) => /^[[<]/.test(w));
    const head = cut < 0 ? words : words.slice(0, cut);
    lines.push('.br', `\\fB${roffEscape(head.join(' '))}\\fR ${roffEscape(cut < 0 ? '' : words.slice(cut).join(' '))}`.trimEnd());
  }
  lines.push('.br', `\\fB${roffEscape(name)}\\fR [\\fB\\-\\-help\\fR | \\fB\\-V\\fR, \\fB\\-\\-version\\fR]`);
  lines.push('.SH DESCRIPTION', roffEscape(help.commandDescription(program)));
  const programAfter = afterHelpText(program);
  if (programAfter) lines.push(...literal(programAfter));
  lines.push('.SH OPTIONS', ...optionItems(help, program));
  lines.push('.SH COMMANDS');
  for (const { cmd } of commands) {
    const h = cmd.createHelp();
    lines.push(`.SS "${roffEscape(h.commandUsage(cmd))}"`);
    lines.push(roffEscape(h.commandDescription(cmd)));
    if (cmd.commands.length > 0) {
      lines.push('.PP', `Subcommands: ${h.visibleCommands(cmd).filter((c) => c.name() !== 'help').map((c) => `\\fB${roffEscape(c.name())}\\fR`).join(', ')}.`);
      continue;
    }
    lines.push(...optionItems(h, cmd));
    const after = afterHelpText(cmd);
    if (after) lines.push(...literal(after));
  }
  lines.push('.SH "EXIT STATUS"');
  for (const { code, meaning } of input.exitCodes) lines.push('.TP', `\\fB${code}\\fR`, roffEscape(meaning));
  lines.push('.SH "SEE ALSO"', '\\fBsshd_config\\fR(5), \\fBsftp\\fR(1), \\fBlftp\\fR(1), \\fBssh\\-keygen\\fR(1)');
  return lines.join('\n') + '\n';
}

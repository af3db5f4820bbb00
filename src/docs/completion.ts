/**
 * Bash completion for sftp-setup, generated from the command definitions: the commands and subcommands,
 * each one's options, the choices of an option that has them, and directories or files where a value is
 * one (by its placeholder: <dir>, <file>, <path>, <key>). Pure: returns the script text.
 */
import type { Argument, Command, Option } from 'commander';
import { allCommands } from './man-page.js';

/** What to offer for a value: fixed words, directories, files, or nothing (free text such as a name). */
export type ValueKind = { words: string[] } | 'dirs' | 'files' | 'none';

export function valueKind(placeholder: string, choices?: readonly string[]): ValueKind {
  if (choices && choices.length > 0) return { words: [...choices] };
  if (/^[<[](dir)[>\]]$/.test(placeholder)) return 'dirs';
  if (/^[<[](file|path|key)[>\]]$/.test(placeholder)) return 'files';
  return 'none';
}

function optionPlaceholder(opt: Option): string | undefined {
  return opt.required || opt.optional ? opt.flags.split(/[ ,]+/).find((w) => /^[<[]/.test(w)) : undefined;
}

function argumentPlaceholder(arg: Argument): string {
  return arg.required ? `<${arg.name()}>` : `[${arg.name()}]`;
}

/** One bash single-quoted word. */
function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function reply(kind: ValueKind): string {
  if (kind === 'dirs') return 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))';
  if (kind === 'files') return 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))';
  if (kind === 'none') return 'COMPREPLY=()';
  return `COMPREPLY=($(compgen -W ${q(kind.words.join(' '))} -- "$cur"))`;
}

export function bashCompletion(program: Command): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const levels = [{ path: '', cmd: program }, ...allCommands(program).map((c) => ({ path: c.name.join(' '), cmd: c.cmd }))];

  const commandCases: string[] = [];
  const valueOptionCases: string[] = [];
  const valueCases: string[] = [];
  const wordCases: string[] = [];
  for (const { path, cmd } of levels) {
    const help = cmd.createHelp();
    const subs = help.visibleCommands(cmd).map((c) => c.name());
    for (const sub of subs.filter((s) => s !== 'help')) commandCases.push(`${q(`${path}:${sub}`)}) path=${q(path ? `${path} ${sub}` : sub)} ;;`);
    const options = help.visibleOptions(cmd);
    const flags = options.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f)));
    for (const opt of options) {
      const placeholder = optionPlaceholder(opt);
      if (!placeholder) continue;
      const labels = [opt.short, opt.long].filter((f): f is string => Boolean(f)).map((f) => q(`${path}:${f}`));
      valueOptionCases.push(...labels);
      valueCases.push(`${labels.join('|')}) ${reply(valueKind(placeholder, opt.argChoices))}; return ;;`);
    }
    const args = help.visibleArguments(cmd);
    const positional = args.length > 0 ? valueKind(argumentPlaceholder(args[0]!), args[0]!.argChoices) : 'none';
    const positionalReply = positional === 'none' ? '' : ` ${reply(positional)};`;
    wordCases.push(`${q(path)}) opts=${q(flags.join(' '))}; words=${q(subs.join(' '))};${positionalReply} ;;`);
  }

  const indent = (cases: string[], n: number) => cases.map((c) => `${' '.repeat(n)}${c}`).join('\n');
  return `# bash completion for ${name}, generated from its command definitions; edit those, not this file.
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path='' skip='' i w opts words
  COMPREPLY=()
  # Walk the words before the cursor: known subcommands extend the path; an option that takes a value
  # swallows the next word.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ -n $skip ]]; then skip=''; continue; fi
    case "$path:$w" in
${indent(commandCases, 6)}
${valueOptionCases.length ? `      ${valueOptionCases.join('|')}) skip=1 ;;\n` : ''}    esac
  done
  if [[ -n $skip ]]; then
    case "$path:\${COMP_WORDS[COMP_CWORD-1]}" in
${indent(valueCases, 6)}
    esac
  fi
  case "$path" in
${indent(wordCases, 4)}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n $words ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F ${fn} ${name}
`;
}

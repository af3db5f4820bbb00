/**
 * A run that names no command (--help, --version, no arguments) builds only each command's name and summary
 * (buildProgram('list')); what it prints must be what the whole program prints.
 */
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';

describe('the list-only program', () => {
  it('prints the same top-level help as the whole program, at every width', () => {
    for (const width of [40, 64, 80, 200]) {
      const render = (program: ReturnType<typeof buildProgram>): string => {
        program.configureOutput({ getOutHelpWidth: () => width });
        return program.helpInformation();
      };
      const whole = render(buildProgram('all'));
      expect(whole).toContain('init [options]');
      expect(whole).toMatch(/^ {2}keys {2,}manage the keys/m);
      expect(render(buildProgram('list')), `width ${width}`).toBe(whole);
    }
  });

  it('lists the same commands, and builds none of their options', () => {
    const whole = buildProgram('all').commands;
    const list = buildProgram('list').commands;
    expect(list.map((c) => [c.name(), c.description()])).toEqual(whole.map((c) => [c.name(), c.description()]));
    expect(list.every((c) => c.options.length === 0 && c.commands.length === 0)).toBe(true);
    // and every leaf of the whole program really takes options (what the list's `[options]` claims)
    for (const c of whole) expect(c.options.length > 0 || c.commands.length > 0, c.name()).toBe(true);
  });

  it('builds one command when a run names it, every command for a word that is not one', () => {
    expect(buildProgram({ command: 'doctor' }).commands.map((c) => c.name())).toEqual(['doctor']);
    expect(buildProgram({ command: 'help' }).commands.length).toBe(buildProgram('all').commands.length);
  });

  it('builds one subcommand of a group when a run names it, all of them for none or a word that is not one', () => {
    const subs = (sub?: string) => buildProgram({ command: 'keys', sub }).commands[0]!.commands.map((c) => c.name());
    const all = ['list', 'add', 'remove', 'sign', 'revoke', 'rotate'];
    expect(subs('list')).toEqual(['list']);
    expect(subs('rotate')).toEqual(['rotate']);
    expect(subs()).toEqual(all);
    expect(subs('lst')).toEqual(all);
    // the subcommand built alone is the same as in the whole program: its options and their defaults
    const options = (c: ReturnType<typeof buildProgram>, sub: string) =>
      c.commands.find((x) => x.name() === 'keys')!.commands.find((x) => x.name() === sub)!.options.map((o) => [o.flags, o.defaultValue]);
    for (const sub of all) expect(options(buildProgram({ command: 'keys', sub }), sub)).toEqual(options(buildProgram('all'), sub));
    // a word after any other command is its argument or an option's value, not a subcommand
    expect(buildProgram({ command: 'init', sub: 'list' }).commands[0]!.options.length).toBeGreaterThan(5);
  });
});

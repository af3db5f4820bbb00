/**
 * runPlan's order of checks: all at once while nothing has been applied, then one by one on what the
 * applies made. The "system" is a Set of names the steps look at and add to.
 */
import { describe, expect, it } from 'vitest';
import { runPlan } from '../../src/plan/runner.js';
import type { Step } from '../../src/plan/step.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A step that wants `name` in the system, its check taking `ms`; `needs`: its check throws while that name is missing. */
function want(system: Set<string>, name: string, log: string[], needs?: string, ms = 1): Step {
  let running = 0;
  return {
    id: name, title: name,
    async check() {
      running++;
      log.push(`check ${name}${running > 1 ? ' (again, while running)' : ''}`);
      await sleep(ms);
      running--;
      log.push(`checked ${name}`);
      if (needs && !system.has(needs)) throw new Error(`${name} needs ${needs}`);
      return system.has(name) ? null : { summary: `add ${name}` };
    },
    async apply() {
      log.push(`apply ${name}`);
      system.add(name);
    },
  };
}

describe('runPlan', () => {
  it('checks every step at once when nothing needs applying', async () => {
    const system = new Set(['a', 'b', 'c']);
    const log: string[] = [];
    const reports = await runPlan(['a', 'b', 'c'].map((n) => want(system, n, log)), { dryRun: false });
    expect(reports.map((r) => r.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    // Each check waits a timer: in turn, a check would finish before the next one starts.
    expect(log).toEqual(['check a', 'check b', 'check c', 'checked a', 'checked b', 'checked c']);
  });

  it('checks the steps after an apply again, one by one, on what it made', async () => {
    const system = new Set<string>();
    const log: string[] = [];
    // b's and c's early checks fail (a and b are missing): after a and b are applied, c is checked again and is fine.
    system.add('c');
    const reports = await runPlan([want(system, 'a', log), want(system, 'b', log, 'a'), want(system, 'c', log, 'b')], { dryRun: false });
    expect(reports.map((r) => `${r.id} ${r.status}`)).toEqual(['a changed', 'b changed', 'c unchanged']);
    expect(log.filter((l) => !l.startsWith('checked'))).toEqual(['check a', 'check b', 'check c', 'apply a', 'check b', 'apply b', 'check c']);
  });

  it('never runs a step\'s check twice at once, even when an apply comes before its early check is over', async () => {
    const system = new Set<string>();
    const log: string[] = [];
    await runPlan([want(system, 'a', log), want(system, 'b', log, undefined, 30)], { dryRun: false });
    expect(log.filter((l) => l.includes('while running'))).toEqual([]);
    expect(log.filter((l) => l.startsWith('check b'))).toHaveLength(2);
  });

  it('a dry run reports every step on the unchanged system, and a failed check stops the plan at its step', async () => {
    const system = new Set<string>();
    const log: string[] = [];
    const dry = await runPlan([want(system, 'a', log), want(system, 'b', log)], { dryRun: true });
    expect(dry.map((r) => `${r.id} ${r.status}`)).toEqual(['a would-change', 'b would-change']);
    expect(system.size).toBe(0);
    const failing = runPlan([want(system, 'x', log, 'nothing'), want(system, 'y', log)], { dryRun: false });
    await expect(failing).rejects.toThrow('x needs nothing');
    expect(system.size).toBe(0);
  });
});

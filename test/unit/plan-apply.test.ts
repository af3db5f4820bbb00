/**
 * applyPlan, the one apply path of every changing command: the same outcome lines, rollback with the
 * afterRollback actions last, the rollback problems reported (human and JSON), the lock released. A real
 * Journal and lock in a temporary directory; the steps are plain objects.
 */
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyPlan, type ApplyRequest } from '../../src/plan/apply.js';
import { FailError, UsageError } from '../../src/errors.js';
import { Journal } from '../../src/system/files.js';
import type { Step } from '../../src/plan/step.js';

let dir: string;
let lines: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apply-test-'));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

function request(steps: Step[], extra: Partial<ApplyRequest> = {}): ApplyRequest {
  return {
    subject: 'test thing', doing: 'Setting up', already: 'set up', done: 'Done.',
    lockPath: join(dir, 'lock', 'lock'), journal: new Journal(join(dir, 'backups')),
    steps, dryRun: false, yes: true, json: false, out: (s) => lines.push(plain(s)), ...extra,
  };
}

/** A step that writes `content` to a file through the journal. */
function writeStep(journal: Journal, path: string, content: string): Step {
  return {
    id: `write-${path}`, title: `write ${path}`,
    check: async () => (existsSync(path) && readFileSync(path, 'utf8') === content ? null : { summary: 'write' }),
    apply: () => journal.writeAtomic(path, content, { mode: 0o644, uid: 0, gid: 0 }),
  };
}
const failing = (err: Error): Step => ({ id: 'boom', title: 'boom', check: async () => ({ summary: 'fail' }), apply: async () => { throw err; } });

describe('applyPlan', () => {
  it('applies, then says "Already …: nothing changed" on the second run; a dry run changes nothing', async () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'zero\n');
    const r1 = request([]);
    r1.steps = [writeStep(r1.journal, file, 'one\n')];
    const a = await applyPlan(r1);
    expect(a).toMatchObject({ declined: false, changed: true });
    expect(lines[0]).toBe('Setting up test thing');
    expect(lines.at(-1)).toMatch(/^Done\. Backups in /);
    expect(readFileSync(file, 'utf8')).toBe('one\n');
    expect(existsSync(join(dir, 'lock', 'lock'))).toBe(false); // released

    lines = [];
    const r2 = request([]);
    r2.steps = [writeStep(r2.journal, file, 'one\n')];
    expect(await applyPlan(r2)).toMatchObject({ changed: false });
    expect(lines.at(-1)).toBe('Already set up: nothing changed.');

    lines = [];
    const r3 = request([], { dryRun: true });
    r3.steps = [writeStep(r3.journal, file, 'two\n')];
    expect(await applyPlan(r3)).toMatchObject({ changed: false, pending: true });
    expect(lines[0]).toBe('Plan (dry run, nothing will change) test thing');
    expect(lines.at(-1)).toBe('Dry run: nothing was changed.');
    expect(readFileSync(file, 'utf8')).toBe('one\n');
  });

  it('rolls back every change, runs the afterRollback actions last and once, rethrows the cause', async () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'old\n');
    const order: string[] = [];
    const r = request([]);
    const register: Step = {
      id: 'sshd', title: 'sshd', check: async () => ({ summary: 'x' }),
      apply: async () => {
        r.journal.afterRollback('reload sshd', async () => void order.push(`reload saw ${readFileSync(file, 'utf8').trim()}`));
        r.journal.afterRollback('reload sshd', async () => void order.push('second registration'));
      },
    };
    const cause = new UsageError('bad thing', 'fix it');
    r.steps = [writeStep(r.journal, file, 'new\n'), register, failing(cause)];
    await expect(applyPlan(r)).rejects.toBe(cause);
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(order).toEqual(['reload saw old']);
    expect(lines.at(-1)).toBe('Every change of this run was rolled back.');
    expect(existsSync(join(dir, 'lock', 'lock'))).toBe(false);
  });

  it('a rollback that cannot finish is a FailError naming the problem and the backups, in JSON too', async () => {
    const r = request([], { json: true });
    r.steps = [
      { id: 'a', title: 'a', check: async () => ({ summary: 'x' }), apply: async () => r.journal.onRollback(async () => { throw new Error('cannot undo a'); }) },
      failing(new Error('step b broke')),
    ];
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (printed.push(String(s)), true));
    try {
      const err = await applyPlan(r).catch((e) => e);
      expect(err).toBeInstanceOf(FailError);
      expect(err.message).toBe('step b broke; rolling back also failed: cannot undo a');
      expect(err.fix).toBe(`restore by hand from ${r.journal.backupDirPath}`);
    } finally {
      spy.mockRestore();
    }
    const doc = JSON.parse(printed.join(''));
    expect(doc).toMatchObject({ ok: false, error: 'step b broke', rollbackProblems: ['cannot undo a'] });
    expect(doc.steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual(['a:changed', 'boom:failed']);
  });

  it('a plan that refuses while being built changes nothing and releases the lock', async () => {
    const r = request([], { steps: async () => { throw new UsageError('--root is bad', 'give another'); } });
    await expect(applyPlan(r)).rejects.toThrow('--root is bad');
    expect(lines).toEqual([]);
    expect(existsSync(join(dir, 'backups'))).toBe(false);
    expect(existsSync(join(dir, 'lock', 'lock'))).toBe(false);
  });
});

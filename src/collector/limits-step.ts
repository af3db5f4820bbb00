/**
 * The step that keeps sshd's connection limits sized for the upload accounts sftp-setup manages: our drop-in
 * (sshd/limits.ts decides what it holds), installed through the same validation as the Match block.
 */
import { FailError } from '../errors.js';
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import { parseEffective } from '../sshd/effective.js';
import { describeLimits, LIMITS_FILE_NAME, limitsMismatch, planLimits, type LimitsPlan } from '../sshd/limits.js';
import { globalDropin } from '../sshd/placement.js';
import { readText, removeFile, type Journal } from '../system/files.js';
import { globalConfig, isRunning, reload } from '../system/sshd.js';
import type { SshdState } from './inspect.js';
import { installValidated, RELOAD_PENDING } from './sshd-install.js';

/** sshd -T must show every limit we write: on the candidate before installing it, and after the reload. */
export async function confirmLimits(plan: LimitsPlan, configPath?: string): Promise<void> {
  const wrong = limitsMismatch(parseEffective(await globalConfig(configPath)), plan);
  if (wrong.length) {
    const w = wrong[0]!;
    throw new FailError(
      `sshd would use ${w.keyword} ${w.actual ?? '(unset)'}, not ${w.expected}: another setting wins over sftp-setup's connection limits`,
      `see which file sets it: sudo sshd -T | grep -i ${w.keyword.toLowerCase()}; then run sudo sftp-setup doctor`,
    );
  }
}

export interface LimitsStep {
  step: Step;
  /** null when no Include reads a drop-in in global context: nothing is written */
  plan: LimitsPlan | null;
}

/**
 * `users`: every account sftp-setup will manage once the run is done. `reloadAfter`: reload sshd right after
 * writing (uninstall); init leaves that to its reload step.
 */
export async function buildLimitsStep(opts: {
  sshd: SshdState;
  users: string[];
  journal: Journal;
  touched: () => void;
  reloadAfter?: boolean;
}): Promise<LimitsStep> {
  const { sshd, journal } = opts;
  const accounts = new Set(opts.users).size;
  const where = globalDropin({ mainText: sshd.mainText, mainPath: sshd.mainPath, directives: sshd.directives }, LIMITS_FILE_NAME);
  const count = `${accounts} upload account${accounts === 1 ? '' : 's'}`;
  if (!where) {
    return {
      plan: null,
      step: {
        id: 'sshd-limits',
        title: `sshd connection limits for ${count}: not written, ${sshd.mainPath} has no Include before its first Match that reads a drop-in (sshd's defaults drop uploads that start at the same moment)`,
        check: async () => null,
        apply: async () => {},
      },
    };
  }
  const path = where.path;
  const ownText = await readText(path);
  const plan = planLimits({
    accounts,
    effective: parseEffective(sshd.globalSettings),
    directives: sshd.directives,
    ownPath: path,
    ownText,
  });
  const step: Step = {
    id: 'sshd-limits',
    title: accounts === 0 ? `sshd connection limits: no upload account left` : `sshd connection limits for ${count}: ${describeLimits(plan)}`,
    async check() {
      const before = await readText(path);
      const after = accounts === 0 ? null : plan.text;
      if (before === after) return null;
      const summary = before === null ? `create ${path}` : after === null ? `remove ${path} (${accounts === 0 ? 'no account needs it' : 'every limit is set elsewhere'})` : `update ${path}`;
      return { summary, diff: unifiedDiff(before ?? '', after ?? '', path) };
    },
    async apply() {
      const after = accounts === 0 ? null : plan.text;
      await installValidated(
        { kind: 'dropin', target: path, realPath: path, after },
        {
          mainPath: sshd.mainPath,
          // Read again: an earlier step of this run may have changed the main file (a marked Match block).
          mainText: (await readText(sshd.mainPath)) ?? sshd.mainText,
          journal,
          ...(opts.reloadAfter ? {} : { note: 'connection limits' }),
          confirm: (candidateMain) => (after === null ? Promise.resolve() : confirmLimits(plan, candidateMain)),
          touched: opts.touched,
        },
      );
      if (opts.reloadAfter && (await isRunning())) {
        await reload();
        if (after !== null) await confirmLimits(plan);
        await removeFile(RELOAD_PENDING);
      }
    },
  };
  return { step, plan };
}

/**
 * The one path by which init installs a file of sshd's configuration (the account's Match block, the
 * connection limits): the candidate is checked exactly as sshd will read it — `sshd -t`, then the caller's
 * `sshd -T` confirmation on the candidate — before it replaces anything, then written through the journal
 * with a reload marked pending, so that a run killed before the reload is finished by the next one.
 */
import { FailError } from '../errors.js';
import { parseConfig } from '../sshd/parse.js';
import { resolveIncludePath } from '../sshd/includes.js';
import { globMatch } from '../sshd/placement.js';
import { ensureDir, removeEmptyDir, statPath, writeFileAtomic, type Journal } from '../system/files.js';
import { globPathsSync, reloadIfRunning, testConfig, withCandidateConfig } from '../system/sshd.js';
import { RUN_DIR } from './layout.js';

export const RELOAD_PENDING = `${RUN_DIR}/reload-pending`;

export interface SshdFileChange {
  /** the main file itself, or a drop-in that an Include of the main file reads */
  kind: 'dropin' | 'main';
  /** where it is written (a symlinked main file: the link's target, so that it stays a link) */
  realPath: string;
  /** the drop-in's path as the Include sees it (for `main`, the main file's) */
  target: string;
  /** the new text; null removes the drop-in */
  after: string | null;
}

export interface InstallContext {
  mainPath: string;
  /** the main file's text as it is on disk now */
  mainText: string;
  journal: Journal;
  /** sshd -T on the candidate (its main file's path given) must show what the change means; throws if not */
  confirm(candidateMain: string): Promise<void>;
  /** called right before the first byte is written (a rollback reloads sshd: registered here) */
  touched(): void;
  /** written into the reload-pending marker; none when the caller reloads right after (uninstall) */
  note?: string;
}

export async function installValidated(change: SshdFileChange, ctx: InstallContext): Promise<void> {
  await withCandidateConfig(async (write) => {
    let candidateMain: string;
    if (change.kind === 'dropin') {
      const candidate = change.after !== null ? await write('dropin.conf', change.after) : null;
      candidateMain = await write('sshd_config', mainWithCandidate(ctx.mainText, ctx.mainPath, change.target, candidate));
    } else {
      candidateMain = await write('sshd_config', change.after ?? '');
    }
    // Both read the candidate and change nothing: side by side, and sshd -t's verdict first.
    const [t, confirmed] = await Promise.allSettled([testConfig(candidateMain), ctx.confirm(candidateMain)]);
    if (t.status === 'rejected') throw t.reason;
    if (!t.value.ok) throw new FailError(`sshd rejects the new configuration: ${t.value.message.split('\n')[0]}`, 'nothing was installed; please report this with the output of --dry-run');
    if (confirmed.status === 'rejected') throw confirmed.reason;
  });
  if (ctx.note !== undefined) {
    await ensureDir(RUN_DIR, 0o755, 0, 0);
    await writeFileAtomic(RELOAD_PENDING, `${ctx.note}\n`, { mode: 0o644 });
  }
  // From here on a rollback must make sshd read the old files again, whichever command this is.
  ctx.journal.afterRollback('reload sshd', reloadIfRunning);
  ctx.touched();
  if (change.after === null) {
    if (await statPath(change.realPath)) await ctx.journal.remove(change.realPath);
    return;
  }
  const info = await statPath(change.realPath);
  // The Include may name a drop-in directory that does not exist (yet): make it, undo on failure.
  const dropDir = change.realPath.slice(0, change.realPath.lastIndexOf('/'));
  if (!(await statPath(dropDir))) {
    ctx.journal.onRollback(() => removeEmptyDir(dropDir));
    await ensureDir(dropDir, 0o755, 0, 0);
  }
  await ctx.journal.writeAtomic(change.realPath, change.after, { mode: info?.mode ?? 0o644, uid: info?.uid ?? 0, gid: info?.gid ?? 0 });
}

/**
 * The main file as sshd would read it with the candidate drop-in in place (or, with `candidate` null,
 * without the drop-in): each Include that picks up the drop-in's path is spelled out as the list of files its
 * glob matches, our path replaced by the candidate. Reading order, and so which value wins, stays exactly what
 * it will be after installing.
 */
export function mainWithCandidate(mainText: string, mainPath: string, target: string, candidate: string | null): string {
  const lines = parseConfig(mainText, mainPath);
  return lines
    .map((l) => {
      if (l.keyword !== 'include') return l.raw;
      const files: string[] = [];
      for (const arg of l.args) {
        const pattern = resolveIncludePath(arg);
        const matched = new Set(globPathsSync(pattern));
        if (globMatch(pattern, target)) {
          if (candidate === null) matched.delete(target);
          else matched.add(target);
        }
        for (const f of [...matched].sort()) files.push(f === target && candidate !== null ? candidate : f);
      }
      const nl = l.raw.endsWith('\r\n') ? '\r\n' : l.raw.endsWith('\n') ? '\n' : '';
      return files.length ? `Include ${files.map((f) => `"${f}"`).join(' ')}${nl}` : `#${l.raw}`;
    })
    .join('');
}


/**
 * `sftp-setup keys add|remove` on the collector (`keys list` is keys-list.ts): the keys an upload account
 * accepts, kept in the root-owned file outside the chroot. `keys add` is also what a camera runs here over SSH (`allsky-config
 * --via`, `keys rotate`), with the key on stdin, so its output is short and its exit codes exact:
 * 0 added, updated or already present; 1 the host is not in a state to use it; 2 bad input.
 */
import { FailError, requireRoot, UsageError } from '../errors.js';
import { BACKUP_ROOT, LOCK_PATH } from '../collector/layout.js';
import { requireManaged } from '../collector/managed.js';
import { planAdd } from '../collector/keys-edit.js';
import { listKeys, removeKey, type KeyInfo } from '../keys/authorized-keys.js';
import { unifiedDiff } from '../plan/diff.js';
import { colorDiff, printJson } from '../report.js';
import { printable as p } from '../text/printable.js';
import { backupDirFor, ensureDir, Journal, readText, statPath } from '../system/files.js';
import { applyPlan } from '../plan/apply.js';
import type { Step } from '../plan/step.js';
import { readKeyArg } from '../system/key-input.js';
import { parseCidrList, validateFingerprint, validateUserName } from '../validate.js';
import { writeOut } from '../system/stdout.js';

interface CommonOptions {
  user: string;
  json?: boolean;
}

export interface KeysAddOptions extends CommonOptions {
  key: string;
  from?: string;
  dryRun?: boolean;
}

export interface KeysRemoveOptions extends CommonOptions {
  selector: string;
  force?: boolean;
  dryRun?: boolean;
}

function label(k: Pick<KeyInfo, 'fingerprint' | 'comment'>): string {
  return p(k.comment ? `${k.fingerprint} (${k.comment})` : k.fingerprint);
}

export async function keysAddCommand(o: KeysAddOptions): Promise<number> {
  const user = validateUserName(o.user, '--user');
  const from = o.from !== undefined ? parseCidrList(o.from, '--from') : undefined;
  const keys = readKeyArg(o.key, 'key');
  requireRoot('keys add changes a root-owned file');
  const acc = requireManaged(user);
  let plan!: ReturnType<typeof planAdd>;
  const { before, after } = await editKeys(acc.keysFile, o, (text) => (plan = planAdd(text, keys, from, new Date())).text);
  const results = plan.results;
  const diff = unifiedDiff(before, after, acc.keysFile);
  const describe = (r: (typeof results)[number]) => {
    const what = label(r.key);
    if (r.action === 'added') return `${o.dryRun ? 'Would add' : 'Added'} ${what}${from ? ` from ${from.join(',')}` : ''}`;
    if (r.action === 'updated') return `${o.dryRun ? 'Would update' : 'Updated'} ${what}: ${from ? `from ${from.join(',')}` : 'options'}`;
    return `Already authorized: ${what}`;
  };
  if (o.json) {
    printJson({
      ok: true, user, file: acc.keysFile, dryRun: Boolean(o.dryRun), changed: after !== before,
      keys: results.map((r) => ({ fingerprint: r.key.fingerprint, type: r.key.type, comment: r.key.comment, action: r.action })),
      ...(diff ? { diff } : {}),
    });
    return 0;
  }
  for (const r of results) writeOut(describe(r) + ` for ${user}\n`);
  if (o.dryRun && diff) writeOut(colorDiff(diff) + '\n' + 'Dry run: nothing was changed.\n');
  return 0;
}

export async function keysRemoveCommand(o: KeysRemoveOptions): Promise<number> {
  const user = validateUserName(o.user, '--user');
  const byFingerprint = /^SHA256:/i.test(o.selector);
  const selector = byFingerprint ? validateFingerprint(o.selector, 'FINGERPRINT') : o.selector;
  if (selector.trim() === '') throw new UsageError('the key to remove is empty', 'give its SHA256:… fingerprint or its comment (see: sftp-setup keys list)');
  requireRoot('keys remove changes a root-owned file');
  const acc = requireManaged(user);
  let r: ReturnType<typeof removeKey> | undefined;
  const { before } = await editKeys(acc.keysFile, o, (text) => {
    // Idempotent: a rotation that is resumed removes the old key a second time.
    if (byFingerprint && !listKeys(text).entries.some((e) => e.fingerprint === selector)) return text;
    r = removeKey(text, selector);
    if (listKeys(r.text).entries.length === 0 && !o.force) {
      throw new UsageError(
        `${label(r.removed[0]!.key)} is the last key of ${user}: removing it locks the camera out`,
        `authorize the new key first (sftp-setup keys add --user ${user} …), or run again with --force`,
      );
    }
    return r.text;
  });
  if (!r) {
    if (o.json) printJson({ ok: true, user, file: acc.keysFile, dryRun: Boolean(o.dryRun), changed: false, removed: [] });
    else writeOut(`Not authorized (nothing to remove): ${p(selector)} for ${user}\n`);
    return 0;
  }
  const remaining = listKeys(r.text).entries;
  const diff = unifiedDiff(before, r.text, acc.keysFile);
  if (!o.dryRun) {
    // sshd reads the file on every login: the key is refused from now on. Prove the file says so.
    const now = listKeys((await readText(acc.keysFile)) ?? '').entries;
    const still = r.removed.filter((k) => now.some((e) => e.fingerprint === k.key.fingerprint));
    if (still.length) throw new FailError(`${acc.keysFile} still lists ${label(still[0]!.key)} after the removal`, 'run: sudo sftp-setup doctor');
  }
  const removed = [...new Map(r.removed.map((e) => [e.key.fingerprint, e.key])).values()];
  if (o.json) {
    printJson({
      ok: true, user, file: acc.keysFile, dryRun: Boolean(o.dryRun), changed: true,
      removed: removed.map((k) => ({ fingerprint: k.fingerprint, type: k.type, comment: k.comment })), remaining: remaining.length, diff,
    });
    return 0;
  }
  for (const k of removed) writeOut(`${o.dryRun ? 'Would remove' : 'Removed'} ${label(k)} for ${user}\n`);
  if (o.dryRun) writeOut(colorDiff(diff) + '\nDry run: nothing was changed.\n');
  else {
    writeOut(
      `sshd refuses it from the next login; ${remaining.length} key${remaining.length === 1 ? '' : 's'} left. ` +
        'Sessions already open stay up until they end.\n',
    );
  }
  return 0;
}

/**
 * Read, edit and write the keys file under the run lock (so a concurrent init or keys run cannot lose this
 * edit), through the one apply path: atomic, backed up first, the old file put back on failure. Quiet:
 * cameras run this over SSH and show its last line, so the command prints its own short report.
 */
async function editKeys(path: string, o: { dryRun?: boolean; json?: boolean }, edit: (text: string) => string): Promise<{ before: string; after: string }> {
  let before = '';
  let after = '';
  const journal = new Journal(backupDirFor(BACKUP_ROOT));
  const step: Step = {
    id: 'keys-file',
    title: `keys file ${path}`,
    async check() {
      return after === before ? null : { summary: 'update', diff: unifiedDiff(before, after, path) };
    },
    async apply() {
      const dir = path.slice(0, path.lastIndexOf('/'));
      if (!(await statPath(dir))) {
        await ensureDir(dir.slice(0, dir.lastIndexOf('/')), 0o755, 0, 0);
        await ensureDir(dir, 0o755, 0, 0);
      }
      await journal.writeAtomic(path, after, { mode: 0o644, uid: 0, gid: 0 });
    },
  };
  await applyPlan({
    subject: `keys of ${path}`, doing: 'Changing', already: 'authorized', done: 'Done.', lockPath: LOCK_PATH, journal,
    steps: async () => {
      before = (await readText(path)) ?? '';
      after = edit(before);
      return [step];
    },
    dryRun: Boolean(o.dryRun), yes: true, json: Boolean(o.json), out: () => {},
  });
  return { before, after };
}

/**
 * The certificate authority's own files as Steps (`ca init`, `init --ca`): the root-only CA directory with a
 * user CA and a host CA key, the serial counter and the key revocation list made up front (a RevokedKeys
 * file sshd cannot read makes it refuse every public-key login of the accounts that name it; krl-step.ts), and the
 * principals file of an account. Each step looks in check() and changes only in apply(), through the journal.
 */
import { hostname } from 'node:os';
import { FailError } from '../errors.js';
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import type { Directive } from '../sshd/includes.js';
import { ensureDir, readBytes, readText, removeEmptyDir, statPath, type Journal } from '../system/files.js';
import { publicLineOf } from '../system/ssh-keygen.js';
import { krlStep, newKrlTally, type KrlTally } from './krl-step.js';
import { CA, CA_DIR, PRINCIPALS_DIR, principalsFileFor } from './layout.js';

export const ROOT = { uid: 0, gid: 0 };
const PARENT = '/etc/ssh/sftp-setup';

function modeOf(n: number): string {
  return n.toString(8).padStart(4, '0');
}

/** A directory of ours: made when absent, owner and mode put right; a link or a file there is refused. */
function dirStep(id: string, path: string, mode: number, journal: Journal): Step {
  return {
    id,
    title: `${path} (root:root ${modeOf(mode)})`,
    async check() {
      const info = await statPath(path);
      if (!info) return { summary: `create ${path}` };
      if (info.type !== 'dir') throw new FailError(`${path} is not a directory`, `move it away, then run again`);
      return info.uid === 0 && info.gid === 0 && info.mode === mode ? null : { summary: `${path}: ${info.uid}:${info.gid} ${modeOf(info.mode)} -> root:root ${modeOf(mode)}` };
    },
    async apply() {
      const info = await statPath(path);
      if (!info) journal.onRollback(() => removeEmptyDir(path));
      else journal.onRollback(() => ensureDir(path, info.mode, info.uid, info.gid));
      await ensureDir(path, mode, 0, 0);
    },
  };
}

/** A file of ours with an exact owner and mode; `want` computes the content to create when it is absent. */
function ownFileStep(o: { id: string; title: string; path: string; mode: number; create: () => Promise<string | Buffer>; what: string }, journal: Journal): Step {
  return {
    id: o.id,
    title: o.title,
    async check() {
      const info = await statPath(o.path);
      if (!info) return { summary: `create ${o.what}` };
      if (info.type !== 'file') throw new FailError(`${o.path} is not a regular file`, 'move it away, then run again');
      return info.uid === 0 && info.gid === 0 && info.mode === o.mode ? null : { summary: `${o.path}: ${info.uid}:${info.gid} ${modeOf(info.mode)} -> root:root ${modeOf(o.mode)}` };
    },
    async apply() {
      const content = (await statPath(o.path)) ? (await readBytes(o.path))! : await o.create();
      await journal.writeAtomic(o.path, content, { mode: o.mode, ...ROOT });
    },
  };
}

/** One CA key pair: the private key 0600 root (never readable by anyone else), its .pub beside it. */
function caKeyStep(kind: 'user' | 'host', journal: Journal): Step {
  const path = kind === 'user' ? CA.userKey : CA.hostKey;
  const comment = `sftp-setup ${kind} CA on ${hostname()}`;
  return {
    id: `ca-${kind}-key`,
    title: `${kind} CA key ${path} (ed25519, root:root 0600)`,
    async check() {
      const [priv, pub] = await Promise.all([statPath(path), statPath(`${path}.pub`)]);
      if (!priv) return { summary: `create the ${kind} CA key pair` };
      if (priv.type !== 'file') throw new FailError(`${path} is not a regular file`, 'move it away, then run again');
      const fixes: string[] = [];
      if (priv.uid !== 0 || priv.gid !== 0 || priv.mode !== 0o600) fixes.push(`${path} -> root:root 0600`);
      if (!pub) fixes.push(`write ${path}.pub again from the private key`);
      else if (pub.uid !== 0 || pub.gid !== 0 || pub.mode !== 0o644) fixes.push(`${path}.pub -> root:root 0644`);
      return fixes.length ? { summary: fixes.join(', ') } : null;
    },
    async apply() {
      let privText = await readText(path);
      let pubLine = privText === null ? null : ((await readText(`${path}.pub`))?.trim() || (await publicLineOf(path)));
      if (privText === null) {
        const { generateEd25519 } = await import('../keys/generate.js'); // crypto only for a CA being made
        const g = generateEd25519(comment);
        privText = g.privateKey;
        pubLine = g.publicLine;
      }
      await journal.writeAtomic(path, privText, { mode: 0o600, ...ROOT });
      await journal.writeAtomic(`${path}.pub`, `${pubLine}\n`, { mode: 0o644, ...ROOT });
    },
  };
}

/** The CA itself: directory, both keys, the serial counter and the KRL (rebuilt from the record if lost). Idempotent. */
export function caMaterialSteps(journal: Journal, krl: KrlTally = newKrlTally()): Step[] {
  return [
    dirStep('sftp-setup-dir', PARENT, 0o755, journal),
    dirStep('ca-dir', CA_DIR, 0o700, journal),
    caKeyStep('user', journal),
    caKeyStep('host', journal),
    ownFileStep({ id: 'ca-serial', title: `serial counter ${CA.serial}`, path: CA.serial, mode: 0o600, what: 'the serial counter (next: 1)', create: async () => '1\n' }, journal),
    // Before any Match block names it: a RevokedKeys file that is missing refuses every key of that account.
    krlStep(journal, krl),
  ];
}

/** AuthorizedPrincipalsFile of an account: exactly its own name, read by sshd as that account. */
/** Does this account's Match block already accept certificates from our user CA (init --ca, earlier)? */
export function trustsUserCa(directives: Directive[], user: string): boolean {
  return directives.some((d) => d.keyword === 'trustedusercakeys' && d.args[0] === `${CA.userKey}.pub` &&
    d.match?.criteria.length === 2 && d.match.criteria[0]!.toLowerCase() === 'user' && d.match.criteria[1] === user);
}

export function principalsStep(user: string, journal: Journal): Step {
  const path = principalsFileFor(user);
  const want = `${user}\n`;
  return {
    id: 'principals',
    title: `certificate principals ${path} (root:root 0644: only "${user}")`,
    async check() {
      const [text, info] = await Promise.all([readText(path), statPath(path)]);
      if (text === want && info?.uid === 0 && info.gid === 0 && info.mode === 0o644) return null;
      return { summary: text === null ? 'create' : 'update', diff: unifiedDiff(text ?? '', want, path) };
    },
    async apply() {
      for (const dir of [PARENT, PRINCIPALS_DIR]) {
        if (!(await statPath(dir))) journal.onRollback(() => removeEmptyDir(dir));
        await ensureDir(dir, 0o755, 0, 0);
      }
      await journal.writeAtomic(path, want, { mode: 0o644, ...ROOT });
    },
  };
}


/**
 * Local accounts: look-ups through getent (so NSS sources count) and changes through the shadow tools.
 */
import { FailError } from '../errors.js';
import { run, runOk } from './exec.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

// Look-ups are repeated by several plan steps; each costs a process. Changes below forget what was cached.
const cache = new Map<string, Promise<unknown>>();
function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  if (!cache.has(key)) cache.set(key, load());
  return cache.get(key) as Promise<T>;
}

export function getAccount(name: string): Promise<Account | null> {
  return cached(`passwd:${name}`, () => lookupAccount(name));
}

async function lookupAccount(name: string): Promise<Account | null> {
  const r = await run('getent', ['passwd', name]);
  if (r.exitCode !== 0) return null;
  const f = r.stdout.trim().split('\n')[0]!.split(':');
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
}

/** Every account NSS lists (getent passwd), for rules that must know every home directory. */
export function listAccounts(): Promise<Account[]> {
  return cached('passwd:*', async () => {
    const r = await run('getent', ['passwd']);
    if (r.exitCode !== 0) throw new FailError(`getent passwd failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    return r.stdout.split('\n').filter((l) => l.includes(':')).map((l) => {
      const f = l.split(':');
      return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '', shell: f[6] ?? '' };
    });
  });
}

/** The password field from /etc/shadow: '!' and '*' both lock, but only '*' passes `UsePAM no`. */
export function passwordField(name: string): Promise<string | undefined> {
  return cached(`shadow:${name}`, async () => {
    const r = await run('getent', ['shadow', name]);
    if (r.exitCode !== 0) return undefined;
    return r.stdout.split(':')[1];
  });
}

export function groupsOf(name: string): Promise<string[]> {
  return cached(`groups:${name}`, async () => {
    const r = await run('id', ['-Gn', name]);
    return r.exitCode === 0 ? r.stdout.trim().split(/\s+/) : [];
  });
}

/** Every gid NSS lists (getent group). */
export async function listGroupIds(): Promise<number[]> {
  const r = await run('getent', ['group']);
  if (r.exitCode !== 0) throw new FailError(`getent group failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout.split('\n').map((l) => Number(l.split(':')[2])).filter((n) => Number.isInteger(n));
}

export interface AccountTables {
  passwd: Map<string, Account>;
  /** password fields from /etc/shadow */
  shadow: Map<string, string>;
  /** group names per user: the primary group's, then those that list the user */
  groups: Map<string, string[]>;
}

/**
 * passwd, shadow and group memberships of every account in three processes instead of three per account:
 * doctor reads a hundred upload accounts at once. Sources NSS does not enumerate are missing here; a caller
 * looks a name it does not find up on its own (getAccount, passwordField, groupsOf).
 */
export function accountTables(): Promise<AccountTables> {
  return cached('tables', async () => {
    const [accounts, shadowOut, groupOut] = await Promise.all([listAccounts(), run('getent', ['shadow']), run('getent', ['group'])]);
    const passwd = new Map(accounts.map((a) => [a.name, a]));
    const shadow = new Map<string, string>();
    for (const l of shadowOut.exitCode === 0 ? shadowOut.stdout.split('\n') : []) {
      const f = l.split(':');
      if (f.length > 1) shadow.set(f[0]!, f[1]!);
    }
    const byGid = new Map<number, string>();
    const members = new Map<string, string[]>();
    for (const l of groupOut.exitCode === 0 ? groupOut.stdout.split('\n') : []) {
      const f = l.split(':');
      if (f.length < 4) continue;
      if (!byGid.has(Number(f[2]))) byGid.set(Number(f[2]), f[0]!);
      for (const m of f[3]!.split(',').filter(Boolean)) members.set(m, [...(members.get(m) ?? []), f[0]!]);
    }
    const groups = new Map<string, string[]>();
    for (const a of accounts) {
      const primary = byGid.get(a.gid);
      groups.set(a.name, [...new Set([...(primary ? [primary] : []), ...(members.get(a.name) ?? [])])]);
    }
    return { passwd, shadow, groups };
  });
}

export async function groupId(name: string): Promise<number | undefined> {
  const r = await run('getent', ['group', name]);
  if (r.exitCode !== 0) return undefined;
  return Number(r.stdout.split(':')[2]);
}

export const NOLOGIN = '/usr/sbin/nologin';

/**
 * A system account whose home is the chroot root, created without /etc/skel files (they would show up in
 * the chroot), with the password field '*': locked for passwords, yet key logins pass with UsePAM yes or no.
 * `uid` is chosen by the caller (a number that owns no uploads left behind); its user group gets the same
 * number when it is free.
 */
export async function createUploadAccount(name: string, home: string, uid?: number): Promise<void> {
  await runOk('useradd', ['--system', ...(uid !== undefined ? ['--uid', String(uid)] : []), '--user-group', '--home-dir', home, '--no-create-home',
    '--shell', NOLOGIN, '--comment', 'SFTP uploads (sftp-setup)', name]);
  try {
    await runOk('usermod', ['--password', '*', name]);
  } finally {
    cache.clear();
  }
}

/**
 * What a useradd killed half-way can leave: the user in /etc/passwd without its primary group, or without
 * its /etc/shadow entry (useradd writes passwd first). Names the missing pieces; empty when whole.
 */
export async function missingAccountPieces(acc: Account): Promise<string[]> {
  const missing: string[] = [];
  if ((await run('getent', ['group', String(acc.gid)])).exitCode !== 0) missing.push(`its group ${acc.gid}`);
  if ((await passwordField(acc.name)) === undefined) missing.push('its /etc/shadow entry');
  return missing;
}

/** Put back what missingAccountPieces names: the group (same name and gid), the shadow entries. */
export async function repairAccount(acc: Account): Promise<void> {
  try {
    if ((await run('getent', ['group', String(acc.gid)])).exitCode !== 0) {
      await runOk('groupadd', ['--system', '--gid', String(acc.gid), acc.name]);
    }
    // pwconv/grpconv add the shadow entries that passwd/group lines lack, and touch nothing else.
    await runOk('pwconv', []);
    await runOk('grpconv', []);
  } finally {
    cache.clear();
  }
}

/** Bring an existing account to the upload layout: home, shell, password field. */
export async function fixUploadAccount(name: string, home: string): Promise<void> {
  await runOk('usermod', ['--home', home, '--shell', NOLOGIN, '--password', '*', name]).finally(() => cache.clear());
}

/** Undo fixUploadAccount: the previous home, shell and password field. */
export async function restoreAccount(before: Account, password: string | undefined): Promise<void> {
  await runOk('usermod', ['--home', before.home, '--shell', before.shell, ...(password ? ['--password', password] : []), before.name])
    .finally(() => cache.clear());
}

export async function deleteAccount(name: string): Promise<void> {
  const r = await run('userdel', [name]);
  cache.clear();
  // 6: no such user — already gone is fine for an undo.
  if (r.exitCode !== 0 && r.exitCode !== 6) throw new FailError(`userdel ${name} failed: ${r.stderr.trim()}`);
}

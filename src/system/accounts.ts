/**
 * Local accounts: look-ups as NSS answers them, and changes through the shadow tools.
 *
 * getent costs a process per look-up. Where /etc/nsswitch.conf lets the files answer for NSS (src/nss.ts:
 * `files` first for a look-up, `files` alone for a listing), they are read directly; otherwise getent asks
 * every source. On Debian's default (`passwd: files systemd`) look-ups of our accounts read the files, and
 * listings of every account still go through getent, which alone knows systemd's dynamic users.
 */
import { promises as fs } from 'node:fs';
import { FailError } from '../errors.js';
import { filesFirst, filesOnly, nssSources, parseGroup, parsePasswd, shadowPassword, shadowPasswords, type NssDatabase } from '../nss.js';
import { run, runOk } from './exec.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

// Look-ups are repeated by several plan steps; each costs a process or a read. Changes below forget them.
const cache = new Map<string, Promise<unknown>>();
function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  if (!cache.has(key)) cache.set(key, load());
  return cache.get(key) as Promise<T>;
}

const readOrNull = (path: string) => fs.readFile(path, 'utf8').catch(() => null);

/** The sources nsswitch.conf names for a database (null: missing or not plain, so ask getent). */
function sources(db: NssDatabase): Promise<string[] | null> {
  return cached('nsswitch', () => readOrNull('/etc/nsswitch.conf')).then((conf) => nssSources(conf as string | null, db));
}

/** The file of a database when it may answer this kind of question, else null. */
async function nssFile(db: NssDatabase, listing: boolean): Promise<string | null> {
  const s = await sources(db);
  if (!(listing ? filesOnly(s) : filesFirst(s))) return null;
  return cached(`file:${db}`, () => readOrNull(`/etc/${db}`));
}

// getent passwd/group KEY looks a number up as an id, anything else as a name.
const isId = (key: string) => /^\d+$/.test(key);

export function getAccount(name: string): Promise<Account | null> {
  return cached(`passwd:${name}`, () => lookupAccount(name));
}

async function lookupAccount(name: string): Promise<Account | null> {
  const text = await nssFile('passwd', false);
  if (text !== null) {
    const hit = parsePasswd(text).find((a) => (isId(name) ? a.uid === Number(name) : a.name === name));
    if (hit) return hit;
  }
  const r = await run('getent', ['passwd', name]);
  if (r.exitCode !== 0) return null;
  const f = r.stdout.trim().split('\n')[0]!.split(':');
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
}

/** A whole database as NSS lists it: its file when the files alone answer, else `getent DB` (same format). */
async function listing(db: NssDatabase): Promise<string> {
  const text = await nssFile(db, true);
  if (text !== null) return text;
  const r = await run('getent', [db]);
  if (r.exitCode !== 0) throw new FailError(`getent ${db} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout;
}

/** Every account NSS lists (getent passwd), for rules that must know every home directory. */
export function listAccounts(): Promise<Account[]> {
  return cached('passwd:*', async () => parsePasswd(await listing('passwd')));
}

/** The password field from /etc/shadow: '!' and '*' both lock, but only '*' passes `UsePAM no`. */
export function passwordField(name: string): Promise<string | undefined> {
  return cached(`shadow:${name}`, async () => {
    const text = await nssFile('shadow', false);
    const field = text !== null ? shadowPassword(text, name) : undefined;
    if (field !== undefined) return field;
    const r = await run('getent', ['shadow', name]);
    if (r.exitCode !== 0) return undefined;
    return r.stdout.split(':')[1];
  });
}

/** `id -Gn`: the names of the account's primary and supplementary groups; empty when one has no name. */
export function groupsOf(name: string): Promise<string[]> {
  return cached(`groups:${name}`, async () => {
    const acc = (await nssFile('group', true)) !== null ? await getAccount(name) : null;
    if (acc && !isId(name)) {
      const groups = parseGroup((await nssFile('group', true))!);
      const primary = groups.find((g) => g.gid === acc.gid);
      if (!primary) return [];
      const others = groups.filter((g) => g.gid !== acc.gid && g.members.includes(name));
      return [...new Set([primary, ...others].map((g) => g.name))];
    }
    const r = await run('id', ['-Gn', name]);
    return r.exitCode === 0 ? r.stdout.trim().split(/\s+/) : [];
  });
}

/** Every gid NSS lists (getent group). */
export async function listGroupIds(): Promise<number[]> {
  return parseGroup(await listing('group')).map((g) => g.gid);
}

export interface AccountTables {
  passwd: Map<string, Account>;
  /** password fields from /etc/shadow */
  shadow: Map<string, string>;
  /** group names per user: the primary group's, then those that list the user */
  groups: Map<string, string[]>;
}

/**
 * passwd, shadow and group memberships of every account at once instead of a look-up per account: doctor
 * reads a hundred upload accounts at once. Sources NSS does not enumerate are missing here; a caller looks a
 * name it does not find up on its own (getAccount, passwordField, groupsOf).
 */
export function accountTables(): Promise<AccountTables> {
  return cached('tables', async () => {
    // What cannot be listed is looked up per name by the caller.
    const [accounts, shadowText, groupText] = await Promise.all([
      listAccounts(), listing('shadow').catch(() => ''), listing('group').catch(() => ''),
    ]);
    const passwd = new Map(accounts.map((a) => [a.name, a]));
    const shadow = shadowPasswords(shadowText);
    const byGid = new Map<number, string>();
    const members = new Map<string, string[]>();
    for (const g of parseGroup(groupText)) {
      if (!byGid.has(g.gid)) byGid.set(g.gid, g.name);
      for (const m of g.members) members.set(m, [...(members.get(m) ?? []), g.name]);
    }
    const groups = new Map<string, string[]>();
    for (const a of accounts) {
      const primary = byGid.get(a.gid);
      groups.set(a.name, [...new Set([...(primary ? [primary] : []), ...(members.get(a.name) ?? [])])]);
    }
    return { passwd, shadow, groups };
  });
}

/** A group's gid by name, or whether a gid exists (`key` a number): getent group KEY. */
async function lookupGroup(key: string): Promise<number | undefined> {
  const text = await nssFile('group', false);
  const hit = text !== null ? parseGroup(text).find((g) => (isId(key) ? g.gid === Number(key) : g.name === key)) : undefined;
  if (hit) return hit.gid;
  const r = await run('getent', ['group', key]);
  if (r.exitCode !== 0) return undefined;
  return Number(r.stdout.split(':')[2]);
}

export function groupId(name: string): Promise<number | undefined> {
  return lookupGroup(name);
}

export const NOLOGIN = '/usr/sbin/nologin';

/**
 * A system account whose home is the chroot root, created without /etc/skel files (they would show up in
 * the chroot), with the password field '*': locked for passwords, yet key logins pass with UsePAM yes or no.
 * `uid` is chosen by the caller (a number that owns no uploads left behind); its user group gets the same
 * number when it is free.
 */
export async function createUploadAccount(name: string, home: string, uid?: number): Promise<void> {
  // The password field in the same useradd (not a usermod after it): one process, and no moment with '!'.
  await runOk('useradd', ['--system', ...(uid !== undefined ? ['--uid', String(uid)] : []), '--user-group', '--home-dir', home, '--no-create-home',
    '--shell', NOLOGIN, '--password', '*', '--comment', 'SFTP uploads (sftp-setup)', name]).finally(() => cache.clear());
}

/**
 * What a useradd killed half-way can leave: the user in /etc/passwd without its primary group, or without
 * its /etc/shadow entry (useradd writes passwd first). Names the missing pieces; empty when whole.
 */
export async function missingAccountPieces(acc: Account): Promise<string[]> {
  const missing: string[] = [];
  if ((await lookupGroup(String(acc.gid))) === undefined) missing.push(`its group ${acc.gid}`);
  if ((await passwordField(acc.name)) === undefined) missing.push('its /etc/shadow entry');
  return missing;
}

/** Put back what missingAccountPieces names: the group (same name and gid), the shadow entries. */
export async function repairAccount(acc: Account): Promise<void> {
  try {
    if ((await lookupGroup(String(acc.gid))) === undefined) {
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

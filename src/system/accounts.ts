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

export async function getAccount(name: string): Promise<Account | null> {
  const r = await run('getent', ['passwd', name]);
  if (r.exitCode !== 0) return null;
  const f = r.stdout.trim().split('\n')[0]!.split(':');
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
}

/** The password field from /etc/shadow: '!' and '*' both lock, but only '*' passes `UsePAM no`. */
export async function passwordField(name: string): Promise<string | undefined> {
  const r = await run('getent', ['shadow', name]);
  if (r.exitCode !== 0) return undefined;
  return r.stdout.split(':')[1];
}

export async function groupsOf(name: string): Promise<string[]> {
  const r = await run('id', ['-Gn', name]);
  return r.exitCode === 0 ? r.stdout.trim().split(/\s+/) : [];
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
 */
export async function createUploadAccount(name: string, home: string): Promise<void> {
  await runOk('useradd', ['--system', '--user-group', '--home-dir', home, '--no-create-home', '--shell', NOLOGIN,
    '--comment', 'SFTP uploads (sftp-setup)', name]);
  await runOk('usermod', ['--password', '*', name]);
}

/** Bring an existing account to the upload layout: home, shell, password field. */
export async function fixUploadAccount(name: string, home: string): Promise<void> {
  await runOk('usermod', ['--home', home, '--shell', NOLOGIN, '--password', '*', name]);
}

export async function deleteAccount(name: string): Promise<void> {
  const r = await run('userdel', [name]);
  // 6: no such user — already gone is fine for an undo.
  if (r.exitCode !== 0 && r.exitCode !== 6) throw new FailError(`userdel ${name} failed: ${r.stderr.trim()}`);
}

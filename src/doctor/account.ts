/**
 * Account checks: the upload account exists, cannot log in with a shell, its home is the chroot (the
 * guide's most common failure) and its password field lets key logins through under the UsePAM setting.
 */
import { fail, pass, warn, type DoctorCheck } from './check.js';
import type { UploadAccount } from './collector-context.js';

const NO_SHELLS = new Set(['/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false']);

export function accountChecks(a: UploadAccount): DoctorCheck[] {
  const { user } = a;
  const acc = a.account;
  if (!acc) {
    return [fail('account.exists', `account ${user} exists`, [`getent passwd ${user}: no such user`], { user, fix: `sudo sftp-setup init --user ${user}${a.chroot ? ` --root ${a.chroot}` : ''}` })];
  }
  const out: DoctorCheck[] = [pass('account.exists', `account ${user} exists`, [`uid ${acc.uid}, gid ${acc.gid}, home ${acc.home}, shell ${acc.shell}`], { user })];
  if (acc.uid === 0) out.push(fail('account.uid', `${user} is not root`, [`uid 0`], { user, fix: `sudo userdel ${user} && sudo sftp-setup init --user ${user}` }));

  out.push(NO_SHELLS.has(acc.shell)
    ? pass('account.shell', `${user} has no login shell`, [`shell ${acc.shell}`], { user })
    : warn('account.shell', `${user} has no login shell`, [`shell ${acc.shell}`], { user, reason: 'ForceCommand internal-sftp keeps it out of a shell, but a nologin shell also stops su and other services', fix: `sudo usermod --shell /usr/sbin/nologin ${user}` }));

  if (a.chroot) {
    const home = acc.home.replace(/(.)\/+$/, '$1');
    if (home !== a.chroot) {
      const akf = a.eff?.get('authorizedkeysfile')?.join(' ') ?? '';
      const viaHome = akf.split(/\s+/).some((p) => p.includes('%h') || (!p.startsWith('/') && !p.startsWith('%')));
      out.push(fail('account.home', `${user}'s home is the chroot`, [`home ${acc.home}`, `ChrootDirectory ${a.chroot}`], {
        user,
        reason: viaHome
          ? `sshd looks for the keys under the home (AuthorizedKeysFile ${akf}), i.e. in ${acc.home}, not in the chroot: "Permission denied (publickey)"`
          : 'after the chroot, sshd cannot enter the home directory ("Could not chdir to home directory"): uploads start outside the upload tree',
        fix: `sudo usermod --home ${a.chroot} ${user}`,
      }));
    } else out.push(pass('account.home', `${user}'s home is the chroot`, [`home ${acc.home}`], { user }));
  }

  const usePam = a.eff?.get('usepam')?.[0];
  const pw = a.shadow;
  if (pw === undefined) out.push(warn('account.password', `${user}'s password is locked`, ['cannot read /etc/shadow (run as root)'], { user }));
  else if (pw === '') out.push(fail('account.password', `${user}'s password is locked`, ['empty password field in /etc/shadow'], { user, fix: `sudo usermod --password '*' ${user}` }));
  else if (pw.startsWith('!') && usePam === 'no') {
    out.push(fail('account.password', `${user}'s password is locked`, [`password field "${pw.slice(0, 2)}…" and UsePAM no`], {
      user, reason: 'with UsePAM no, sshd refuses accounts locked with "!" even for key logins ("account is locked")', fix: `sudo usermod --password '*' ${user}`,
    }));
  } else if (pw !== '*' && !pw.startsWith('!') && pw !== 'x') {
    out.push(warn('account.password', `${user}'s password is locked`, ['the account has a password'], { user, reason: 'an upload account needs no password', fix: `sudo usermod --password '*' ${user}` }));
  } else out.push(pass('account.password', `${user}'s password is locked`, [`password field "${pw.slice(0, 1)}", UsePAM ${usePam ?? '?'}`], { user }));
  return out;
}

/**
 * sshd checks: installed, version, valid configuration, running, and for each upload account the settings
 * sshd really applies (sshd -T -C user=…) with the file and line that set each, and any Match block that
 * wins over the account's own.
 */
import { findConflicts, whoSets } from '../sshd/conflicts.js';
import type { Directive } from '../sshd/includes.js';
import { SSHD, SSHD_CONFIG, startHint } from '../system/sshd.js';
import { fail, pass, skip, warn, type DoctorCheck } from './check.js';
import type { CollectorContext, UploadAccount } from './collector-context.js';

export function sshdChecks(ctx: CollectorContext): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  if (!ctx.installed) {
    out.push(fail('sshd.installed', 'OpenSSH server installed', [`${SSHD} not found`], { fix: 'sudo apt-get install -y openssh-server' }));
    return out;
  }
  out.push(pass('sshd.installed', 'OpenSSH server installed', [SSHD]));
  const v = ctx.version;
  const dropins = ctx.accounts.some((a) => a.block && a.block.file !== SSHD_CONFIG);
  if (!v) out.push(warn('sshd.version', 'OpenSSH version', [`cannot read the version from "${ctx.versionText}"`]));
  else if (v.major < 8 || (v.major === 8 && v.minor < 4)) {
    const ev = [v.raw, 'Match blocks in included files are ignored before OpenSSH 8.4'];
    out.push(dropins
      ? fail('sshd.version', 'OpenSSH ≥ 8.4 (Match blocks in drop-in files)', ev, { fix: 'upgrade openssh-server, or move the Match block to the end of /etc/ssh/sshd_config' })
      : warn('sshd.version', 'OpenSSH ≥ 8.4 (Match blocks in drop-in files)', ev));
  } else out.push(pass('sshd.version', 'OpenSSH ≥ 8.4 (Match blocks in drop-in files)', [v.raw]));

  if (ctx.valid?.ok) out.push(pass('sshd.config-valid', 'sshd -t accepts the configuration', [`${SSHD} ${ctx.valid.by ?? '-t'}: no errors`]));
  else {
    out.push(fail('sshd.config-valid', 'sshd -t accepts the configuration', (ctx.valid?.message ?? '').split('\n').slice(0, 5), {
      fix: `fix the file and line named above, then check with: sudo ${SSHD} -t`,
    }));
  }
  out.push(ctx.running
    ? pass('sshd.running', 'sshd is running')
    : fail('sshd.running', 'sshd is running', ['no running sshd (pid file /run/sshd.pid, or systemctl is-active ssh)'], { fix: startHint() }));
  if (ctx.configError) out.push(fail('sshd.config-read', 'sshd configuration readable', [ctx.configError]));
  return out;
}

const where = (d: Directive) => `${d.file} line ${d.lineNo}`;

/** The keyword's effective value and the line that set it. */
function shown(a: UploadAccount, directives: Directive[], keyword: string): { value: string; evidence: string; from?: Directive } {
  const value = a.eff?.get(keyword)?.join(' ') ?? '(unset)';
  const w = whoSets(directives, keyword, { user: a.user, groups: a.groups });
  return { value, from: w?.directive, evidence: `${keyword} ${value} (${w ? where(w.directive) : 'sshd default'})` };
}

export function sshdAccountChecks(ctx: CollectorContext, a: UploadAccount): DoctorCheck[] {
  const user = a.user;
  const out: DoctorCheck[] = [];
  const directives = ctx.config?.directives ?? [];
  if (!a.block) {
    out.push(fail('sshd.match-block', `Match block for ${user}`, [`no "Match User ${user}" block with ChrootDirectory and ForceCommand internal-sftp in ${SSHD_CONFIG} or its includes`], {
      user, fix: `sudo sftp-setup init --user ${user}`,
    }));
  } else {
    out.push(pass('sshd.match-block', `Match block for ${user}`, [`${a.block.file} line ${a.block.lineNo}: Match ${a.block.criteria.join(' ')}${a.block.managed ? ' (managed by sftp-setup)' : ' (written by hand)'}`], { user }));
  }
  if (!a.eff) {
    out.push(skip('sshd.effective', `settings sshd applies to ${user}`, `sshd -T failed: ${a.effError ?? 'unknown error'}`, { user }));
    return out;
  }

  // Another Match block earlier in reading order wins for every keyword it sets.
  if (a.block) {
    const own = a.block.file === SSHD_CONFIG
      ? { file: a.block.file, marker: true as const, range: { start: a.block.lineNo, end: a.block.endLine } }
      : { file: a.block.file };
    const conflicts = findConflicts(directives, user, a.groups, own);
    if (conflicts.length) {
      const c = conflicts[0]!;
      out.push(fail('sshd.precedence', `no other Match block overrides ${user}'s`, conflicts.map((x) => `${x.file} line ${x.lineNo}: ${x.raw.trim()} (under Match ${x.match.criteria.join(' ')} at line ${x.match.lineNo}), read before ${a.block!.file} line ${a.block!.lineNo}`), {
        user,
        reason: 'sshd uses the first value it reads for each keyword, so that earlier block wins',
        fix: `remove or narrow the Match ${c.match.criteria.join(' ')} block at ${c.match.file} line ${c.match.lineNo}, then: sudo ${SSHD} -t && sudo systemctl reload ssh`,
      }));
    } else out.push(pass('sshd.precedence', `no other Match block overrides ${user}'s`, [], { user }));
  }

  const get = (k: string) => shown(a, directives, k);
  const chroot = get('chrootdirectory');
  const force = get('forcecommand');
  const ev = [chroot.evidence, force.evidence];
  if (chroot.value === 'none' || chroot.value === '(unset)' || !/^internal-sftp\b/.test(force.value)) {
    out.push(fail('sshd.chroot-forced', `${user} is chrooted and limited to internal-sftp`, ev, { user, fix: `sudo sftp-setup init --user ${user} --adopt` }));
  } else out.push(pass('sshd.chroot-forced', `${user} is chrooted and limited to internal-sftp`, ev, { user }));

  const pw = get('passwordauthentication');
  const kbd = get('kbdinteractiveauthentication');
  const pwOn = [pw, kbd].filter((x) => x.value === 'yes');
  if (pwOn.length) {
    const f = pwOn[0]!.from;
    out.push(fail('sshd.password-auth', `password login off for ${user}`, [pw.evidence, kbd.evidence], {
      user,
      reason: 'anyone who guesses or sets a password could log in; uploads need only the key',
      fix: f && f.file.includes('sftp-setup') ? `sudo sftp-setup doctor --fix --user ${user}` : `set "PasswordAuthentication no" and "KbdInteractiveAuthentication no" in ${a.block ? `${a.block.file} (Match block at line ${a.block.lineNo})` : 'the Match block'}${f?.match ? ` and remove ${where(f)}` : ''}, then: sudo ${SSHD} -t && sudo systemctl reload ssh`,
    }));
  } else out.push(pass('sshd.password-auth', `password login off for ${user}`, [pw.evidence, kbd.evidence], { user }));

  // DisableForwarding covers TCP, unix-socket, X11 and agent forwarding, not the TTY or tun devices. It is
  // the Match block's own backstop behind each key's `restrict`, so it must be on whatever else says.
  const covered = ['allowtcpforwarding', 'allowstreamlocalforwarding', 'x11forwarding', 'allowagentforwarding'].map(get);
  const always = ['permittty', 'permittunnel'].map(get);
  const disable = get('disableforwarding');
  const fwd = [disable, ...covered, ...always];
  const open = [
    ...(disable.value === 'yes' ? [] : [disable, ...covered.filter((x) => x.value !== 'no')]),
    ...always.filter((x) => x.value !== 'no'),
  ];
  if (open.length) {
    out.push(warn('sshd.lockdown', `forwarding and TTY off for ${user}`, open.map((x) => x.evidence), {
      user, reason: 'ForceCommand internal-sftp refuses shells, but forwarding lets the account reach other hosts', fix: `sudo sftp-setup doctor --fix --user ${user}`,
    }));
  } else out.push(pass('sshd.lockdown', `forwarding and TTY off for ${user}`, fwd.map((x) => x.evidence), { user }));

  const pub = get('pubkeyauthentication');
  if (pub.value === 'no') out.push(fail('sshd.pubkey', `key login on for ${user}`, [pub.evidence], { user, fix: `set "PubkeyAuthentication yes" in the Match block for ${user}` }));

  const deny = ['allowusers', 'denyusers', 'allowgroups', 'denygroups'].map((k) => ({ k, v: a.eff!.get(k) ?? [] })).filter((x) => x.v.length);
  for (const { k, v } of deny) {
    const listed = v.join(' ').split(/\s+/);
    const names = k.endsWith('users') ? listed.map((x) => x.split('@')[0]) : listed;
    const mine = k.endsWith('users') ? [user] : a.groups;
    const hit = names.some((n) => mine.includes(n!));
    if ((k.startsWith('allow') && !hit) || (k.startsWith('deny') && hit)) {
      out.push(fail('sshd.allowed', `sshd lets ${user} log in`, [`${k} ${v.join(' ')} (${get(k).evidence.replace(/^.*\(/, '(')})`], {
        user, fix: k.startsWith('allow') ? `add ${user} to ${k} in ${SSHD_CONFIG}` : `remove ${user} from ${k}`,
      }));
    }
  }
  return out;
}

/**
 * sshd.max-startups: do sshd's connection limits let every managed camera start an upload at the same moment?
 * sshd drops connections beyond MaxStartups (and PerSourceMaxStartups, per address) while they wait to
 * authenticate, and logs that only once per episode, without a user: the doctor reads the settings instead.
 */
import { basename } from 'node:path';
import { managedBlocksFrom } from '../collector/managed.js';
import type { Directive } from '../sshd/includes.js';
import { fitsBurst, LIMITS_FILE_NAME, limitsFor, normaliseLimit, userLine } from '../sshd/limits.js';
import { SSHD, SSHD_CONFIG } from '../system/sshd.js';
import { pass, q, skip, warn, type DoctorCheck } from './check.js';
import type { CollectorContext } from './collector-context.js';

const ID = 'sshd.max-startups';
const DEFAULTS: Record<string, string> = { maxstartups: '10:30:100', persourcemaxstartups: 'none' };
const NAMES: Record<string, string> = { maxstartups: 'MaxStartups', persourcemaxstartups: 'PerSourceMaxStartups' };

export function maxStartupsCheck(ctx: CollectorContext): DoctorCheck {
  const title = 'sshd lets every camera start an upload at once (MaxStartups)';
  const directives = ctx.config?.directives ?? [];
  const main = ctx.config?.files.find((f) => f.path === SSHD_CONFIG);
  if (!main) return skip(ID, title, 'sshd\'s configuration could not be read');
  const blocks = managedBlocksFrom(SSHD_CONFIG, main.lines.map((l) => l.raw).join(''), directives);
  const users = [...new Set(blocks.map((b) => b.user))];
  if (users.length === 0) return skip(ID, title, 'no upload account managed by sftp-setup');
  // The limits are global: any account's sshd -T -C shows them.
  const eff = ctx.accounts.find((a) => a.eff)?.eff;
  if (!eff) return skip(ID, title, 'sshd -T failed, so the effective limits are unknown');
  const need = limitsFor(users.length);

  const ours = directives.filter((d) => basename(d.file) === LIMITS_FILE_NAME && !d.match);
  const ownPath = ours[0]?.file ?? '';
  const looked = Object.keys(NAMES).filter((k) => eff.has(k)).map((k) => {
    const value = eff.get(k)![0]!;
    const mine = ours.find((d) => d.keyword === k && normaliseLimit(k, d.args.join(' ')) === value);
    const theirs = userLine(directives, k, value, ownPath);
    // Ours in effect while a line of the user's says otherwise: init has not seen that line yet.
    const overridden = mine && theirs && normaliseLimit(k, theirs.args.join(' ')) !== value ? theirs : undefined;
    const from: Directive | undefined = overridden ? mine : (mine ?? theirs);
    const source = !from ? (value === DEFAULTS[k] ? 'sshd default' : 'built into this sshd') : from === mine ? `sftp-setup, ${from.file}` : `yours: ${from.file} line ${from.lineNo}`;
    const low = !fitsBurst(k === 'maxstartups' ? 'MaxStartups' : 'PerSourceMaxStartups', value, need);
    return { k, value, from: from === mine ? undefined : from, overridden, low, evidence: `${NAMES[k]} ${value} (${source})` };
  });
  const evidence = looked.map((l) => l.evidence);
  for (const l of looked) {
    if (l.overridden) evidence.push(`${NAMES[l.k]} ${l.overridden.args.join(' ')} at ${l.overridden.file} line ${l.overridden.lineNo} is yours but not in effect: sftp-setup's file sets it too`);
  }
  if (eff.has('persourcenetblocksize')) evidence.push(`PerSourceNetBlockSize ${eff.get('persourcenetblocksize')![0]} (addresses that count as one source)`);
  evidence.push(`${users.length} upload account${users.length === 1 ? '' : 's'} managed by sftp-setup: up to ${need.burst} uploads may start at once (2 per camera), which needs a MaxStartups start above ${need.burst}`);

  const low = looked.filter((l) => l.low);
  const overridden = looked.filter((l) => l.overridden);
  if (!low.length && !overridden.length) return pass(ID, title, evidence);

  // Re-running init for any managed account sizes the limits for all of them, and leaves out any limit the
  // user sets; a low value of the user's is theirs to change.
  const b = blocks.find((x) => x.chroot) ?? blocks[0]!;
  const profile = ctx.accounts.find((a) => a.user === b.user)?.profile === 'dropbox' ? ' --profile dropbox' : '';
  const init = `sudo sftp-setup init --user ${q(b.user)}${b.chroot ? ` --root ${q(b.chroot)}` : ''}${profile} --no-verify`;
  const want = (k: string) => (k === 'maxstartups' ? `MaxStartups ${need.start}:${need.rate}:${need.full}` : `PerSourceMaxStartups ${need.perSource}`);
  const theirs = low.filter((l) => l.from);
  const fix = overridden.length || !theirs.length
    ? init
    : `${theirs.map((l) => `change ${l.from!.file} line ${l.from!.lineNo} to "${want(l.k)}"`).join(' and ')} (or delete it and run ${init}), then: sudo ${SSHD} -t && sudo systemctl reload ssh`;
  return warn(ID, title, evidence, {
    reason: low.length
      ? 'sshd drops connections beyond these limits while they wait to log in: cameras that upload at the same moment get "Connection closed", and an admin\'s login during such a burst is refused too'
      : 'sftp-setup keeps out of limits you set yourself, but this one was set after its last run: run init again',
    fix,
  });
}

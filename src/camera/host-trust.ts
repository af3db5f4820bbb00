/**
 * Which collector host key the camera pins, and on what trust: read over the admin's own SSH session
 * (--via), proven by a --host-key the collector presents, confirmed by the person at a terminal, or taken
 * on first use with --yes (with a warning). A pinned key is never replaced on trust alone.
 */
import { paint } from '../text/color.js';
import { FailError, UsageError } from '../errors.js';
import { sha256Fingerprint } from '../keys/wire.js';
import { confirm } from '../prompt.js';
import { printable } from '../text/printable.js';
import { scanHostKeys, sshHashesKnownHosts, viaSsh, type RunAs } from '../system/ssh-client.js';
import { remoteCommand, splitViaOutput, viaRemoteScript, type ViaTarget } from './handoff.js';
import { hostPattern, parseHostKeyLines, planKnownHosts, preferredHostKey, type HostKey, type KnownHostsPlan } from './known-hosts.js';

export type Trust = 'via' | 'pinned' | 'confirmed' | 'first-use';

export interface Collector {
  host: string;
  port: number;
  user: string;
  /** --host-key */
  pinned?: string;
  via?: ViaTarget;
  /** the admin's sshd is the upload sshd when --via names the collector: the same --port */
  viaPort?: number;
}

export interface HostTrust {
  pinnedKey: HostKey;
  trust: Trust;
  pattern: string;
  /** the new known_hosts text, and the stale entries it replaces */
  kh: KnownHostsPlan;
  /** pinnedKey is the collector's host CA (an @cert-authority line), not a host key */
  certAuthority?: boolean;
}

export const fp = (k: HostKey) => sha256Fingerprint(Buffer.from(k.base64, 'base64'));
export const label = (k: HostKey) => `${fp(k)} (${k.type.replace(/^ssh-/, '').replace(/-sha2-.*$/, '').toUpperCase()})`;

/** The collector's host keys: over the admin's session with --via, else scanned (ed25519 first: one connection). */
export async function collectorHostKeys(c: Collector): Promise<HostKey[]> {
  if (c.via) {
    const r = await viaSsh(c.via, viaRemoteScript({ admin: c.via.user, user: c.user, remoteCommand: remoteCommand(), addKey: false, wait: c.via.wait }), { port: c.viaPort });
    const split = splitViaOutput(r.stdout);
    const keys = split ? parseHostKeyLines(split.hostKeys) : [];
    if (r.exitCode !== 0 || keys.length === 0) {
      throw new FailError(
        `cannot read the collector's host keys over ssh ${c.via.user}@${c.via.host}: ${(r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.exitCode}`}; nothing was changed`,
        `check that "ssh ${c.via.user}@${c.via.host}" works from this account, or leave out --via and pin with --host-key`,
      );
    }
    return keys;
  }
  // The other types only when ed25519 is missing or does not match the pin.
  const first = await scanHostKeys(c.host, c.port, 'ed25519').catch(() => '');
  const keys = parseHostKeyLines(first);
  if (keys.length === 0 || (c.pinned && !keys.some((k) => fp(k) === c.pinned))) {
    keys.push(...parseHostKeyLines(await scanHostKeys(c.host, c.port, first ? 'ecdsa,rsa' : 'ed25519,ecdsa,rsa').catch((err) => {
      if (first) return '';
      throw err;
    })));
  }
  return keys;
}

/** The key to pin: the one --host-key names (refused when the collector does not present it), else the preferred one. */
export function keyToPin(c: Collector, keys: HostKey[]): HostKey {
  if (!c.pinned) return preferredHostKey(keys)!;
  const key = keys.find((k) => fp(k) === c.pinned);
  if (!key) {
    throw new UsageError(
      `the collector ${c.host} port ${c.port} presents ${keys.map(label).join(', ')}, not the pinned --host-key ${c.pinned}; nothing was changed`,
      'compare with the "Host key of this collector" line init printed on the collector; if the collector was reinstalled, give its new fingerprint',
    );
  }
  return key;
}

export interface TrustOptions {
  yes: boolean;
  dryRun: boolean;
  replaceHostKey?: boolean;
  khPath: string;
  khText: string | null;
  /** whose ssh decides whether known_hosts lines are hashed */
  owner: RunAs;
  out: (s: string) => void;
  warn: (s: string) => void;
}

/** Decide the pinned key and the known_hosts change; 'declined' when the person said no. Refusals change nothing. */
export async function decideHostTrust(c: Collector, o: TrustOptions): Promise<HostTrust | 'declined'> {
  const keys = await collectorHostKeys(c);
  const pinnedKey = keyToPin(c, keys);
  const trust: Trust = c.via ? 'via' : c.pinned ? 'pinned' : o.yes ? 'first-use' : 'confirmed';
  const pattern = hostPattern(c.host, c.port);
  const hash = /^\|1\|/m.test(o.khText ?? '') || (await sshHashesKnownHosts(o.owner, c.host, c.port));
  const kh = planKnownHosts(o.khText ?? '', pattern, pinnedKey, keys, { hash });
  // Not by --yes, not by an interactive yes, not over --via: only a --host-key the collector proves it
  // holds, or a flag that says so, replaces a pinned key. Refused before any prompt.
  if (kh.stale.length > 0 && !c.pinned && !o.replaceHostKey) {
    throw new UsageError(
      `${o.khPath} pins another host key for ${pattern} than the one the collector presents now (${label(pinnedKey)}): the collector may be an impostor; nothing was changed`,
      `if the collector was really reinstalled, compare ${fp(pinnedKey)} with the "Host key of this collector" line init printed there, then run again with --host-key ${fp(pinnedKey)}, or with --replace-host-key`,
    );
  }
  const decided = { pinnedKey, trust, pattern, kh };
  if (!c.pinned && !(await unpinnedAccepted(c, decided, o))) return 'declined';
  if (kh.stale.length > 0 && !(await staleReplaced(c, decided, o))) return 'declined';
  return decided;
}

/** No --host-key: a person confirms the fingerprint at a terminal, or --yes trusts it with a warning. */
async function unpinnedAccepted(c: Collector, d: HostTrust, o: TrustOptions): Promise<boolean> {
  if (d.trust === 'confirmed') {
    o.out(`The collector ${c.host} port ${c.port} presents host key ${paint.bold(label(d.pinnedKey))}.`);
    if (!process.stdin.isTTY) {
      throw new UsageError(
        `the collector's host key is not pinned; nothing was changed`,
        `compare ${fp(d.pinnedKey)} with what init printed on the collector, then run again with --host-key ${fp(d.pinnedKey)} (or --yes to trust it unchecked)`,
      );
    }
    return confirm('Is this the fingerprint init printed on the collector ("Host key of this collector")?');
  }
  if (d.trust === 'first-use') {
    o.warn(d.kh.stale.length
      ? `WARNING: replacing the pinned host key of ${c.host} with ${label(d.pinnedKey)} unchecked (--replace-host-key without --host-key).`
      : `WARNING: trusting the collector's host key ${label(d.pinnedKey)} on first use (--yes without --host-key).`);
    o.warn(`WARNING: if ${c.host} is not really your collector, uploads go to an impostor. Compare it with what init printed.`);
  }
  return true;
}

/** known_hosts holds another key for the collector: show it; with --host-key, ask (or --yes) before replacing. */
async function staleReplaced(c: Collector, d: HostTrust, o: TrustOptions): Promise<boolean> {
  o.out(paint.yellow(`${o.khPath} holds a different host key for ${d.pattern}:`));
  for (const s of d.kh.stale) o.out(`  ${printable(s.length > 100 ? s.slice(0, 100) + '…' : s)}`);
  o.out(paint.yellow('The collector was reinstalled or changed its keys, or this is not your collector.'));
  if (!c.pinned || o.yes || o.dryRun) return true;
  if (!process.stdin.isTTY) {
    throw new UsageError(
      `${o.khPath} has a stale host key for ${d.pattern}; nothing was changed`,
      'if the collector was reinstalled, run again with --yes to replace the entry (a backup is kept)',
    );
  }
  return confirm(`Replace the stale entry with ${fp(d.pinnedKey)} (a backup is kept)?`);
}

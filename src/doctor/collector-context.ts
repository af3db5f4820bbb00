/**
 * What the collector checks look at, read once: sshd (binary, version, validity, running), its
 * configuration with every Match block, and the upload accounts found in it with their effective settings.
 * Read-only; the slow parts (sshd -V, sshd -t, sshd -T per user, getent) run side by side, bounded.
 */
import { mapBounded } from '../bounded.js';
import { configIO } from '../collector/inspect.js';
import { loadConfigDetailed, type Directive, type LoadResult } from '../sshd/includes.js';
import { expandTokens, parseEffective, parseSshdVersion, type ParsedVersion } from '../sshd/effective.js';
import { accountTables, getAccount, groupsOf, passwordField, type Account } from '../system/accounts.js';
import { effectiveConfig, effectiveConfigs, effectiveSettings, isRunning, settingsFailure, SSHD_CONFIG, sshdInstalled, sshdVersionText, testConfig, type SshdCheck } from '../system/sshd.js';

export interface MatchBlock {
  file: string;
  lineNo: number;
  /** last line of the block in its file */
  endLine: number;
  criteria: string[];
  /** written by sftp-setup init (its drop-in or its marked block in the main file) */
  managed: boolean;
  /** directives inside the block */
  directives: Directive[];
}

export interface UploadAccount {
  user: string;
  block?: MatchBlock;
  account: Account | null;
  shadow?: string;
  groups: string[];
  /** sshd -T -C user=… */
  eff?: Map<string, string[]>;
  effError?: string;
  /** ChrootDirectory with %u/%h expanded */
  chroot?: string;
  profile: 'allsky' | 'dropbox' | 'other';
}

export interface CollectorContext {
  installed: boolean;
  versionText?: string;
  version?: ParsedVersion | null;
  /** by: the sshd options that checked it when not -t */
  valid?: SshdCheck & { by?: string };
  running: boolean;
  config?: LoadResult;
  configError?: string;
  accounts: UploadAccount[];
}

const one = (eff: Map<string, string[]> | undefined, k: string) => eff?.get(k)?.[0];

/** Match blocks of the configuration, in reading order, with their directives. */
export function matchBlocks(directives: Directive[], mainText: (file: string) => string | null): MatchBlock[] {
  const blocks = new Map<string, MatchBlock>();
  for (const d of directives) {
    if (d.keyword === 'match') {
      const managed = /\/\d\d-sftp-setup-[^/]+\.conf$/.test(d.file) || /sftp-setup/.test(markerAbove(mainText(d.file), d.lineNo));
      blocks.set(`${d.file}:${d.lineNo}`, { file: d.file, lineNo: d.lineNo, endLine: d.lineNo, criteria: d.args, managed, directives: [] });
      continue;
    }
    if (!d.match) continue;
    const b = blocks.get(`${d.match.file}:${d.match.lineNo}`);
    if (b) {
      b.directives.push(d);
      b.endLine = Math.max(b.endLine, d.lineNo);
    }
  }
  return [...blocks.values()].filter((b) => !(b.criteria.length === 1 && b.criteria[0]!.toLowerCase() === 'all'));
}

function markerAbove(text: string | null, lineNo: number): string {
  if (!text) return '';
  const lines = text.split('\n');
  return lines.slice(Math.max(0, lineNo - 3), lineNo - 1).join('\n');
}

/** Users of `Match User a,b` blocks that chroot and force internal-sftp: the upload accounts. */
export function uploadBlocks(blocks: MatchBlock[]): Array<{ user: string; block: MatchBlock }> {
  const out: Array<{ user: string; block: MatchBlock }> = [];
  const seen = new Set<string>();
  for (const b of blocks) {
    const kw = (k: string) => b.directives.find((d) => d.keyword === k);
    const force = kw('forcecommand');
    if (!kw('chrootdirectory') || !force || !/^internal-sftp\b/.test(force.args.join(' '))) continue;
    const c = b.criteria.map((x) => x.toLowerCase());
    if (c.length !== 2 || c[0] !== 'user') continue;
    for (const u of b.criteria[1]!.split(',')) {
      if (/[*?!]/.test(u) || seen.has(u)) continue;
      seen.add(u);
      out.push({ user: u, block: b });
    }
  }
  return out;
}

export function profileOf(forceCommand: string | undefined): UploadAccount['profile'] {
  if (!forceCommand) return 'other';
  const m = /-p\s+(\S+)/.exec(forceCommand);
  if (!m) return /-R\b/.test(forceCommand) ? 'other' : 'allsky';
  const allowed = new Set(m[1]!.split(','));
  if (['remove', 'rename'].every((r) => allowed.has(r))) return 'allsky';
  if (allowed.has('write')) return 'dropbox'; // uploads without remove/rename
  return 'other';
}

/**
 * Is sshd's configuration valid, and for one account (the usual collector) its settings: that account's
 * sshd -T -C is the check, since it parses and checks all that sshd -t does before it applies the Match
 * blocks. Only when it fails does sshd -t run, for sshd -t's own verdict and words.
 */
async function checkConfig(single?: string): Promise<{ valid: SshdCheck & { by?: string }; eff?: string | Error }> {
  if (single === undefined) return { valid: await testConfig(SSHD_CONFIG) };
  const r = await effectiveSettings({ user: single });
  if (r.ok) return { valid: { ok: true, message: '', by: `-T -C user=${single}` }, eff: r.settings };
  return { valid: await testConfig(SSHD_CONFIG), eff: settingsFailure(r) };
}

export async function readCollector(only?: string): Promise<CollectorContext> {
  const installed = sshdInstalled();
  if (!installed) return { installed, running: false, accounts: [] };
  const io = configIO();
  let config: LoadResult | undefined;
  let configError: string | undefined;
  try {
    config = loadConfigDetailed(SSHD_CONFIG, io);
  } catch (e) {
    configError = (e as Error).message;
  }
  const found = config ? uploadBlocks(matchBlocks(config.directives, io.read)) : [];
  const wanted = only ? [{ user: only, block: found.find((f) => f.user === only)?.block }] : found;
  const single = wanted.length === 1 ? wanted[0]!.user : undefined;
  // One account's look-ups start beside sshd's: where NSS has more than the files, its groups are an `id`
  // (cached, and used below).
  if (single !== undefined) for (const lookup of [getAccount, passwordField, groupsOf]) lookup(single).catch(() => {});
  const [versionText, checked, running] = await Promise.all([sshdVersionText(), checkConfig(single), isRunning()]);
  const { valid } = checked;
  // For a fleet, passwd, shadow and groups come from one enumeration each (a name not in them is looked up
  // on its own), and sshd -T runs for every account from a few shells (effectiveConfigs).
  const fleet = wanted.length > 1;
  const [tables, effs] = await Promise.all([
    fleet ? accountTables().catch(() => undefined) : undefined,
    fleet && valid.ok ? effectiveConfigs(wanted.map((w) => w.user)) : undefined,
  ]);
  const accounts = await mapBounded(
    wanted, 8,
    async ({ user, block }): Promise<UploadAccount> => {
      const listed = tables?.passwd.get(user);
      const [account, shadow, groups, effText] = await Promise.all([
        listed ?? getAccount(user),
        listed && tables!.shadow.has(user) ? tables!.shadow.get(user) : passwordField(user),
        listed ? tables!.groups.get(user) ?? [] : groupsOf(user),
        !valid.ok ? new Error(valid.message) : effs?.get(user) ?? checked.eff ?? effectiveConfig({ user }).catch((e: Error) => e),
      ]);
      const eff = typeof effText === 'string' ? parseEffective(effText) : undefined;
      const rawChroot = one(eff, 'chrootdirectory');
      const chroot =
        rawChroot && rawChroot !== 'none'
          ? expandTokens(rawChroot, { user, home: account?.home, uid: account?.uid }).replace(/(.)\/+$/, '$1')
          : undefined;
      return {
        user, block, account, shadow, groups: groups.length ? groups : [user], eff, chroot,
        effError: typeof effText === 'string' ? undefined : effText.message,
        profile: profileOf(eff?.get('forcecommand')?.join(' ')),
      };
    },
  );
  return { installed, versionText, version: parseSshdVersion(versionText), valid, running, config, configError, accounts };
}

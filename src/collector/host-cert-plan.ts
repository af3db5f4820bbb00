/**
 * Host certificates (`ca init`): every host key sshd uses signed by the host CA for the names cameras use,
 * and the global drop-in that makes sshd present them, validated with sshd -t before it is installed and
 * followed by a reload (never a restart).
 */
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { FailError, UsageError } from '../errors.js';
import { fingerprintOfLine } from '../keys/parse.js';
import { unifiedDiff } from '../plan/diff.js';
import type { Step } from '../plan/step.js';
import { hasGlob, resolveIncludePath } from '../sshd/includes.js';
import { globMatch } from '../sshd/placement.js';
import { quoteArg } from '../sshd/render.js';
import { ensureDir, readText, removeFile, statPath, writeFileAtomic, type Journal } from '../system/files.js';
import { readCertificate, signCertificate } from '../system/ssh-keygen.js';
import { isRunning, reload, reloadIfRunning, runningPid } from '../system/sshd.js';
import { ROOT } from './ca-steps.js';
import { CA, HOST_CERT_DROPIN, RUN_DIR } from './layout.js';
import type { SshdState } from './inspect.js';
import { installValidated } from './sshd-install.js';

/** Left while host certificates are changed and sshd not yet reloaded: a killed run's next run reloads. */
const RELOAD_PENDING = `${RUN_DIR}/host-cert-reload-pending`;

/**
 * Where our global drop-in goes: a directory the main file includes by a glob before its first Match block
 * (sshd then reads it before the main file's own settings). Undefined when there is none.
 */
export function hostCertDropinPath(sshd: Pick<SshdState, 'mainPath' | 'directives'>): string | undefined {
  for (const line of sshd.directives.filter((d) => d.file === sshd.mainPath && d.depth === 0)) {
    if (line.keyword === 'match') break;
    if (line.keyword !== 'include') continue;
    for (const arg of line.args) {
      const pattern = resolveIncludePath(arg);
      const dir = dirname(pattern);
      const candidate = join(dir, HOST_CERT_DROPIN);
      if (!hasGlob(dir) && globMatch(pattern, candidate)) return candidate;
    }
  }
  return undefined;
}

export interface HostKeyFile {
  /** the private key path sshd names (HostKey) */
  path: string;
  publicLine: string;
}

export interface HostCertSpec {
  names: string[];
  hostKeys: HostKeyFile[];
  dropin: string;
}

/** The drop-in: one HostCertificate per host key, global (HostCertificate is not allowed inside Match). */
export function renderHostCertDropin(hostKeys: HostKeyFile[]): string {
  return [
    '# Managed by sftp-setup: the host certificates cameras check against the host CA ("sftp-setup ca init").',
    ...hostKeys.map((k) => `HostCertificate ${quoteArg(`${k.path}-cert.pub`, 'host certificate path')}`),
  ].join('\n') + '\n';
}

/** Does the certificate at `path` certify this key, by this CA, for exactly these names? */
async function certCurrent(path: string, key: HostKeyFile, caFingerprint: string | undefined, names: string[]): Promise<string | null> {
  const text = await readText(path);
  if (text === null) return 'create';
  const info = await readCertificate(text);
  if (!info || info.kind !== 'host') return 'replace (not a host certificate)';
  if (info.keyFingerprint !== fingerprintOfLine(key.publicLine)) return 're-sign (the host key changed)';
  if (!caFingerprint || info.caFingerprint !== caFingerprint) return 're-sign (another CA signed it)';
  const same = info.principals.length === names.length && names.every((n) => info.principals.includes(n));
  return same ? null : `re-sign for ${names.join(', ')} (was ${info.principals.join(', ')})`;
}

/**
 * Host certificates for every host key sshd uses, signed by the host CA for `names`, valid always:forever:
 * cameras check them on their own clock, which may be far off on a Pi without a real-time clock, and a
 * host certificate is bound to its host key (a new key is re-signed, `ca init` again).
 */
export function hostCertSteps(spec: HostCertSpec, sshd: SshdState, journal: Journal): Step[] {
  const touched = { value: false };
  const caFp = async () => {
    const pub = await readText(`${CA.hostKey}.pub`);
    return pub ? fingerprintOfLine(pub.trim()) : undefined;
  };
  const steps: Step[] = spec.hostKeys.map((key) => {
    const path = `${key.path}-cert.pub`;
    return {
      id: `host-cert-${key.path.split('/').pop()}`,
      title: `host certificate ${path} (${spec.names.join(', ')})`,
      async check() {
        const why = await certCurrent(path, key, await caFp(), spec.names);
        return why ? { summary: why } : null;
      },
      async apply() {
        const line = await signCertificate({
          caKey: CA.hostKey, publicLine: key.publicLine, keyId: `${hostname()} ${key.path.split('/').pop()}`,
          principals: spec.names, validity: 'always:forever', host: true,
        });
        touched.value = true;
        await markReloadPending();
        await journal.writeAtomic(path, `${line}\n`, { mode: 0o644, ...ROOT });
      },
    };
  });
  const want = renderHostCertDropin(spec.hostKeys);
  steps.push({
    id: 'host-cert-config',
    title: `HostCertificate lines in ${spec.dropin}`,
    async check() {
      const before = await readText(spec.dropin);
      return before === want ? null : { summary: before === null ? 'create' : 'update', diff: unifiedDiff(before ?? '', want, spec.dropin) };
    },
    async apply() {
      await markReloadPending();
      // The one validation path of sshd's files: the candidate checked as sshd will read it, then installed.
      await installValidated(
        { kind: 'dropin', target: spec.dropin, realPath: spec.dropin, after: want },
        {
          mainPath: sshd.mainPath, mainText: (await readText(sshd.mainPath)) ?? sshd.mainText, journal,
          confirm: async () => {},
          touched: () => {
            touched.value = true;
          },
        },
      );
    },
  });
  steps.push({
    id: 'reload',
    title: 'sshd reloaded: it presents the host certificates',
    async check() {
      const pending = (await statPath(RELOAD_PENDING)) !== null;
      if ((!touched.value && !pending) || !(await isRunning())) return null;
      return { summary: touched.value ? 'reload (never restart): open sessions stay up' : 'finish the reload an interrupted run left pending' };
    },
    async apply() {
      // Host certificates are read when sshd starts: after a rollback too, so register the reload first.
      journal.afterRollback('reload sshd', reloadIfRunning);
      await reload();
      await removeFile(RELOAD_PENDING);
      if (!(await runningPid())) throw new FailError('sshd is not running after the reload');
    },
  });
  return steps;
}

async function markReloadPending(): Promise<void> {
  await ensureDir(RUN_DIR, 0o755, 0, 0);
  await writeFileAtomic(RELOAD_PENDING, 'host certificates\n', { mode: 0o644, uid: 0, gid: 0 });
}

/** A HostCertificate someone else configured: ours would compete with it for the same host key. */
export function refuseForeignHostCertificates(sshd: Pick<SshdState, 'directives'>, dropin: string): void {
  const foreign = sshd.directives.find((d) => d.keyword === 'hostcertificate' && d.file !== dropin);
  if (foreign) {
    throw new UsageError(
      `${foreign.file} line ${foreign.lineNo} already sets HostCertificate ${foreign.args.join(' ')}; sftp-setup would compete with it`,
      'remove that line (and reload sshd) if sftp-setup\'s CA should sign the host keys, or keep your own host certificates and skip ca init',
    );
  }
}

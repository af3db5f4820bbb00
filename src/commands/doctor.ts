/**
 * `sftp-setup doctor`: on a collector or a camera, run every check and print for each the verdict, the
 * evidence and the command that fixes it. Read-only unless --fix; --fix applies what is safe to automate
 * (through init's plan code on the collector), then checks again.
 */
import { paint } from '../text/color.js';
import { requireRoot, UsageError } from '../errors.js';
import { formatStep, printJson } from '../report.js';
import { validateAbsPath, validateUserName } from '../validate.js';
import { refuseBadCollectorEnv } from '../collector/env-file.js';
import { summarize, type DoctorCheck } from '../doctor/check.js';
import { failing, formatDoctorReport } from '../doctor/format.js';
import { printable as p } from '../text/printable.js';
import { outputWidth, writeOut } from '../system/stdout.js';

export interface DoctorOptions {
  role?: 'collector' | 'camera';
  user?: string;
  allskyDir?: string;
  collectorEnv?: string;
  fix: boolean;
  dryRun: boolean;
  probe: boolean;
  probeAll?: boolean;
  json: boolean;
}

async function detectRole(o: DoctorOptions): Promise<'collector' | 'camera'> {
  if (o.role) return o.role;
  const { configIO } = await import('../collector/inspect.js');
  const { loadConfig } = await import('../sshd/includes.js');
  const { matchBlocks, uploadBlocks } = await import('../doctor/collector-context.js');
  try {
    const io = configIO();
    if (io.read('/etc/ssh/sshd_config') !== null && uploadBlocks(matchBlocks(loadConfig('/etc/ssh/sshd_config', io), io.read)).length > 0) return 'collector';
  } catch {
    /* unreadable config: not evidence either way */
  }
  const { findCameraSetup } = await import('../camera/read.js');
  if (o.allskyDir || (await findCameraSetup())) return 'camera';
  throw new UsageError(
    'cannot tell whether this is a collector (no upload Match block in /etc/ssh/sshd_config) or a camera (no Allsky install or lftp sftp configuration)',
    'say which with --role collector or --role camera',
  );
}

export async function doctorCommand(o: DoctorOptions): Promise<number> {
  const user = o.user !== undefined ? validateUserName(o.user, '--user') : undefined;
  const allskyDir = o.allskyDir !== undefined ? validateAbsPath(o.allskyDir, '--allsky-dir') : undefined;
  const collectorEnv = o.collectorEnv !== undefined ? validateAbsPath(o.collectorEnv, '--collector-env') : undefined;
  if (o.dryRun && !o.fix) throw new UsageError('--dry-run only means something with --fix', 'sftp-setup doctor --fix --dry-run');
  // The same rules as init --collector-env: doctor reads the file, and --fix writes it.
  if (collectorEnv !== undefined) await refuseBadCollectorEnv(collectorEnv);
  const role = await detectRole(o);
  const out = (s: string) => {
    if (!o.json) writeOut(s + '\n');
  };
  // One account: every check. A fleet: one line per account, shared problems and skips folded. The last
  // line names what failed.
  const print = (checks: DoctorCheck[]) => {
    for (const line of formatDoctorReport(checks, { scope: role, width: outputWidth() })) out(line);
  };
  const summary = (checks: DoctorCheck[]) => ({ ...summarize(checks), failing: failing(checks) });

  if (role === 'collector') {
    requireRoot('doctor on a collector reads sshd\'s effective configuration and /etc/shadow');
    const { collectorDoctor } = await import('../doctor/collector.js');
    out(paint.bold('Collector checks'));
    let report = await collectorDoctor({ user, probe: o.probe, probeAll: o.probeAll, collectorEnv });
    print(report.checks);
    let fixes: unknown;
    if (o.fix && report.checks.some((c) => c.status === 'fail' || c.status === 'warn')) {
      const { fixCollector } = await import('../doctor/fix.js');
      out(paint.bold(o.dryRun ? '\nFixes (dry run, nothing will change)' : '\nFixing'));
      const outcomes = await fixCollector(report, { dryRun: o.dryRun, collectorEnv, onStep: (r) => out(formatStep(r, o.dryRun)) });
      for (const f of outcomes) {
        if (!f.steps) out(`  ${f.status === 'failed' ? paint.red('FAILED') : f.status === 'manual' ? paint.yellow('manual') : paint.green(f.status)}  ${p(f.action)}${f.error ? ` — ${p(f.error)}` : ''}`);
        else if (f.error) out(`  ${paint.red('FAILED')}  ${p(f.action)} — ${p(f.error)}`);
      }
      fixes = outcomes;
      if (!o.dryRun) {
        out(paint.bold('\nChecking again'));
        report = await collectorDoctor({ user, probe: o.probe, probeAll: o.probeAll, collectorEnv });
        print(report.checks);
      }
    }
    const failed = report.checks.some((c) => c.status === 'fail');
    if (o.json) printJson({ role, ok: !failed, summary: summary(report.checks), checks: report.checks, ...(fixes ? { fixes } : {}) });
    return failed ? 1 : 0;
  }

  const { cameraDoctor } = await import('../doctor/camera.js');
  out(paint.bold('Camera checks'));
  const checks = await cameraDoctor({ allskyDir, probe: o.probe });
  print(checks);
  if (o.fix) out('On the camera, doctor fixes nothing itself: run the fix commands shown, or sftp-setup allsky-config.');
  const failed = checks.some((c) => c.status === 'fail');
  if (o.json) printJson({ role, ok: !failed, summary: summary(checks), checks });
  return failed ? 1 : 0;
}

/**
 * `sftp-setup demo`: both ends of the setup in two throwaway hosts — a collector running sshd and an Allsky
 * camera joined by a veth link — driven by the real CLI inside each host: `init` on the collector,
 * `allsky-config --via root@collector` on the camera, Allsky's own upload sequence for each kind of file it
 * sends, checksums on the collector, `doctor` on both sides. The hosts are copy-on-write views of this
 * machine that vanish when their PID 1 dies, which happens on success, on error, on Ctrl-C, and (through
 * the parent-death signal) when this process is killed.
 */
import { paint } from '../text/color.js';
import { FailError, requireRoot, UsageError } from '../errors.js';
import { LAUNCHER as CLI } from '../launcher.js';
import { haveProgram } from '../system/exec.js';
import { linkHosts, startHost, type ThrowawayHost } from '../system/hosts.js';
import type { RunResult } from '../system/exec.js';
import { installAllsky, type DemoAllsky } from './allsky-install.js';
import { Stages, seconds, whyFailed, type StageResult } from './stages.js';
import { wrapText } from '../text/wrap.js';
import { demoFiles, remoteDir, sha256, uploadScript, type RemoteServer } from './uploads.js';
import { DEFAULT_USER } from '../collector/layout.js';
import { outputWidth, writeOut } from '../system/stdout.js';

const UPLOAD_USER = DEFAULT_USER;
const CHROOT = '/var/lib/allsky-uploads';
const NEEDED = ['unshare', 'nsenter', 'setpriv', 'ip', 'mount', '/usr/sbin/sshd', 'ssh', 'ssh-keygen', 'ssh-keyscan', 'sftp', 'lftp', 'base64', 'sha256sum'];

export interface UploadResult {
  what: string;
  remote: string;
  bytes: number;
  sha256: string;
  ms: number;
  arrived: boolean;
}

export interface DemoReport {
  ok: boolean;
  totalMs: number;
  stages: StageResult[];
  uploads: UploadResult[];
  collector?: { address: string; hostKey?: string };
  camera?: { address: string; allsky?: DemoAllsky };
  error?: string;
  interrupted?: string;
}


/** Run the built CLI inside a host, the way a person would run `sftp-setup …` there. */
function cli(host: ThrowawayHost, args: string[], opts: { input?: string; user?: string } = {}): Promise<RunResult> {
  return host.run([process.execPath, CLI, ...args], { ...opts, env: { FORCE_COLOR: '0' }, timeoutMs: 180_000 });
}

/**
 * Make `sftp-setup` a command inside the host (what `npm install -g` gives a real Pi), so that commands run
 * over SSH from the other host find it. /usr/local/bin gets a copy-on-write overlay that only this host sees.
 */
async function installCommand(host: ThrowawayHost): Promise<void> {
  await host.sh(
    `[ -d /usr/local/bin ] || exit 0
mkdir -p /mnt/ulb/u /mnt/ulb/w
mount -t overlay overlay -o lowerdir=/usr/local/bin,upperdir=/mnt/ulb/u,workdir=/mnt/ulb/w /usr/local/bin
# npm install -g leaves a symlink here into the real install: remove it (in the overlay) rather than write through it.
rm -f /usr/local/bin/sftp-setup
printf '#!/bin/sh\\nexec %s %s "$@"\\n' ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} > /usr/local/bin/sftp-setup
chmod 755 /usr/local/bin/sftp-setup`,
  );
}

export async function runDemo(opts: { json: boolean }): Promise<number> {
  if (process.platform !== 'linux') throw new UsageError('the demo needs Linux namespaces', 'run it on a Linux machine (a Raspberry Pi with Raspberry Pi OS will do)');
  requireRoot('the demo creates throwaway hosts (namespaces, mounts)');
  const missing: string[] = [];
  for (const p of NEEDED) if (!(await haveProgram(p))) missing.push(p);
  if (missing.length) {
    throw new FailError(`the demo needs ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed`, 'sudo apt-get install -y openssh-server openssh-client lftp iproute2 util-linux');
  }

  // Every line fits the terminal (stage lines are already wrapped under their title; the rest under theirs).
  const print = (line: string) => {
    if (!opts.json) writeOut(wrapText(line, outputWidth(), 6) + '\n');
  };
  const started = performance.now();
  const stages = new Stages(print);
  const report: DemoReport = { ok: false, totalMs: 0, stages: stages.results, uploads: [] };
  const hosts: ThrowawayHost[] = [];

  let torn: Promise<void> | undefined;
  const teardown = () => (torn ??= Promise.all(hosts.map((h) => h.destroy())).then(() => undefined));
  const finish = (code: number) => {
    if (opts.json) writeOut(JSON.stringify(report, null, 2) + '\n');
    return code;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (report.interrupted) return;
    report.interrupted = signal;
    print(paint.yellow(`\nInterrupted (${signal}): removing the throwaway hosts…`));
    void teardown().finally(() => {
      print('Both hosts are gone; nothing on this machine was changed.');
      report.totalMs = performance.now() - started;
      process.exit(finish(signal === 'SIGINT' ? 130 : 143));
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  print(paint.bold('sftp-setup demo: a collector and an Allsky camera in two throwaway hosts'));
  try {
    const { collector, camera } = await stages.run('hosts', 'start two throwaway hosts joined by a veth link', async () => {
      const [collector, camera] = await Promise.all([startHost('collector'), startHost('camera')]);
      hosts.push(collector, camera);
      const link = await linkHosts(collector, camera, '10.250.9');
      await Promise.all([installCommand(collector), installCommand(camera), collector.startSshd()]);
      report.collector = { address: link.a };
      report.camera = { address: link.b };
      return { detail: `collector ${link.a} (sshd running), camera ${link.b}`, value: { collector, camera } };
    });

    await stages.run('init', `collector: sftp-setup init (upload account ${UPLOAD_USER}, self-test)`, async () => {
      const r = await cli(collector, ['init', '--yes', '--json']);
      if (r.exitCode !== 0) throw new FailError(`init exited ${r.exitCode}: ${whyFailed(r)}`);
      const out = JSON.parse(r.stdout) as { selfTest?: { ok: boolean }[] | null };
      const checks = out.selfTest ?? [];
      const fp = await collector.sh('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2');
      report.collector!.hostKey = fp.trim();
      return { detail: `chroot ${CHROOT}, self-test ${checks.filter((c) => c.ok).length}/${checks.length} passed, host key ${fp.trim()}`, value: undefined };
    });

    const allsky = await stages.run('allsky', 'camera: a minimal Allsky install', async () => {
      const a = await installAllsky(camera);
      report.camera!.allsky = a;
      return { detail: `${a.dir}, owner ${a.owner}, settings.json hard-linked, env.json`, value: a };
    });

    await stages.run('admin', 'camera: root gets SSH admin access to the collector (stands in for yours)', async () => {
      const pub = await camera.sh(`mkdir -p -m 700 /root/.ssh && rm -f /root/.ssh/demo_admin* && ssh-keygen -q -t ed25519 -N '' -C admin@camera -f /root/.ssh/demo_admin && cat /root/.ssh/demo_admin.pub`);
      await collector.run(['sh', '-c', 'mkdir -p -m 700 /root/.ssh && cat >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys'], { input: pub });
      const hostKeys = await collector.sh(`for f in /etc/ssh/ssh_host_*_key.pub; do printf 'collector %s\\n' "$(cut -d' ' -f1,2 "$f")"; done`);
      await camera.run(['sh', '-c', `cat >> /root/.ssh/known_hosts && printf 'Host collector\\n  IdentityFile /root/.ssh/demo_admin\\n' >> /root/.ssh/config`], { input: hostKeys });
      await camera.sh('ssh -o BatchMode=yes -o ConnectTimeout=5 root@collector true');
      return { detail: 'ssh root@collector works with a key, host key known', value: undefined };
    });

    const server = await stages.run('allsky-config', 'camera: sftp-setup allsky-config --via root@collector', async () => {
      const r = await cli(camera, ['allsky-config', '--collector', 'collector', '--via', 'root@collector', '--allsky-dir', allsky.dir, '--yes']);
      if (r.exitCode !== 0) throw new FailError(`allsky-config exited ${r.exitCode}: ${whyFailed(r)}`);
      const s = await readServerSettings(camera, allsky);
      return { detail: `key authorized over the admin's SSH, host key pinned, settings.json (hard link kept) + env.json written, test upload passed`, value: s };
    });

    const files = demoFiles();
    await stages.run('uploads', `camera: Allsky's upload sequence (put to TYPE-RANDOM, rm -f, mv) for ${files.length} files`, async () => {
      const tmp = `${allsky.dir}/tmp`;
      for (const f of files) {
        await camera.run(['sh', '-c', `mkdir -p "$1" && base64 -d > "$1/$2"`, 'sh', tmp, f.local], { input: f.bytes.toString('base64'), user: allsky.owner });
      }
      for (const f of files) {
        const script = `${tmp}/demo-upload-${f.type}.lftp`;
        await camera.run(['sh', '-c', 'cat > "$1"', 'sh', script], { input: uploadScript(server, f, `${tmp}/${f.local}`), user: allsky.owner });
        const t = performance.now();
        // upload.sh exports the (dummy) password; --env-password reads it from LFTP_PASSWORD.
        const r = await camera.run(['lftp', '-f', script], { user: allsky.owner, env: { LFTP_PASSWORD: 'n/a' }, timeoutMs: 60_000 });
        const ms = performance.now() - t;
        if (r.exitCode !== 0) throw new FailError(`upload of the ${f.what} failed (lftp exit ${r.exitCode}): ${whyFailed(r)}`);
        report.uploads.push({ what: f.what, remote: `${remoteDir(server, f)}/${f.dest}`, bytes: f.bytes.length, sha256: sha256(f.bytes), ms, arrived: false });
      }
      const slowest = Math.max(...report.uploads.map((u) => u.ms));
      return { detail: `${files.length} uploads as ${allsky.owner}, slowest ${seconds(slowest)}`, value: undefined };
    });

    await stages.run('verify', 'collector: the files arrived intact (sha256), no temporary names left', async () => {
      const paths = report.uploads.map((u) => `${CHROOT}/${u.remote}`);
      const sums = await collector.sh(`sha256sum ${paths.map((p) => JSON.stringify(p)).join(' ')}`);
      const got = new Map(sums.trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)] as const));
      for (const u of report.uploads) u.arrived = got.get(`${CHROOT}/${u.remote}`) === u.sha256;
      const bad = report.uploads.filter((u) => !u.arrived);
      if (bad.length) throw new FailError(`checksum mismatch for ${bad.map((u) => u.remote).join(', ')}`);
      const leftovers = (await collector.sh(`find ${CHROOT} -name '*-[0-9]*' -type f | grep -E '/(image|keogram|startrails|timelapse|thumbnail)-[0-9]+$' || true`)).trim();
      if (leftovers) throw new FailError(`temporary upload names left on the collector: ${leftovers.replace(/\n/g, ', ')}`);
      const owner = (await collector.sh(`stat -c %U ${JSON.stringify(paths[0]!)}`)).trim();
      return { detail: `${report.uploads.length}/${report.uploads.length} checksums match, owned by ${owner}`, value: undefined };
    });

    await stages.run('doctor', 'sftp-setup doctor on both sides', async () => {
      const [c, k] = await Promise.all([
        cli(collector, ['doctor', '--role', 'collector']),
        cli(camera, ['doctor', '--role', 'camera', '--allsky-dir', allsky.dir]),
      ]);
      const sides = [['collector', c], ['camera', k]] as const;
      const bad = sides.filter(([, r]) => r.exitCode !== 0).map(([side, r]) => `${side}: exit ${r.exitCode}: ${whyFailed(r)}`);
      if (bad.length) throw new FailError(bad.join('; '));
      return { detail: 'nothing failed on either side', value: undefined };
    });

    await stages.run('teardown', 'remove both hosts', async () => {
      await teardown();
      return { detail: 'namespaces, mounts and the veth link are gone', value: undefined };
    });
    report.ok = true;
  } catch (err) {
    report.error = (err as Error).message;
    await teardown();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  report.totalMs = performance.now() - started;
  printSummary(report, print);
  return finish(report.ok ? 0 : 1);
}

/** The remote server settings exactly as Allsky's upload.sh will read them after allsky-config. */
async function readServerSettings(camera: ThrowawayHost, allsky: DemoAllsky): Promise<RemoteServer> {
  const env = JSON.parse(await camera.sh(`cat ${allsky.dir}/env.json`)) as Record<string, string>;
  const settings = JSON.parse(await camera.sh(`cat ${allsky.dir}/config/settings.json`)) as Record<string, unknown>;
  const links = Number((await camera.sh(`stat -c %h ${allsky.dir}/config/settings.json`)).trim());
  if (links < 2) throw new FailError('allsky-config broke the hard link of config/settings.json (Allsky rewrites the camera file in place)');
  if (settings.useremoteserver !== true || settings.remoteserverprotocol !== 'sftp') {
    throw new FailError('allsky-config did not switch Allsky to the remote server over sftp (useremoteserver, remoteserverprotocol)');
  }
  return {
    host: env.REMOTESERVER_HOST ?? '', port: env.REMOTESERVER_PORT ?? '', user: env.REMOTESERVER_USER ?? '',
    lftpCommands: env.REMOTESERVER_LFTP_COMMANDS ?? '', imageDir: String(settings.remoteserverimagedir ?? ''),
  };
}

function printSummary(report: DemoReport, print: (line: string) => void): void {
  if (report.uploads.length) {
    print(paint.bold('\nUploads (as Allsky sends them), checked on the collector:'));
    for (const u of report.uploads) {
      const mark = u.arrived ? paint.green('✓') : paint.red('✗');
      print(`  ${mark} ${u.what.padEnd(20)} ${`${(u.bytes / 1024).toFixed(1)} kB`.padStart(9)}  ${seconds(u.ms).padStart(6)}  ${CHROOT}/${u.remote}`);
    }
  }
  print('');
  if (report.ok) {
    print(paint.green.bold(`Demo passed`) + ` — ${report.stages.length} stages ok, ${seconds(report.totalMs)} in all.`);
  } else {
    print(paint.red.bold('Demo failed') + `: ${report.error ?? 'unknown error'}`);
  }
  print(paint.dim('Both hosts are gone; nothing on this machine was changed.'));
}

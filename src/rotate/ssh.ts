/**
 * The rotation's conversations with the collector: SFTP sessions with one given key (run as the Allsky
 * owner, so that the key's ownership and modes are tested too), an Allsky-style lftp upload, closing a
 * shared connection, and the admin's own SSH for `--via`. All through system/exec.ts.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { FailError, UsageError } from '../errors.js';
import { run, type RunOptions, type RunResult } from '../system/exec.js';
import type { Camera } from './camera.js';
import { shellWord } from './connect.js';

const PROBE = '.sftp-setup-rotate';

/** Run a program as the Allsky owner: directly when we are that user, through setpriv when root. */
export function asOwner(cam: Camera, cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const o = cam.owner;
  const env = { ...opts.env, HOME: o.home, USER: o.name, LOGNAME: o.name };
  if (process.getuid?.() === 0 && o.uid !== 0) {
    return run('setpriv', [`--reuid=${o.uid}`, `--regid=${o.gid}`, '--init-groups', '--', cmd, ...args], { ...opts, env });
  }
  return run(cmd, args, { ...opts, env });
}

/** A scratch directory the owner can read, for payloads and lftp scripts. */
async function ownerTemp<T>(cam: Camera, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp('/tmp/sftp-setup-rotate-');
  try {
    if (process.getuid?.() === 0) await fs.chown(dir, cam.owner.uid, cam.owner.gid);
    await fs.writeFile(join(dir, 'payload'), 'sftp-setup key rotation probe\n', { mode: 0o644 });
    if (process.getuid?.() === 0) await fs.chown(join(dir, 'payload'), cam.owner.uid, cam.owner.gid);
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

export interface KeyProbe {
  /** the key logged in and the write/rename/remove probe passed */
  ok: boolean;
  /** the collector refused the key itself (Permission denied (publickey)) */
  refused: boolean;
  detail: string;
}

function destination(cam: Camera): string {
  return `${cam.user}@${cam.host.includes(':') ? `[${cam.host}]` : cam.host}`;
}

/** Options for a session with exactly one key, the pinned host key, and no prompt and no shared connection. */
function oneKeyOptions(cam: Camera, key: string): string[] {
  return [
    '-F', '/dev/null', '-i', key,
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'PasswordAuthentication=no',
    '-o', `UserKnownHostsFile=${cam.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'ConnectTimeout=10', '-o', 'UpdateHostKeys=no',
  ];
}

function why(r: RunResult): string {
  const e = r.stderr;
  if (/Permission denied \(publickey/.test(e)) return 'key refused (Permission denied (publickey))';
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(e)) return 'host key does not match the pinned one';
  if (/Could not resolve|Name or service not known/.test(e)) return 'collector name does not resolve';
  if (/timed out|No route to host|Network is unreachable/i.test(e)) return 'collector unreachable';
  if (/Connection refused/.test(e)) return 'connection refused: sshd is not listening there';
  const lines = (e || r.stdout).trim().split('\n').filter((l) => l && !l.startsWith('sftp>'));
  return lines.slice(-2).join(' / ') || `exit ${r.exitCode}`;
}

/**
 * A real SFTP session with only `key`: put to a temporary name, rename, remove — what an Allsky upload
 * needs — in the image directory.
 */
export async function probeKey(cam: Camera, key: string): Promise<KeyProbe> {
  return ownerTemp(cam, async (dir) => {
    const d = cam.imageDir ? `${cam.imageDir}/` : '';
    const batch = [`put payload ${d}${PROBE}.tmp`, `-rm ${d}${PROBE}`, `rename ${d}${PROBE}.tmp ${d}${PROBE}`, `rm ${d}${PROBE}`].join('\n') + '\n';
    const r = await asOwner(cam, 'sftp', [...oneKeyOptions(cam, key), '-P', String(cam.port), '-b', '-', destination(cam)], {
      input: batch, cwd: dir, timeoutMs: 30_000,
    });
    const refused = r.exitCode !== 0 && /Permission denied \(publickey/.test(r.stderr);
    return { ok: r.exitCode === 0, refused, detail: r.exitCode === 0 ? 'put, rename and remove accepted' : why(r) };
  });
}

/** Close a shared connection (ControlMaster) so that no upload keeps using the old key's authentication. */
export async function closeShared(cam: Camera): Promise<boolean> {
  const cp = cam.connect.controlPath;
  if (!cp) return false;
  const r = await asOwner(cam, 'ssh', ['-F', '/dev/null', '-o', `ControlPath=${cp}`, '-p', String(cam.port), '-l', cam.user, '-O', 'exit', cam.host], { timeoutMs: 10_000 });
  return r.exitCode === 0;
}

/**
 * Allsky's own upload sequence (scripts/upload.sh), as the owner, with the camera's LFTP commands and
 * ~/.lftp/rc: proves that the camera's real configuration uploads with the key now in place.
 */
export async function allskyStyleUpload(cam: Camera): Promise<{ ok: boolean; detail: string }> {
  return ownerTemp(cam, async (dir) => {
    const hostUrl = cam.host.includes(':') ? `[${cam.host}]` : cam.host;
    const name = `${PROBE}-upload`;
    const script = [
      cam.lftpCommands,
      'set dns:fatal-timeout 10; set net:max-retries 2; set net:timeout 10; set net:reconnect-interval-base 2',
      `open --user ${cam.user} --env-password -p ${cam.port} sftp://${hostUrl}`,
      'cd .',
      ...(cam.imageDir ? [`cd ${cam.imageDir}/`] : []),
      `put ${join(dir, 'payload')} -o ${name}.tmp`,
      `rm -f ${name}`,
      `mv ${name}.tmp ${name}`,
      `rm ${name}`,
    ].filter((l) => l !== '').join('\n') + '\n';
    await fs.writeFile(join(dir, 'upload.lftp'), script, { mode: 0o644 });
    const r = await asOwner(cam, 'lftp', ['-f', join(dir, 'upload.lftp')], { env: { LFTP_PASSWORD: 'n/a' }, timeoutMs: 60_000 });
    return { ok: r.exitCode === 0, detail: r.exitCode === 0 ? 'put, rm -f, mv accepted' : (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ') };
  });
}

/** The program run on the collector; tests point it at their build (a path on the collector). */
export function remoteProgram(): string {
  const p = process.env.SFTP_SETUP_REMOTE || 'sftp-setup';
  if (!/^[A-Za-z0-9@%+=:,./_-]+$/.test(p)) {
    throw new UsageError(`SFTP_SETUP_REMOTE ${JSON.stringify(p)} is not a plain program path`, 'give a path such as /usr/local/bin/sftp-setup');
  }
  return p;
}

/** The collector command line, exactly as a person would type it there. */
export function collectorLine(cam: Camera, args: string[], sudo = true): string {
  return [...(sudo ? ['sudo'] : []), 'sftp-setup', ...args.map(shellWord)].join(' ');
}

/**
 * Run `sftp-setup ARGS` on the collector over the admin's own SSH (sudo unless the admin is root). The
 * collector's host key must be known to the admin or pinned for the camera (both files are consulted).
 */
export async function viaCollector(cam: Camera, args: string[], input?: string): Promise<RunResult> {
  const via = cam.via!;
  const remote = [...(via.user === 'root' ? [] : ['sudo', '-n']), remoteProgram(), ...args.map(shellWord)].join(' ');
  const sshArgs = [
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'ControlPath=none', '-o', 'UpdateHostKeys=no',
    '-o', `UserKnownHostsFile=~/.ssh/known_hosts ${cam.knownHosts}`,
    ...(cam.port !== 22 && via.host === cam.host ? ['-p', String(cam.port)] : []),
    `${via.user}@${via.host.includes(':') ? `[${via.host}]` : via.host}`, '--', remote,
  ];
  const r = await run('ssh', sshArgs, { input: input ?? '', timeoutMs: 120_000 });
  if (r.exitCode === 255) {
    throw new FailError(
      `cannot reach the collector as ${via.user}@${via.host}: ${why(r)}`,
      'check the network and that your SSH login to the collector works, then run the same command again (the rotation continues where it stopped)',
    );
  }
  if (r.exitCode !== 0 && /sudo: a (terminal|password) is required/.test(r.stderr)) {
    throw new FailError(
      `sudo on ${via.host} asks ${via.user} for a password, which cannot be typed through --via`,
      `use --via root@${via.host}, allow ${via.user} to run sftp-setup with sudo NOPASSWD, or leave out --via and run the printed line on the collector`,
    );
  }
  return r;
}

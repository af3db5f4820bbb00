/**
 * The lftp command file Allsky's scripts/upload.sh writes for one upload to a remote server, and the reading
 * of lftp/ssh errors into a cause and a fix. Pure.
 */
import { randomBytes } from 'node:crypto';

export interface AllskyUpload {
  /** REMOTESERVER_LFTP_COMMANDS (or legacy LFTP_COMMANDS), verbatim; '' when unset. */
  lftpCommands: string;
  host: string;
  port: number;
  user: string;
  /** Remote directory relative to the login directory ('' for the login directory itself). */
  dir?: string;
  /** Several directories in one session, each relative to the login directory (instead of dir). */
  dirs?: string[];
  /** Local file to upload. */
  file: string;
  /** Final remote name. */
  dest: string;
  /** Temporary remote name (Allsky: TYPE-RANDOM). */
  temp: string;
  /** Extra commands after Allsky's sequence, in each directory (our clean-up of the test file). */
  after?: string[];
  /** Stop at the first failing command so a test run reports the step that failed; leave no trace in ~/.lftp. */
  failExit?: boolean;
  /** Print `MARK:DIR` once a directory's sequence passed, to tell which directory failed. */
  mark?: string;
}

export function tempName(type: string): string {
  return `${type}-${randomBytes(6).toString('hex')}`;
}

/** A host as lftp URLs and ssh destinations want it: IPv6 addresses in brackets. */
export const urlHost = (h: string) => (h.includes(':') ? `[${h}]` : h);

/**
 * Allsky's order: its LFTP commands, the retry/timeout settings, open with the password from the
 * environment (a dummy: the key does the work), `cd .` to make lftp connect, `cd DIR/`, then put to a
 * temporary name, remove the target and rename, so a reader never sees half a file.
 */
export function allskyUploadScript(u: AllskyUpload): string {
  const lines: string[] = [];
  // A test run leaves no trace on the camera: no transfer log entry or cwd history in ~/.lftp.
  if (u.failExit) lines.push('set cmd:fail-exit yes; set xfer:log no; set cmd:save-cwd-history no');
  if (u.lftpCommands.trim() !== '') lines.push(u.lftpCommands);
  lines.push('set dns:fatal-timeout 10; set net:max-retries 2; set net:timeout 10');
  lines.push(`open --user ${u.user} --env-password -p ${u.port} sftp://${urlHost(u.host)}`);
  lines.push('cd .');
  const dirs = u.dirs ?? [u.dir ?? ''];
  dirs.forEach((d, i) => {
    if (d !== '') lines.push(`cd ${d}/`);
    lines.push(`put ${u.file} -o ${u.temp}`);
    lines.push(`rm -f ${u.dest}`);
    lines.push(`mv ${u.temp} ${u.dest}`);
    lines.push(...(u.after ?? []));
    if (u.mark) lines.push(`echo ${u.mark}:${d}`);
    if (d !== '' && i < dirs.length - 1) lines.push(`cd ${d.split('/').map(() => '..').join('/')}`);
  });
  return lines.join('\n') + '\n';
}

export type UploadFailure =
  | { kind: 'key-refused'; detail: string }
  | { kind: 'host-key'; detail: string }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'missing-dir'; detail: string }
  | { kind: 'denied'; detail: string }
  | { kind: 'other'; detail: string };

/** Read lftp's (and the ssh under it) output into a cause. */
export function classifyUploadFailure(output: string): UploadFailure {
  const text = output.replace(/\r/g, '');
  const line = (re: RegExp) => text.split('\n').find((l) => re.test(l))?.trim() ?? text.trim().split('\n').pop()?.trim() ?? '';
  if (/Permission denied \(publickey/.test(text)) return { kind: 'key-refused', detail: line(/Permission denied/) };
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/.test(text)) {
    return { kind: 'host-key', detail: line(/Host key|IDENTIFICATION|host key/) };
  }
  if (/Connection refused|No route to host|Network is unreachable|Could not resolve|Name or service not known|Connection timed out|timed out/i.test(text)) {
    return { kind: 'unreachable', detail: line(/refused|route|unreachable|resolve|known|timed out/i) };
  }
  if (/cd: Access failed: No such file|No such file/.test(text)) return { kind: 'missing-dir', detail: line(/No such file/) };
  if (/Access failed|Permission denied/.test(text)) return { kind: 'denied', detail: line(/Access failed|Permission denied/) };
  return { kind: 'other', detail: text.trim().split('\n').slice(-2).join(' / ') };
}

/** ssh's (or sftp's) failure in a few words, for messages that go on to say what to do. */
export function describeSshFailure(r: { exitCode: number; stdout: string; stderr: string }): string {
  const e = r.stderr;
  if (/Permission denied \(publickey/.test(e)) return 'key refused (Permission denied (publickey))';
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(e)) return 'host key does not match the pinned one';
  if (/Could not resolve|Name or service not known/.test(e)) return 'collector name does not resolve';
  if (/timed out|No route to host|Network is unreachable/i.test(e)) return 'collector unreachable';
  if (/Connection refused/.test(e)) return 'connection refused: sshd is not listening there';
  const lines = (e || r.stdout).trim().split('\n').filter((l) => l && !l.startsWith('sftp>'));
  return lines.slice(-2).join(' / ') || `exit ${r.exitCode}`;
}

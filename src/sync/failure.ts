/**
 * Why an sftp session of the sync failed, from ssh's and sftp's messages and the command that was running,
 * and whether trying again later in the same run can help (only when the network is the problem). Pure.
 */

export type SyncFailureKind = 'unreachable' | 'host-key' | 'key-refused' | 'no-archive' | 'write-failed' | 'denied' | 'other';

export interface SyncFailure {
  kind: SyncFailureKind;
  /** one line: what happened */
  reason: string;
  fix?: string;
  retry: boolean;
}

const lastLine = (s: string) => s.replace(/\r/g, '').trim().split('\n').filter(Boolean).pop() ?? '';

export function classifySftpFailure(o: { stderr: string; exitCode: number; failedCommand?: string; remoteDir: string; user: string }): SyncFailure {
  const e = o.stderr.replace(/\r/g, '');
  const line = (re: RegExp) => e.split('\n').find((l) => re.test(l))?.trim() ?? lastLine(e);
  const cmd = o.failedCommand ?? '';
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/.test(e)) {
    return { kind: 'host-key', reason: `the collector's host key does not match the pinned one (${line(/host key|IDENTIFICATION/i)})`, fix: 'sftp-setup doctor, then allsky-config with the collector\'s current host key', retry: false };
  }
  if (/Permission denied \(publickey/.test(e)) {
    return { kind: 'key-refused', reason: 'the collector refused the upload key (Permission denied (publickey))', fix: 'sftp-setup doctor on the camera shows which key is offered; authorize it with keys add on the collector', retry: false };
  }
  if (cmd.startsWith(`ls -lan ${o.remoteDir}`) && /not found|No such file/.test(e)) {
    return {
      kind: 'no-archive', reason: `the collector has no ${o.remoteDir}/ directory for ${o.user}`,
      fix: `on the collector: sudo sftp-setup init --user ${o.user} (it adds ${o.remoteDir}/; with --dirs, list ${o.remoteDir} too)`, retry: false,
    };
  }
  if (/^(re)?put /.test(cmd) && /write remote .*: Failure|Couldn't write|No space left|Disk quota/i.test(e)) {
    const file = cmd.split(' ').pop()!;
    return {
      kind: 'write-failed', reason: `the collector could not store ${file} (${line(/write remote|Couldn't write|No space|quota/i)}): its disk is probably full`,
      fix: 'free space on the collector (sudo sftp-setup doctor there shows the upload tree), then run sync again: it resumes where it stopped', retry: false,
    };
  }
  if (/Connection timed out|No route to host|Network is unreachable|Connection refused|Could not resolve|Name or service not known|Temporary failure in name resolution|Connection reset|Connection closed|Broken pipe|Timeout, server|not responding|client_loop|Connection to .* closed|kex_exchange_identification/i.test(e) || o.exitCode === 255) {
    return { kind: 'unreachable', reason: `the collector did not answer or the connection broke (${line(/timed out|route|unreachable|refused|resolve|known|reset|closed|pipe|Timeout|responding|client_loop|kex_/i) || `exit ${o.exitCode}`})`, retry: true };
  }
  if (/Permission denied/.test(e)) {
    return { kind: 'denied', reason: `the collector refused ${cmd || 'a request'} (${line(/Permission denied/)})`, fix: `on the collector: sudo sftp-setup doctor --user ${o.user}`, retry: false };
  }
  return { kind: 'other', reason: `sftp failed${cmd ? ` at "${cmd}"` : ''} (exit ${o.exitCode}): ${lastLine(e) || 'no message'}`, retry: false };
}

/** The waits before each retry: base, 3×base, 9×base …, at most five minutes each. */
export function backoffDelays(retries: number, baseMs: number): number[] {
  return Array.from({ length: retries }, (_, i) => Math.min(baseMs * 3 ** i, 300_000));
}

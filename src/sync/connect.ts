/**
 * The sftp command line for a sync, from the connect-program allsky-config wrote for lftp (`ssh -F /dev/null
 * -o StrictHostKeyChecking=yes -a -x -i KEY …`): the same key, pinned known_hosts and options, handed to
 * OpenSSH's sftp, which takes most ssh options itself. sftp already turns off agent and X11 forwarding and
 * every port forward, so those flags are dropped; a flag sftp cannot pass on is refused rather than guessed.
 * Pure.
 */
import { splitWords } from '../lftp/rc.js';

export class ConnectProgramProblem extends Error {}

// ssh options that take an argument (ssh(1) SYNOPSIS).
const WITH_ARG = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));
const SAME_ARG = new Set(['i', 'F', 'o', 'J', 'c']);
const AS_OPTION: Record<string, string> = { m: 'MACs', S: 'ControlPath', b: 'BindAddress', B: 'BindInterface', l: 'User', I: 'PKCS11Provider' };
// Forwardings, tty and log settings: sftp clears or does not need them.
const DROP_ARG = new Set(['D', 'L', 'R', 'W', 'w', 'E', 'e']);
const DROP = new Set('axAtTnNkKXYyfg'.split(''));
const KEEP = new Set(['4', '6', 'C', 'q', 'v']);

/** sftp arguments (before the destination) equivalent to the connect-program's ssh command line. */
export function sftpArgsFromConnectProgram(connectProgram: string): string[] {
  const words = splitWords(connectProgram);
  const program = words[0];
  if (program === undefined) throw new ConnectProgramProblem('the connect-program is empty');
  const out: string[] = [];
  if (program !== 'ssh') {
    if (!/^\/[A-Za-z0-9._/-]*\/ssh$/.test(program)) throw new ConnectProgramProblem(`the connect-program runs ${JSON.stringify(program)}, not ssh`);
    out.push('-S', program);
  }
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('-') || w === '-' || w === '--') throw new ConnectProgramProblem(`the connect-program has a word that is not an ssh option: ${JSON.stringify(w)}`);
    for (let j = 1; j < w.length; j++) {
      const f = w[j]!;
      if (!WITH_ARG.has(f)) {
        if (KEEP.has(f)) out.push(`-${f}`);
        else if (!DROP.has(f)) throw new ConnectProgramProblem(`the connect-program uses ssh -${f}, which sync cannot pass to sftp`);
        continue;
      }
      const rest = w.slice(j + 1);
      const arg = rest !== '' ? rest : words[++i];
      if (arg === undefined) throw new ConnectProgramProblem(`the connect-program's ssh -${f} has no value`);
      if (SAME_ARG.has(f)) out.push(`-${f}`, arg);
      else if (f === 'p') out.push('-P', arg);
      else if (AS_OPTION[f]) out.push('-o', `${AS_OPTION[f]}=${arg}`);
      else if (!DROP_ARG.has(f)) throw new ConnectProgramProblem(`the connect-program uses ssh -${f}, which sync cannot pass to sftp`);
      break;
    }
  }
  return out;
}

/** What sync adds after the connect-program's options (ssh takes the first value given, so those win). */
export const SYNC_SSH_OPTIONS = [
  '-o', 'BatchMode=yes', '-o', 'UpdateHostKeys=no', '-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4',
];

export const destination = (user: string, host: string) => `${user}@${host.includes(':') ? `[${host}]` : host}`;

/** The whole sftp argument list for one batch session. */
export function sftpArgs(o: { connectProgram: string; user: string; host: string; port: number; batchFile: string; limitKbit?: number }): string[] {
  return [
    ...sftpArgsFromConnectProgram(o.connectProgram), ...SYNC_SSH_OPTIONS,
    '-P', String(o.port), ...(o.limitKbit ? ['-l', String(o.limitKbit)] : []), '-b', o.batchFile, destination(o.user, o.host),
  ];
}

import { UsageError } from '../errors.js';

export interface ConnectProgramOptions {
  /** Private key of the Allsky owner (absolute path, never the .pub file). */
  keyPath: string;
  /** Pinned known_hosts file; omitted: ssh's default for the user running lftp. */
  knownHostsPath?: string;
  /** Directory for ssh multiplexing sockets; omitted: no multiplexing. */
  controlDir?: string;
}

/*
 * Paths end up inside a double-quoted lftp argument, inside env.json or a bash
 * variable that legacy upload.sh echoes *unquoted* (word splitting, globbing),
 * so only a conservative character set is safe. `%` is refused because ssh
 * expands %-tokens in -i and UserKnownHostsFile.
 */
const SAFE_PATH = /^\/[A-Za-z0-9._+@=,:/-]*$/;

function checkPath(value: string, option: string): string {
  if (!SAFE_PATH.test(value)) {
    throw new UsageError(
      `${option} "${value}" must be an absolute path without spaces, quotes or shell special characters`,
      `use a path such as /home/pi/.ssh/allsky_ed25519 (letters, digits, . _ - + @ = , : only)`,
    );
  }
  return value;
}

/** The words that keep a user's or the system's ssh_config from changing which host key is accepted. */
export const PINNED_HOST_KEY_ARGS = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=yes'] as const;

/**
 * Does a connect-program (as read back, quotes removed) pin host-key checking the way connectProgram()
 * does? An older line (before -F /dev/null and StrictHostKeyChecking=yes) lets ~/.ssh/config weaken it.
 */
export function pinsHostKeyChecking(words: string[]): boolean {
  let config: string | undefined;
  let strict: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-F') config ??= words[++i];
    else if (w.startsWith('-F')) config ??= w.slice(2);
    else if (w === '-o' || w.startsWith('-o')) {
      const opt = w === '-o' ? words[++i] ?? '' : w.slice(2);
      const m = /^\s*StrictHostKeyChecking\s*(?:=|\s)\s*(\S+)/i.exec(opt);
      // ssh: the first value given wins.
      if (m) strict ??= m[1]!.toLowerCase();
    }
  }
  return config === '/dev/null' && strict === 'yes';
}

/** The ssh command line lftp should run for sftp:// connections. */
export function connectProgram(opts: ConnectProgramOptions): string {
  const key = checkPath(opts.keyPath, 'key path');
  if (key.endsWith('.pub')) {
    // The most common manual mistake: -i pointing at the public half.
    throw new UsageError(`key path "${key}" is a public key`, 'give the private key file (without .pub)');
  }
  // -F /dev/null: neither ~/.ssh/config nor /etc/ssh/ssh_config is read, so no `StrictHostKeyChecking no`,
  // `UserKnownHostsFile /dev/null`, KnownHostsCommand, HostKeyAlias, VerifyHostKeyDNS or ProxyCommand there
  // changes which host key is accepted; ssh's defaults apply (known_hosts in the owner's ~/.ssh, CheckHostIP no).
  // StrictHostKeyChecking=yes: a host whose key is not pinned is refused, never added (said, not defaulted).
  // -a -x: no agent/X11 forwarding; IdentitiesOnly: offer only this key;
  // BatchMode: never prompt (a prompt would hang an unattended upload);
  // UpdateHostKeys=no: an upload must not add the collector's other host keys to the pinned known_hosts
  // (keys nobody compared), nor rewrite it and leave known_hosts.old behind.
  const parts = [
    'ssh', ...PINNED_HOST_KEY_ARGS, '-a', '-x', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'UpdateHostKeys=no',
  ];
  if (opts.knownHostsPath !== undefined) {
    parts.push('-o', `UserKnownHostsFile=${checkPath(opts.knownHostsPath, 'known_hosts path')}`);
  }
  if (opts.controlDir !== undefined) {
    const dir = checkPath(opts.controlDir, 'control directory').replace(/\/+$/, '') || '/';
    const sock = dir === '/' ? '/cm-%C' : `${dir}/cm-%C`;
    parts.push('-o', 'ControlMaster=auto', '-o', `ControlPath=${sock}`, '-o', 'ControlPersist=60');
  }
  return parts.join(' ');
}

/**
 * `set sftp:connect-program "ssh …"`. Double quotes on purpose: Allsky's WebUI
 * stores `'` as an HTML entity that upload.sh never decodes.
 */
export function connectProgramSetLine(opts: ConnectProgramOptions): string {
  return `set sftp:connect-program "${connectProgram(opts)}"`;
}

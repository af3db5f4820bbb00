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

/** The ssh command line lftp should run for sftp:// connections. */
export function connectProgram(opts: ConnectProgramOptions): string {
  const key = checkPath(opts.keyPath, 'key path');
  if (key.endsWith('.pub')) {
    // The most common manual mistake: -i pointing at the public half.
    throw new UsageError(`key path "${key}" is a public key`, 'give the private key file (without .pub)');
  }
  // -a -x: no agent/X11 forwarding; IdentitiesOnly: offer only this key;
  // BatchMode: never prompt (a prompt would hang an unattended upload);
  // UpdateHostKeys=no: an upload must not add the collector's other host keys to the pinned known_hosts
  // (keys nobody compared), nor rewrite it and leave known_hosts.old behind.
  const parts = ['ssh', '-a', '-x', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'UpdateHostKeys=no'];
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

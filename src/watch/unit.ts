/**
 * The systemd unit `watch --install` writes: the watcher as a service that restarts when it fails, with as
 * little privilege as the job allows. Pure.
 *
 * Why root, and why that is still little: telling whether an upload is complete means reading which files
 * the account's SFTP sessions hold open (/proc/PID/fd), and sshd's session processes are not dumpable, so
 * only CAP_SYS_PTRACE may look; a dedicated user would need that same capability, which is worth root. So it
 * runs as root with every other capability dropped (CAP_DAC_READ_SEARCH stays, to read uploads of any mode
 * for --sha256), a read-only view of the whole system (ProtectSystem=strict, ProtectHome=read-only) but its
 * own state directory, a private /tmp and no devices, no new privileges, and the usual kernel protections.
 * An --exec command runs inside that same sandbox.
 */
import { UsageError } from '../errors.js';

export const unitName = (user: string) => `sftp-setup-watch-${user}.service`;
export const unitPath = (user: string) => `/etc/systemd/system/${unitName(user)}`;
/** RuntimeDirectory= of the service: /run/<this>, writable though the rest is read-only. */
export const stateDirName = (user: string) => `sftp-setup-watch-${user}`;

/**
 * One ExecStart= argument as systemd reads it back: double-quoted, backslash and quote escaped, `%` (a
 * specifier) and `$` (a variable) doubled. Line breaks and control characters have no safe spelling: refused.
 */
export function systemdQuote(arg: string): string {
  if (/[\u0000-\u001f\u007f]/.test(arg)) throw new UsageError(`${JSON.stringify(arg)} holds a control character, which a systemd unit cannot carry`, 'give it on one line');
  if (arg === ';') throw new UsageError('a lone ";" cannot be an argument in a systemd unit', 'give the command without it');
  return `"${arg.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

export interface WatchUnit {
  user: string;
  /** the node binary and the sftp-setup launcher this install runs */
  node: string;
  launcher: string;
  /** watch's arguments (options.ts watchArgs) */
  args: string[];
}

export function renderWatchUnit(u: WatchUnit): string {
  const exec = [u.node, u.launcher, ...u.args].map(systemdQuote).join(' ');
  return `# Managed by sftp-setup: upload events of ${u.user}. Change it with "sftp-setup watch --install",
# remove it with "sftp-setup watch --uninstall --user ${u.user}".
[Unit]
Description=sftp-setup watch: upload events of ${u.user}
Documentation=man:sftp-setup(1)
After=network-online.target ssh.service
Wants=network-online.target

[Service]
Type=simple
ExecStart=${exec}
Restart=on-failure
RestartSec=5s
# Exit 2 is bad input (the account is gone, an option is wrong): starting again cannot help.
RestartPreventExitStatus=2
# Root with two capabilities: reading which upload session still writes a file needs CAP_SYS_PTRACE (the
# sessions are not dumpable), --sha256 of an upload of any mode needs CAP_DAC_READ_SEARCH. Nothing else.
User=root
CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH
AmbientCapabilities=
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
RuntimeDirectory=${stateDirName(u.user)}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
UMask=0077

[Install]
WantedBy=multi-user.target
`;
}

/** Does the unit carry a secret (a password in a sink URL)? Then it is written 0600. */
export function holdsSecret(args: string[]): boolean {
  return args.some((a) => {
    try {
      return Boolean(new URL(a).password);
    } catch {
      return false;
    }
  });
}

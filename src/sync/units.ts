/**
 * The systemd service and timer that run `sftp-setup sync` as the Allsky owner. Pure: rendering only.
 *
 * - User=/Group= the Allsky owner: the sync reads the owner's archive with the owner's key, never as root.
 * - The interface condition is part of the command line: sync checks it before it opens any connection.
 * - Persistent=true: a run missed while the camera was off happens at the next boot.
 * - Type=oneshot: the timer never starts a second run while one is still delivering a backlog.
 */
import { UsageError } from '../errors.js';

export const UNIT_NAME = 'sftp-setup-sync';
export const UNIT_DIR = '/etc/systemd/system';
export const SERVICE_PATH = `${UNIT_DIR}/${UNIT_NAME}.service`;
export const TIMER_PATH = `${UNIT_DIR}/${UNIT_NAME}.timer`;
/** What `systemctl enable` makes for WantedBy=timers.target. */
export const WANTS_LINK = `${UNIT_DIR}/timers.target.wants/${UNIT_NAME}.timer`;
export const WANTS_TARGET = `../${UNIT_NAME}.timer`;

const MARK = '# Managed by sftp-setup: `sudo sftp-setup sync --uninstall` removes it.';

/**
 * One ExecStart word. Only words that systemd reads back unchanged (no quotes, `%` specifiers, `$`
 * variables, backslashes or spaces) are written; the options were validated to that shape already.
 */
export function execWord(word: string): string {
  if (!/^[A-Za-z0-9_@+=:,./-]+$/.test(word)) {
    throw new UsageError(`cannot put ${JSON.stringify(word)} on a systemd command line`, 'use paths and values made of letters, digits and . _ - + @ = , : /');
  }
  return word;
}

export interface UnitSpec {
  /** the Allsky owner; systemd runs the service with the owner's primary group */
  owner: string;
  /** node, the CLI, then `sync` and its options */
  command: string[];
  everyCalendar: string;
  description: string;
}

export function renderService(u: UnitSpec): string {
  return `${MARK}
[Unit]
Description=${u.description}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User=${execWord(u.owner)}
ExecStart=${u.command.map(execWord).join(' ')}
Nice=10
IOSchedulingClass=idle
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
`;
}

export function renderTimer(u: UnitSpec): string {
  return `${MARK}
[Unit]
Description=Run ${UNIT_NAME}.service on a schedule (${u.everyCalendar})

[Timer]
OnCalendar=${u.everyCalendar}
Persistent=true
RandomizedDelaySec=60
AccuracySec=1min

[Install]
WantedBy=timers.target
`;
}

/** Is this unit file one we wrote? Only those are replaced or removed. */
export const isOurUnit = (text: string) => text.startsWith('# Managed by sftp-setup');

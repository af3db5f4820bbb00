/**
 * The words the end-to-end tests speak, defined once: the upload account and its tree, the keys and
 * known_hosts files a test host uses, and the ssh options of a test client. A test names these and states
 * only its own case (the way OpenSSH's regress/test-exec.sh gives every regress script $SSH, $OBJ and
 * ssh_config, and the script says what it tries). helpers.ts re-exports all of it.
 */
import { DEFAULT_ROOT, DEFAULT_USER, KEYS_DIR, keysFileFor } from '../../src/collector/layout.js';
import { dropinFileName } from '../../src/sshd/placement.js';

export { KEYS_DIR };

/** The upload account init makes when no --user is given. */
export const USER = DEFAULT_USER;
/** Its chroot, the upload tree. */
export const ROOT = DEFAULT_ROOT;
/** Its authorized keys, root's file outside the chroot. */
export const KEYS_FILE = keysFileFor(USER);
/** The drop-in holding an account's Match block (where sshd_config includes sshd_config.d). */
export const dropIn = (user = USER) => `/etc/ssh/sshd_config.d/${dropinFileName(user)}`;

/** The camera's name for the collector (startPair writes it into the camera's /etc/hosts). */
export const COLLECTOR = 'collector';
/** ssh's destination for an upload from the camera. */
export const DEST = `${USER}@${COLLECTOR}`;

/** The upload key root makes on a test host: on the camera, or on a lone collector that logs in over loopback. */
export const TEST_KEY = '/root/upload_key';
/** Where allsky-config keeps the camera's upload key (pi's: Allsky runs as pi). */
export const CAMERA_KEY = '/home/pi/.ssh/allsky_upload';
/** pi's known_hosts on the camera, where allsky-config pins the collector's host key. */
export const PI_KNOWN_HOSTS = '/home/pi/.ssh/known_hosts';
/** The camera root's known_hosts, holding the collector's host key read from its own file (pinHostKey). */
export const KNOWN_HOSTS = '/root/kh';
/** The camera root's own key, the one `--via root@collector` logs in with (ssh's default identity). */
export const ADMIN_KEY = '/root/.ssh/id_ed25519';
/** sftp-setup as the collector's admin runs it over --via (it is not installed on a test collector). */
export const REMOTE_CLI = '/opt/sftp-setup-test/sftp-setup';

/**
 * Everything sftp-setup may write on a collector: sshd's files, the account databases (with the shadow
 * tools' "-" copies), the upload tree, the lock directories. Not all of /etc (the real machine's shows
 * through the overlays and may change under a test), nor the backups (a killed run leaves its own).
 */
export const COLLECTOR_STATE = [
  '/etc/ssh',
  ...['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid'].flatMap((f) => [`/etc/${f}`, `/etc/${f}-`]),
  ROOT, '/run/lock', '/run/sftp-setup',
];
/** Everything allsky-config may write on a camera. /root is an overlay of the real (large) one: only the parts it writes. */
export const CAMERA_FILES = ['/home/pi', '/root/.ssh', '/root/.lftp', '/root/.local/state', '/var/backups/sftp-setup'];

export interface SshOptions {
  /** -i KEY with IdentitiesOnly=yes: this key and no other */
  key?: string;
  /**
   * The known_hosts file the server's host key must be in (StrictHostKeyChecking=yes). Without one any host
   * key is accepted and none recorded: a throwaway host's key is new every run.
   */
  knownHosts?: string;
  /** ssh's LogLevel: ERROR (the default) keeps stderr to real errors, INFO shows ssh's own messages */
  logLevel?: 'QUIET' | 'ERROR' | 'INFO' | 'VERBOSE';
  /** ConnectTimeout, seconds (it bounds the key exchange too: not for a deliberate burst on a loaded machine) */
  timeout?: number;
  /** more -o options, as "Name=value" */
  extra?: string[];
}

/**
 * A test client's ssh options: no ssh_config (-F /dev/null), no prompts (BatchMode), and what `o` says. As an
 * argv array for run(), and as one shell-quoted string for scripts (`sh -c`, an lftp connect-program). ssh
 * keeps the first value it reads of an option: a test adds its own after these, never one of these again.
 */
export function sshOptions(o: SshOptions = {}): { argv: string[]; sh: string } {
  const opt = (s: string) => ['-o', s];
  const argv = [
    '-F', '/dev/null',
    ...(o.key ? ['-i', o.key, ...opt('IdentitiesOnly=yes')] : []),
    ...opt('BatchMode=yes'),
    ...(o.knownHosts
      ? [...opt(`UserKnownHostsFile=${o.knownHosts}`), ...opt('StrictHostKeyChecking=yes')]
      : [...opt('StrictHostKeyChecking=no'), ...opt('UserKnownHostsFile=/dev/null')]),
    ...(o.timeout ? opt(`ConnectTimeout=${o.timeout}`) : []),
    ...opt(`LogLevel=${o.logLevel ?? 'ERROR'}`),
    ...(o.extra ?? []).flatMap(opt),
  ];
  return { argv, sh: argv.map(shellQuote).join(' ') };
}

/** One word for sh: as it is when it holds nothing sh reads specially, else in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Who logs in where: the upload account at the collector unless said otherwise. */
export interface Login extends SshOptions {
  /** the account (default USER) */
  user?: string;
  /** the server's name or address (default COLLECTOR; a lone host logs in to 127.0.0.1) */
  target?: string;
}

/** ssh's destination for a login. */
export const destination = (who: Login = {}) => `${who.user ?? USER}@${who.target ?? COLLECTOR}`;

/**
 * Where things live on a collector. One place, so init, keys, doctor and uninstall agree.
 */
export const DEFAULT_USER = 'allsky-upload';
export const DEFAULT_ROOT = '/var/lib/allsky-uploads';

/**
 * The guide's top-level tree, plus what current Allsky writes below its image directory
 * (keograms, startrails, videos and their thumbnails under images/), plus archive/ where `sftp-setup sync`
 * delivers the camera's dated folders (archive/YYYYMMDD/…), apart from Allsky's live uploads.
 */
export const DEFAULT_DIRS = [
  'images', 'videos', 'keograms', 'startrails', 'allsky',
  'images/keograms', 'images/startrails', 'images/videos', 'images/videos/thumbnails',
  'archive',
];

/** Root-owned, outside every chroot: the upload account can never rewrite its own keys. */
export const KEYS_DIR = '/etc/ssh/sftp-setup/authorized_keys';
export const keysFileFor = (user: string) => `${KEYS_DIR}/${user}`;

/**
 * sftp-setup's run-time directory: root's, 0755, in the tmpfs /run (the lock, the probe keys, what a reload
 * still owes, sshd's version). Never the world-writable /run/lock or /tmp, where any local user could plant a
 * file, a FIFO or a link.
 */
export const RUN_DIR = '/run/sftp-setup';

/** Second AuthorizedKeysFile: temporary, loopback-only probe keys in a tmpfs (see system/probe.ts). */
export const PROBE_KEYS_PATTERN = `${RUN_DIR}/probe-keys/%u`;

export const BACKUP_ROOT = '/var/backups/sftp-setup';

/** sftp-setup's own state on a collector: root-owned, 0755. */
export const STATE_DIR = '/var/lib/sftp-setup';
/** The uids (and gids) of removed accounts whose uploads stayed: never handed to a new account (collector/uids.ts). */
export const RETIRED_IDS = `${STATE_DIR}/retired-uids`;
/**
 * The collector's lock: in root's own /run/sftp-setup (0755, writable by root only), never in the
 * world-writable /run/lock where any local user could plant a lock, a FIFO or a link (issue 9).
 */
export const LOCK_PATH = `${RUN_DIR}/lock`;

/**
 * Every directory a dir list implies, parents first: images/videos/thumbnails needs images and images/videos.
 * Names of one depth in code-point order: what English collation gives for lower-case names, digits, '.' and
 * '-', whatever the locale, without localeCompare, whose first call costs a run several milliseconds (ICU
 * loads its collation data).
 */
export function expandDirs(dirs: string[]): string[] {
  const out = new Set<string>();
  for (const d of dirs) {
    const parts = d.split('/');
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The certificate authority (sftp-setup ca init): root-only, outside every chroot, never readable by an
 * upload account. sshd reads TrustedUserCAKeys and RevokedKeys as root, so 0700 does not stop it.
 */
export const CA_DIR = '/etc/ssh/sftp-setup/ca';
export const CA = {
  userKey: `${CA_DIR}/user_ca`,
  hostKey: `${CA_DIR}/host_ca`,
  /** the next serial number to issue, one decimal line */
  serial: `${CA_DIR}/serial`,
  /** the key revocation list every certificate account's Match block names (RevokedKeys) */
  krl: `${CA_DIR}/krl`,
  /** one JSON line per certificate issued: what `keys list` shows */
  issued: `${CA_DIR}/issued.jsonl`,
} as const;

/**
 * AuthorizedPrincipalsFile: sshd opens it as the upload account (like authorized_keys), so root-owned 0644
 * in root-owned 0755 directories; it lists exactly the account's own name.
 */
export const PRINCIPALS_DIR = '/etc/ssh/sftp-setup/principals';
export const principalsFileFor = (user: string) => `${PRINCIPALS_DIR}/${user}`;

/** The global drop-in with our HostCertificate lines (read before the main file's own settings). */
export const HOST_CERT_DROPIN = '10-sftp-setup-host-certificate.conf';

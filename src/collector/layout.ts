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

/** Second AuthorizedKeysFile: temporary, loopback-only probe keys in a tmpfs (see system/probe.ts). */
export const PROBE_KEYS_PATTERN = '/run/sftp-setup/probe-keys/%u';

export const BACKUP_ROOT = '/var/backups/sftp-setup';
/**
 * The collector's lock: in root's own /run/sftp-setup (0755, writable by root only), never in the
 * world-writable /run/lock where any local user could plant a lock, a FIFO or a link (issue 9).
 */
export const LOCK_PATH = '/run/sftp-setup/lock';

/** Every directory a dir list implies, parents first: images/videos/thumbnails needs images and images/videos. */
export function expandDirs(dirs: string[]): string[] {
  const out = new Set<string>();
  for (const d of dirs) {
    const parts = d.split('/');
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}

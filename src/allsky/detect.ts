import { posix } from 'node:path';

export type AllskyGeneration = 'current' | 'legacy' | 'ancient' | 'none';

export interface AllskyPresence {
  settingsJson: boolean;
  envJson: boolean;
  ftpSettings: boolean;
  scriptsFtpSettings: boolean;
}

export interface AllskyClassification {
  generation: AllskyGeneration;
  version?: string;
  /** Files the detected generation needs but that are absent (relative to the Allsky home). */
  missing?: string[];
}

/** Generation from a version string: v2024.12.06+ current, v0.8.1 … v2023.x legacy, ≤ v0.8 ancient. */
export function generationFromVersion(version: string): AllskyGeneration | undefined {
  const dated = /^v?(\d{4})\.(\d{1,2})\.(\d{1,2})/.exec(version);
  if (dated) return Number(dated[1]) >= 2024 ? 'current' : 'legacy';
  const semver = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (semver) {
    const [maj, min, patch] = [Number(semver[1]), Number(semver[2]), Number(semver[3] ?? 0)];
    if (maj > 0 || min > 8 || (min === 8 && patch >= 1)) return 'legacy';
    return 'ancient';
  }
  return undefined;
}

/**
 * Which Allsky configuration generation is installed. The files decide (they
 * are what gets edited); ~/allsky/version only breaks ties. config/settings.json
 * alone is not enough: legacy releases had it too, for camera settings.
 */
export function classifyAllsky(present: AllskyPresence, versionText?: string): AllskyClassification {
  const version = versionText?.split(/\r?\n/)[0]?.trim() || undefined;
  const fromVersion = version !== undefined ? generationFromVersion(version) : undefined;
  let generation: AllskyGeneration;
  if (present.envJson) generation = 'current';
  else if (present.ftpSettings) generation = 'legacy';
  else if (present.scriptsFtpSettings) generation = 'ancient';
  else if (fromVersion !== undefined) generation = fromVersion;
  else if (present.settingsJson) generation = 'current';
  else generation = 'none';

  const missing: string[] = [];
  if (generation === 'current') {
    if (!present.settingsJson) missing.push('config/settings.json');
    if (!present.envJson) missing.push('env.json');
  } else if (generation === 'legacy' && !present.ftpSettings) missing.push('config/ftp-settings.sh');
  else if (generation === 'ancient' && !present.scriptsFtpSettings) missing.push('scripts/ftp-settings.sh');

  const result: AllskyClassification = { generation };
  if (version !== undefined) result.version = version;
  if (missing.length > 0) result.missing = missing;
  return result;
}

export interface AllskyPaths {
  home: string;
  /** Current: non-secret settings (a hard link to settings_<camera>_<model>.json: rewrite in place). */
  settingsJson: string;
  /** Current: secrets, in the Allsky home (not config/). */
  envJson: string;
  /** Legacy upload settings. */
  ftpSettings: string;
  /** Legacy upload switches (IMG_UPLOAD, UPLOAD_VIDEO, …). */
  configSh: string;
  /** ≤ v0.8 upload settings. */
  scriptsFtpSettings: string;
  version: string;
}

export function allskyPaths(allskyDir: string): AllskyPaths {
  const home = posix.normalize(allskyDir).replace(/(.)\/+$/, '$1');
  const at = (p: string) => posix.join(home, p);
  return {
    home,
    settingsJson: at('config/settings.json'),
    envJson: at('env.json'),
    ftpSettings: at('config/ftp-settings.sh'),
    configSh: at('config/config.sh'),
    scriptsFtpSettings: at('scripts/ftp-settings.sh'),
    version: at('version'),
  };
}

function cleanDir(dir: string): string {
  if (dir.trim() === '') return '';
  const n = posix.normalize(dir).replace(/(.)\/+$/, '$1');
  return n === '.' ? '' : n;
}

/**
 * Legacy Allsky's separate top-level directories, as siblings of the image
 * directory: `images` → images, videos, keograms, startrails.
 */
export function legacyDirs(imageDir: string): { image: string; videos: string; keograms: string; startrails: string } {
  const image = cleanDir(imageDir);
  const parent = image === '' ? '' : posix.dirname(image);
  const sib = (name: string) => (parent === '.' || parent === '' ? name : posix.join(parent, name));
  return { image, videos: sib('videos'), keograms: sib('keograms'), startrails: sib('startrails') };
}

/**
 * Directories Allsky uploads into on the collector. Allsky never creates them,
 * so they must exist before the first upload. An empty image dir means the
 * upload account's login directory, which is not listed.
 */
export function remoteDirs(imageDir: string, generation: AllskyGeneration): string[] {
  if (generation === 'none') return [];
  if (generation === 'current') {
    const d = cleanDir(imageDir);
    const sub = (p: string) => (d === '' ? p : posix.join(d, p));
    return [...(d === '' ? [] : [d]), sub('keograms'), sub('startrails'), sub('videos'), sub('videos/thumbnails')];
  }
  const l = legacyDirs(imageDir);
  return [...(l.image === '' ? [] : [l.image]), l.videos, l.keograms, l.startrails];
}

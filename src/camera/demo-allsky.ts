/**
 * A minimal Allsky install inside a throwaway host, laid out as the Allsky installer leaves it: the owner's
 * ~/allsky with config/settings.json hard-linked to config/settings_<camera>_<model>.json, env.json (mode
 * 664, group www-data), and a version file; or the legacy config/ftp-settings.sh + config/config.sh.
 * Used by `sftp-setup demo` and by the end-to-end tests (which pass in their fixture files).
 */
import type { ThrowawayHost } from '../system/hosts.js';

export interface DemoAllskyOptions {
  /** Allsky owner (created with a home when absent). Default pi. */
  user?: string;
  settingsJson?: string;
  envJson?: string;
  version?: string;
  /** Legacy generation instead: these two files and no settings.json/env.json. */
  legacy?: { ftpSettings: string; configSh: string };
  /** Camera file name settings.json is a hard link to. */
  cameraFile?: string;
}

const SETTINGS = `{
\t"cameratype": "ZWO",
\t"cameramodel": "ASI120MM",
\t"filename": "image.jpg",
\t"imageuploadfrequency": 1,
\t"timelapseupload": true,
\t"timelapseuploadthumbnail": true,
\t"keogramupload": true,
\t"startrailsupload": true,
\t"useremoteserver": false,
\t"remoteserverprotocol": "",
\t"remoteserverimagedir": ""
}
`;

const ENV = `{
\t"REMOTESERVER_HOST" : "",
\t"REMOTESERVER_PORT" : "",
\t"REMOTESERVER_USER" : "",
\t"REMOTESERVER_PASSWORD" : "",
\t"REMOTESERVER_LFTP_COMMANDS" : "",
\t"REMOTESERVER_SSH_KEY_FILE" : ""
}
`;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Returns the Allsky directory. */
export async function installDemoAllsky(host: ThrowawayHost, o: DemoAllskyOptions = {}): Promise<string> {
  const user = o.user ?? 'pi';
  if (!/^[a-z_][a-z0-9_-]*$/.test(user)) throw new Error(`bad demo user ${user}`);
  const home = `/home/${user}`;
  const dir = `${home}/allsky`;
  const put = (path: string, text: string) => `echo ${b64(text)} | base64 -d > ${path}`;
  const lines = [
    'set -e',
    `id -u ${user} >/dev/null 2>&1 || useradd -m -s /bin/bash ${user}`,
    `getent group www-data >/dev/null && usermod -a -G www-data ${user} || true`,
    `mkdir -p ${dir}/config ${dir}/scripts ${dir}/images`,
  ];
  if (o.legacy) {
    lines.push(put(`${dir}/config/ftp-settings.sh`, o.legacy.ftpSettings), put(`${dir}/config/config.sh`, o.legacy.configSh));
    lines.push(put(`${dir}/version`, o.version ?? 'v2023.05.01_04\n'));
  } else {
    const cameraFile = o.cameraFile ?? 'settings_ZWO_ASI120MM.json';
    lines.push(put(`${dir}/config/${cameraFile}`, o.settingsJson ?? SETTINGS), `ln -f ${dir}/config/${cameraFile} ${dir}/config/settings.json`);
    lines.push(put(`${dir}/env.json`, o.envJson ?? ENV), put(`${dir}/version`, o.version ?? 'v2024.12.06_02\n'));
  }
  lines.push(`chown -R ${user}:${user} ${dir}`);
  if (!o.legacy) lines.push(`chmod 664 ${dir}/env.json`, `getent group www-data >/dev/null && chgrp www-data ${dir}/env.json || true`);
  await host.sh(lines.join('\n'));
  return dir;
}

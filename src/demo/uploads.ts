/**
 * What the demo camera uploads, and the lftp command file Allsky's scripts/upload.sh writes for each upload
 * to a remote server (`--remote-server FILE DIR DEST TYPE`). Pure.
 */
import { createHash } from 'node:crypto';
import { allskyUploadScript, tempName } from '../camera/upload-script.js';
import { keogramImage, skyImage, startrailsImage, timelapseStub } from './jpeg.js';

export interface DemoFile {
  /** Allsky's upload type, used for the temporary remote name (TYPE-RANDOM) */
  type: string;
  what: string;
  /** file name on the camera, in ~/allsky/tmp */
  local: string;
  /** remote directory below the image directory ('' = the image directory itself) */
  subdir: string;
  /** final remote name */
  dest: string;
  bytes: Buffer;
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The five things current Allsky uploads, with the directories and names it uses on a remote server. */
export function demoFiles(): DemoFile[] {
  return [
    { type: 'image', what: 'image', local: 'image.jpg', subdir: '', dest: 'image.jpg', bytes: skyImage(640, 480) },
    { type: 'keogram', what: 'keogram', local: 'keogram.jpg', subdir: 'keograms', dest: 'keogram.jpg', bytes: keogramImage(960, 120) },
    { type: 'startrails', what: 'startrails', local: 'startrails.jpg', subdir: 'startrails', dest: 'startrails.jpg', bytes: startrailsImage(480, 480) },
    { type: 'timelapse', what: 'timelapse', local: 'allsky.mp4', subdir: 'videos', dest: 'allsky.mp4', bytes: timelapseStub() },
    { type: 'thumbnail', what: 'timelapse thumbnail', local: 'thumbnail.jpg', subdir: 'videos/thumbnails', dest: 'allsky.jpg', bytes: skyImage(100, 75, 7) },
  ];
}

export interface RemoteServer {
  host: string;
  port: string;
  user: string;
  /** REMOTESERVER_LFTP_COMMANDS, verbatim */
  lftpCommands: string;
  /** remoteserverimagedir */
  imageDir: string;
}

export function remoteDir(server: RemoteServer, f: DemoFile): string {
  return [server.imageDir.replace(/\/+$/, ''), f.subdir].filter(Boolean).join('/');
}

/** upload.sh's sequence for one file, built by the same code as allsky-config's test upload. */
export function uploadScript(server: RemoteServer, f: DemoFile, localPath: string): string {
  return allskyUploadScript({
    lftpCommands: server.lftpCommands,
    host: server.host,
    port: Number(server.port) || 22,
    user: server.user,
    dir: remoteDir(server, f),
    file: localPath,
    dest: f.dest,
    temp: tempName(f.type),
  });
}

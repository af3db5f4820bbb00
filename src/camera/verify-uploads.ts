/**
 * allsky-config's proof: the exact lftp sequence Allsky's upload.sh runs (put to a temporary name, rm -f,
 * mv), as the Allsky owner, into every directory Allsky writes to; and, when it fails, the fix for that
 * kind of failure.
 */
import { hostname } from 'node:os';
import { runLftpFile, withScratchDir } from '../system/lftp.js';
import { checkSftpLogin, type RunAs } from '../system/ssh-client.js';
import { readConnectProgram, splitWords } from '../lftp/rc.js';
import { allskyUploadScript, classifyUploadFailure, tempName, type UploadFailure } from './upload-script.js';

export interface UploadResult {
  dir: string;
  ok: boolean;
  ms: number;
  failure?: UploadFailure;
}

export interface UploadTarget {
  host: string;
  port: number;
  user: string;
  /** lftp's commands before the upload ('' without Allsky: plain lftp settings) */
  lftpCommands: string;
  password: string;
  dirs: string[];
}

/** One Allsky-style upload per remote directory (Allsky runs one lftp per upload), all at once, cleaned up after. */
async function testUploads(asOwner: RunAs | undefined, spec: UploadTarget): Promise<UploadResult[]> {
  return withScratchDir(asOwner, 'sftp-setup-test-', async (put) => {
    const dest = 'sftp-setup-test.txt';
    const file = await put(dest, `sftp-setup test upload from ${hostname()} at ${new Date().toISOString()}\n`);
    const scripts = await Promise.all(spec.dirs.map(async (dir, i) => ({
      dir,
      path: await put(`upload-${i}.lftp`, allskyUploadScript({ ...spec, dirs: [dir], file, dest, temp: tempName('test'), after: [`rm -f ${dest}`], failExit: true })),
    })));
    return Promise.all(
      scripts.map(async (s) => {
        const r = await runLftpFile(asOwner, s.path, spec.password);
        const ok = r.exitCode === 0;
        return { dir: s.dir === '' ? '.' : s.dir, ok, ms: Math.round(r.ms), ...(ok ? {} : { failure: classifyUploadFailure(r.output) }) };
      }),
    );
  });
}

/** One plain login first (a refused key shows in one connection, where lftp would retry for seconds), then the uploads. */
export async function verifyUploads(asOwner: RunAs | undefined, setLine: string, target: UploadTarget): Promise<UploadResult[]> {
  const login = await checkSftpLogin(asOwner, splitWords(readConnectProgram(setLine)!), target.user, target.port, target.host);
  if (login.exitCode !== 0) {
    return [{ dir: target.dirs.join(', '), ok: false, ms: 0, failure: classifyUploadFailure(login.stderr || login.stdout) }];
  }
  return testUploads(asOwner, target);
}

/** What to do about a failed test upload, by its kind. */
export function uploadFailureFix(f: UploadFailure, user: string): string {
  switch (f.kind) {
    case 'host-key':
      return `the collector's host key does not match the pinned one: the collector may be an impostor; if it was reinstalled, compare its fingerprint with what init printed there and run again with --host-key SHA256:… (or --replace-host-key)`;
    case 'missing-dir':
      return `create the directories on the collector: sudo sftp-setup init --user ${user} (its default tree has them)`;
    case 'unreachable':
      return 'check that the collector is on and sshd runs (sudo sftp-setup doctor on the collector)';
    case 'denied':
      return `the account may not write there: sudo sftp-setup doctor --user ${user} on the collector`;
    default:
      return 'run sudo sftp-setup doctor on the collector, and sftp-setup doctor here';
  }
}

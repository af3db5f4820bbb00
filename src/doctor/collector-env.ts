/**
 * The collector application's .env (guide step 8): ALLSKY_IMAGE_PATH must name the image Allsky uploads,
 * inside an upload account's chroot. The guide's most common slip is a path on the camera or a typo.
 */
import { dirname, join } from 'node:path';
import { readEnvVar } from '../collector/dotenv.js';
import { readText, statPath } from '../system/files.js';
import { fail, pass, q, warn, type DoctorCheck } from './check.js';
import { DEFAULT_USER } from '../collector/layout.js';

const ID = 'collector-env.image-path';
const TITLE = 'the collector application shows the uploaded image (ALLSKY_IMAGE_PATH)';

export async function collectorEnvCheck(file: string, accounts: Array<{ user: string; chroot?: string }>): Promise<DoctorCheck> {
  const withChroot = accounts.filter((a): a is { user: string; chroot: string } => Boolean(a.chroot));
  const expected = withChroot.map((a) => ({ user: a.user, path: join(a.chroot, 'images', 'image.jpg') }));
  const fixFor = (user = expected[0]?.user ?? DEFAULT_USER) => `sudo sftp-setup init --user ${user} --collector-env ${q(file)}`;
  const text = await readText(file);
  if (text === null) return fail(ID, TITLE, [`${file}: no such file`], { fix: fixFor() });
  const value = readEnvVar(text, 'ALLSKY_IMAGE_PATH');
  if (value === undefined) return fail(ID, TITLE, [`${file}: no ALLSKY_IMAGE_PATH line`], { fix: fixFor() });
  const evidence = [`${file}: ALLSKY_IMAGE_PATH=${value}`];
  const match = expected.find((e) => e.path === value);
  if (!match) {
    const inside = withChroot.find((a) => value.startsWith(`${a.chroot}/`));
    return fail(ID, TITLE, [...evidence, `uploads arrive at ${expected.map((e) => e.path).join(' or ') || '(no upload account)'}`], {
      reason: inside ? 'it points inside the upload tree, but not at the image Allsky uploads' : 'it points outside every upload tree, where no upload arrives',
      fix: fixFor(inside?.user),
    });
  }
  if (!(await statPath(dirname(value)))) {
    return fail(ID, TITLE, [...evidence, `${dirname(value)} does not exist`], { fix: fixFor(match.user) });
  }
  if (!(await statPath(value))) {
    return warn(ID, TITLE, [...evidence, 'no image has been uploaded yet'], { reason: 'the path is right; the first upload from the camera will create it', user: match.user });
  }
  return pass(ID, TITLE, evidence, { user: match.user });
}

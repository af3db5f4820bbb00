/**
 * The key id a certificate carries: sshd logs it at every login ("ID cam1 (serial 7)"), so it names the
 * camera. It comes from the key's comment, which the camera chose (hostile input): it only ever travels
 * as one argv word to ssh-keygen (never a shell), and control characters are made visible escapes before
 * it is signed, so the certificate, the issued log and every listing stay one line. Pure.
 */
import { UsageError } from '../errors.js';
import { printable } from '../text/printable.js';
import { show } from '../validate.js';

export const MAX_KEY_ID = 128;

/** --id as the administrator gave it: refused when it cannot be a one-line id. */
export function validateKeyId(id: string, flag = '--id'): string {
  const t = id.trim();
  if (t === '') throw new UsageError(`${flag} is empty`, 'name the camera, e.g. --id allsky-roof');
  if (printable(t) !== t) throw new UsageError(`${flag} ${show(id)} contains a control character or line break`, 'use printable characters only');
  if (t.length > MAX_KEY_ID) throw new UsageError(`${flag} is ${t.length} characters long (at most ${MAX_KEY_ID})`, 'use a shorter name');
  return t;
}

/** The id for a key: --id when given, else its comment made printable, else "<user>-serial-<N>". */
export function keyIdFor(o: { id?: string; comment: string; user: string; serial: bigint }): string {
  if (o.id !== undefined) return validateKeyId(o.id);
  const fromComment = printable(o.comment.trim()).slice(0, MAX_KEY_ID);
  return fromComment || `${o.user}-serial-${o.serial}`;
}

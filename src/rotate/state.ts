/**
 * The rotation's progress, kept in a small JSON file next to the key (`<key>.rotate.json`), so that a run
 * stopped at any point (Ctrl-C, power cut, exit 4 waiting for the collector) is continued by the next one.
 * Pure: parsing, rendering and the file names a rotation uses.
 */
import { FailError } from '../errors.js';

/** Steps reached, in order. Each is written only after its work is durable on disk (or on the collector). */
export const STEPS = ['generated', 'authorized', 'proven', 'switching', 'switched', 'old-removed'] as const;
export type RotateStep = (typeof STEPS)[number];

export interface RotateState {
  version: 1;
  step: RotateStep;
  startedAt: string;
  keyPath: string;
  oldFingerprint: string;
  oldPublicLine: string;
  newFingerprint: string;
  newPublicLine: string;
  /**
   * The camera logs in with a certificate (`<key>-cert.pub`, allsky-config --cert): the new key gets one from
   * the collector's CA instead of an authorized_keys entry, and the old key is revoked in its KRL.
   */
  certificate?: boolean;
}

export interface RotatePaths {
  key: string;
  pub: string;
  /** The new key while it is generated, authorized and proven. */
  newKey: string;
  newPub: string;
  /** The old key after the switch, until the collector refuses it. */
  oldKey: string;
  oldPub: string;
  /** The certificates beside each (ssh -i KEY loads KEY-cert.pub by itself). */
  cert: string;
  newCert: string;
  oldCert: string;
  state: string;
}

export function rotatePaths(key: string): RotatePaths {
  return {
    key,
    pub: `${key}.pub`,
    newKey: `${key}.new`,
    newPub: `${key}.new.pub`,
    oldKey: `${key}.old`,
    oldPub: `${key}.old.pub`,
    cert: `${key}-cert.pub`,
    newCert: `${key}.new-cert.pub`,
    oldCert: `${key}.old-cert.pub`,
    state: `${key}.rotate.json`,
  };
}

export function stepIndex(step: RotateStep): number {
  return STEPS.indexOf(step);
}

/** Has the rotation reached (or passed) `step`? */
export function reached(state: RotateState | null, step: RotateStep): boolean {
  return state !== null && stepIndex(state.step) >= stepIndex(step);
}

export function renderState(s: RotateState): string {
  return JSON.stringify(s, null, 2) + '\n';
}

const FP = /^SHA256:[A-Za-z0-9+/]{43}$/;

export function parseState(text: string, path: string): RotateState {
  const broken = (why: string) =>
    new FailError(
      `${path} is not a rotation state file (${why})`,
      `if no rotation is under way, check that ${path.replace(/\.rotate\.json$/, '')} is the key the camera uses, remove ${path} and run again`,
    );
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw broken('not JSON');
  }
  const o = v as Partial<RotateState> | null;
  if (!o || typeof o !== 'object' || o.version !== 1) throw broken('unknown version');
  if (!STEPS.includes(o.step as RotateStep)) throw broken(`unknown step ${JSON.stringify(o.step)}`);
  for (const k of ['startedAt', 'keyPath', 'oldPublicLine', 'newPublicLine'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') throw broken(`${k} missing`);
  }
  if (o.certificate !== undefined && typeof o.certificate !== 'boolean') throw broken('certificate is not true or false');
  if (!FP.test(String(o.oldFingerprint)) || !FP.test(String(o.newFingerprint))) throw broken('bad fingerprint');
  return o as RotateState;
}

/**
 * The new key's comment: the old key's comment (it names the camera) with the rotation date, so that
 * `keys list` on the collector tells the two apart during the overlap.
 */
export function newKeyComment(oldComment: string, fallback: string, now: Date): string {
  const base = (oldComment.trim() || fallback).replace(/\s+rotated \d{4}-\d{2}-\d{2}$/, '');
  return `${base} rotated ${now.toISOString().slice(0, 10)}`;
}

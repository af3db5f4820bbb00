/**
 * The sync's own record, a small JSON file in the Allsky owner's ~/.local/state/sftp-setup/: the last
 * successful run, the last failure and its reason, the backlog (what the camera has that the collector does
 * not yet) and the uploads in flight (so that a part file is resumed only from the file it was started
 * from). doctor reads it. Pure: parsing and updating; a damaged file reads as empty, never as an error.
 */
import type { PartRecord } from './delta.js';

export const STATE_DIR = '.local/state/sftp-setup';
export const STATE_FILE = `${STATE_DIR}/sync.json`;
export const LOCK_FILE = `${STATE_DIR}/sync.lock`;

export interface SyncState {
  version: 1;
  lastSuccess?: { at: string; files: number; bytes: number; ms: number };
  lastFailure?: { at: string; reason: string };
  /** the last run that stopped before connecting: interface down */
  lastSkip?: { at: string; reason: string };
  /**
   * files and bytes not yet on the collector; `estimated` when counted without a listing of the collector;
   * `local`: the camera's whole archive then, so that a later estimate can add what appeared since
   */
  backlog?: { at: string; files: number; bytes: number; estimated?: boolean; local?: { files: number; bytes: number } };
  /** uploads started and not yet renamed into place, by path relative to the archive root */
  parts: Record<string, PartRecord>;
}

export const emptyState = (): SyncState => ({ version: 1, parts: {} });

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length < 2000;
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

export function parseState(text: string | null): SyncState {
  if (text === null) return emptyState();
  let raw: Record<string, unknown> | undefined;
  try {
    raw = obj(JSON.parse(text));
  } catch {
    return emptyState();
  }
  if (!raw || raw.version !== 1) return emptyState();
  const s = emptyState();
  const ok = obj(raw.lastSuccess);
  if (ok && isText(ok.at) && isCount(ok.files) && isCount(ok.bytes) && isCount(ok.ms)) s.lastSuccess = { at: ok.at, files: ok.files, bytes: ok.bytes, ms: ok.ms };
  for (const k of ['lastFailure', 'lastSkip'] as const) {
    const f = obj(raw[k]);
    if (f && isText(f.at) && isText(f.reason)) s[k] = { at: f.at, reason: f.reason };
  }
  const b = obj(raw.backlog);
  const local = obj(b?.local);
  if (b && isText(b.at) && isCount(b.files) && isCount(b.bytes)) {
    s.backlog = {
      at: b.at, files: b.files, bytes: b.bytes, ...(b.estimated === true ? { estimated: true } : {}),
      ...(local && isCount(local.files) && isCount(local.bytes) ? { local: { files: local.files, bytes: local.bytes } } : {}),
    };
  }
  const parts = obj(raw.parts) ?? {};
  for (const [rel, v] of Object.entries(parts)) {
    const p = obj(v);
    if (p && isCount(p.size) && isCount(p.mtimeMs)) s.parts[rel] = { size: p.size, mtimeMs: p.mtimeMs };
  }
  return s;
}

export function renderState(s: SyncState): string {
  return JSON.stringify(s, null, 2) + '\n';
}

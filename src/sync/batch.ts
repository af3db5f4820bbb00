/**
 * The sftp batch files a sync run hands to OpenSSH's `sftp -b`. Every path in them is asserted plain
 * (names.ts) right here, whatever the caller checked before: a batch line is a command, and a name with a
 * newline or a leading `!` would be another one. Local paths are relative to the archive root (sftp runs
 * there), so the root's own path never enters a batch either. Pure.
 */
import { remotePath, type Transfer } from './delta.js';
import { assertPlain, partPath } from './names.js';

/**
 * The SFTP requests these batches make OpenSSH's sftp send: its start (realpath), `ls` (opendir, readdir,
 * lstat, stat), `put`/`reput` (stat, open, write, close, and fsync with -f), `mkdir`, `rename` (posix-rename).
 * All within the collector's allsky profile, which has no read, no setstat/fsetstat and no symlink: the sync
 * needs no profile of its own (test/unit/sync.test.ts holds the two lists together).
 */
export const SYNC_REQUESTS = ['realpath', 'opendir', 'readdir', 'lstat', 'stat', 'open', 'write', 'close', 'fsync', 'mkdir', 'posix-rename'] as const;

export interface Batch {
  text: string;
  /** the commands, as sftp echoes them (`sftp> CMD`) */
  sent: string[];
  /** for each command: the transfer it belongs to and what it does */
  meaning: Array<{ index: number; kind: 'mkdir' | 'put' | 'rename' | 'confirm' } | undefined>;
}

function build(lines: Array<[string, Batch['meaning'][number]]>): Batch {
  return { text: lines.map(([l]) => l).join('\n') + '\n', sent: lines.map(([l]) => l), meaning: lines.map(([, m]) => m) };
}

function plain(...paths: string[]): void {
  for (const p of paths) assertPlain(p);
}

/**
 * List the remote archive and every local directory's counterpart. The archive itself must exist (`ls`
 * stops the batch when it does not: init makes it); the others may be missing (`-ls` goes on).
 */
export function listingBatch(remoteDir: string, dirs: string[]): Batch {
  plain(remoteDir, ...dirs);
  return build([[`ls -lan ${remoteDir}`, undefined], ...dirs.map((d): [string, undefined] => [`-ls -lan ${remotePath(remoteDir, d)}`, undefined])]);
}

/**
 * One upload session: make the missing directories, then for each file put (or resume) it under its part
 * name, rename it into place, and, when the camera's copy is to be deleted, have sftp show the exact path's
 * size (`ls -ln PATH`). `durable` files are fsynced on the collector before the rename (`put -f`).
 */
export function uploadBatch(remoteDir: string, transfers: Transfer[], o: { mkdirs: string[]; confirm: (t: Transfer) => boolean }): Batch {
  const lines: Array<[string, Batch['meaning'][number]]> = [];
  for (const d of o.mkdirs) {
    plain(d);
    // `-`: a directory made meanwhile is fine; a real problem shows at the put that needs it.
    lines.push([`-mkdir ${remotePath(remoteDir, d)}`, { index: -1, kind: 'mkdir' }]);
  }
  transfers.forEach((t, index) => {
    const rel = t.file.rel;
    plain(remoteDir, rel);
    const final = remotePath(remoteDir, rel);
    const part = remotePath(remoteDir, partPath(rel));
    const confirm = o.confirm(t);
    const flags = confirm ? ' -f' : '';
    if (t.how === 'put') lines.push([`put${flags} ${rel} ${part}`, { index, kind: 'put' }]);
    if (t.how === 'reput') lines.push([`reput${flags} ${rel} ${part}`, { index, kind: 'put' }]);
    lines.push([`rename ${part} ${final}`, { index, kind: 'rename' }]);
    if (confirm) lines.push([`-ls -ln ${final}`, { index, kind: 'confirm' }]);
  });
  return build(lines);
}

/** Confirm files the collector already had (to delete the camera's copies): one exact-path `ls -ln` each. */
export function confirmBatch(remoteDir: string, rels: string[]): Batch {
  return build(rels.map((rel, index) => {
    plain(remoteDir, rel);
    return [`-ls -ln ${remotePath(remoteDir, rel)}`, { index, kind: 'confirm' }];
  }));
}

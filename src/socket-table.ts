/**
 * The kernel's TCP socket tables, /proc/net/tcp and /proc/net/tcp6 (pure; the callers read them): the
 * sockets in LISTEN state, for doctor's "sshd listens" check and for the wait after a reload.
 */

export interface ListeningSocket {
  port: number;
  /** the socket's inode number, as /proc/PID/fd links name it (socket:[N]); '' when the row has none */
  inode: string;
}

/** The rows in LISTEN state (st 0A): `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode`. */
export function listeningSockets(tables: string[]): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const t of tables) {
    for (const line of t.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && f[1]) out.push({ port: parseInt(f[1].split(':').pop()!, 16), inode: f[9] ?? '' });
    }
  }
  return out;
}

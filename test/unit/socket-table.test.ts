import { describe, expect, it } from 'vitest';
import { listeningSockets } from '../../src/socket-table.js';

describe('listeningSockets', () => {
  it('gives the port and inode of each LISTEN row of tcp and tcp6, and nothing of other states', () => {
    const tcp = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0\n' +
      '   1: 0100007F:0016 0100007F:D000 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 30 10 -1\n';
    const tcp6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 100 0 0 10 0\n';
    expect(listeningSockets([tcp, tcp6])).toEqual([{ port: 22, inode: '31337' }, { port: 22, inode: '31338' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { scratchOwnerPid } from '../../src/system/run-scratch.js';

describe('scratchOwnerPid', () => {
  it('the pid of the run that made the directory, from its name', () => {
    expect(scratchOwnerPid('sftp-setup-probe-4242-Ab3xYz', 'probe')).toBe(4242);
    expect(scratchOwnerPid('sftp-setup-candidate-1-q', 'candidate')).toBe(1);
  });

  it('none for a name of another kind, without a pid (made before names held one) or with a malformed one', () => {
    expect(scratchOwnerPid('sftp-setup-probe-4242-Ab3xYz', 'candidate')).toBeUndefined();
    expect(scratchOwnerPid('sftp-setup-probe-Ab3xYz', 'probe')).toBeUndefined();
    expect(scratchOwnerPid('sftp-setup-probe-0042-Ab3xYz', 'probe')).toBeUndefined();
    expect(scratchOwnerPid('sftp-setup-probe-42', 'probe')).toBeUndefined();
    expect(scratchOwnerPid('sftp-setup-probe-12345678901-x', 'probe')).toBeUndefined();
    expect(scratchOwnerPid('sftp-setup-probe--1-x', 'probe')).toBeUndefined();
  });
});

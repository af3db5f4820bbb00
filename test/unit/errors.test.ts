import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot, UsageError } from '../../src/errors.js';
import { EXIT } from '../../src/exit-codes.js';
import { EXIT as cliExit } from '../../src/cli.js';

describe('requireRoot', () => {
  const getuid = process.getuid;
  const argv = process.argv;
  afterEach(() => {
    process.getuid = getuid;
    process.argv = argv;
  });

  it('passes for root', () => {
    process.getuid = () => 0;
    expect(() => requireRoot('init changes accounts and sshd')).not.toThrow();
  });

  it('refuses anyone else with exit 2 and the same command line under sudo, quoted for the shell', () => {
    process.getuid = () => 1000;
    process.argv = ['node', '/usr/bin/sftp-setup', 'keys', 'add', 'ssh-ed25519 AAAA pi@cam', '--from', '10.0.0.0/8'];
    let err: unknown;
    try {
      requireRoot('keys add changes a root-owned file');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(EXIT.usage);
    expect((err as UsageError).message).toBe('keys add changes a root-owned file: it must run as root');
    expect((err as UsageError).fix).toBe("sudo sftp-setup keys add 'ssh-ed25519 AAAA pi@cam' --from 10.0.0.0/8");
  });
});

describe('exit codes', () => {
  it('come from one table, which the CLI re-exports', () => {
    expect(cliExit).toBe(EXIT);
    expect(new UsageError('x').exitCode).toBe(EXIT.usage);
  });
});

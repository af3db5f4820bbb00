/**
 * Command-line wiring only: commands, options, help text and exit codes. Each command's module is
 * imported when that command runs, so `--help` and a typo stay fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2, keyNotAuthorized: 3, resumable: 4 } as const;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function runAction(load: () => Promise<(opts: any) => Promise<number>>, opts: unknown): Promise<void> {
  const action = await load();
  process.exitCode = await action(opts);
}

export function buildProgram(): Command {
  const program = new Command('sftp-setup')
    .description('Locked-down, chrooted OpenSSH SFTP upload accounts, and the cameras that push to them.')
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`sftp-setup: ${str.replace(/^error: /, '')}`) })
    .addHelpText(
      'after',
      `
Typical use:
  on the collector:  sudo sftp-setup init --key 'ssh-ed25519 AAAA… pi@allsky'
  on the camera:     sftp-setup allsky-config --collector collector.local --host-key SHA256:…
  on either:         sftp-setup doctor
  to try it out:     sudo sftp-setup demo`,
    );

  program
    .command('init')
    .description('create or update an SFTP upload account on this collector (run as root)')
    .option('--user <name>', 'upload account name', 'allsky-upload')
    .option('--root <dir>', 'chroot root, also the account\'s home', '/var/lib/allsky-uploads')
    .option('--dirs <list>', 'comma-separated upload directories below the root (replaces the default list)')
    .option('--key <key>', 'public key: a key line, a .pub file, or - for stdin (repeatable)', collect, [])
    .option('--from <cidrs>', 'only accept the keys from these addresses (comma-separated CIDRs)')
    .addOption(new Option('--profile <name>', 'what the account may do').choices(['allsky', 'dropbox']).default('allsky'))
    .option('--port <n>', 'port sshd listens on (default: read from sshd)')
    .option('--adopt', 'take over an account set up by hand with the manual guide', false)
    .option('--no-verify', 'skip the end-to-end self-test')
    .option('--collector-env <file>', 'also point the collector application\'s .env at the uploaded image')
    .option('-n, --dry-run', 'print the plan with diffs and change nothing', false)
    .option('--json', 'print a machine-readable report', false)
    .option('-y, --yes', 'do not ask before changing anything', false)
    .addHelpText(
      'after',
      `
Example:
  sudo sftp-setup init --dry-run --key ~/allsky_upload.pub --from 192.168.1.0/24
  sudo sftp-setup init --yes --key ~/allsky_upload.pub --from 192.168.1.0/24`,
    )
    .action((opts) => runAction(async () => (await import('./commands/init.js')).initCommand, opts));

  program
    .command('uninstall')
    .description('remove what init created for an upload account (uploaded files stay unless --purge)')
    .requiredOption('--user <name>', 'upload account name')
    .option('--purge', 'also delete the chroot tree and every uploaded file', false)
    .option('-n, --dry-run', 'print the plan and change nothing', false)
    .option('--json', 'print a machine-readable report', false)
    .option('-y, --yes', 'do not ask before changing anything', false)
    .addHelpText('after', '\nExample:\n  sudo sftp-setup uninstall --user allsky-upload --dry-run')
    .action((opts) => runAction(async () => (await import('./commands/uninstall.js')).uninstallCommand, opts));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage mistakes get exit 2.
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    const { reportError } = await import('./report.js');
    process.exitCode = reportError(err);
  }
}

/**
 * Command-line wiring only: commands, options, help text and exit codes. Each command's module is
 * imported when that command runs, so `--help` and a typo stay fast.
 */
import { Command, CommanderError, Help, Option } from 'commander';
import { createRequire } from 'node:module';
import { DEFAULT_DIRS, DEFAULT_ROOT, DEFAULT_USER } from './collector/layout.js';
import { EXIT } from './exit-codes.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export { EXIT };

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function runAction(load: () => Promise<(opts: any) => Promise<number>>, opts: unknown): Promise<void> {
  const action = await load();
  process.exitCode = await action(opts);
}

/**
 * An option's help line without noise: a flag that is off unless given, or a list that starts empty, says
 * nothing about its default; real defaults and choices are shown as commander shows them.
 */
function optionDescription(option: Option): string {
  const quiet = option.defaultValue === false || (Array.isArray(option.defaultValue) && option.defaultValue.length === 0);
  if (!quiet) return Help.prototype.optionDescription.call(new Help(), option);
  const extra = option.argChoices ? ` (choices: ${option.argChoices.map((c) => JSON.stringify(c)).join(', ')})` : '';
  return option.description + extra;
}

export function buildProgram(): Command {
  const program = new Command('sftp-setup')
    // Set before any subcommand is added: subcommands inherit it.
    .configureHelp({ optionDescription })
    .description('Locked-down, chrooted OpenSSH SFTP upload accounts, and the cameras that push to them.')
    .version(version, '-V, --version')
    // One line, like every other error of ours: the message, then where to look.
    .configureOutput({
      outputError: (str, write) => write(`sftp-setup: ${str.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    })
    .addHelpText(
      'after',
      `
Typical use:
  on the collector:  sudo sftp-setup init --key 'ssh-ed25519 AAAA… pi@allsky'
  on the camera:     sftp-setup allsky-config --collector collector.local \\
                       --host-key SHA256:…
  on either:         sftp-setup doctor
  to try it out:     sudo sftp-setup demo`,
    );

  program
    .command('init')
    .description('create or update an SFTP upload account on this collector (run as root)')
    .option('--user <name>', 'upload account name', DEFAULT_USER)
    .option('--root <dir>', 'chroot root, also the account\'s home', DEFAULT_ROOT)
    .option('--dirs <list>', `comma-separated upload directories below the root, replacing the default list (default: ${DEFAULT_DIRS.join(', ')})`)
    .option('--key <key>', 'public key: a key line, a .pub file, or - for stdin (repeatable)', collect, [])
    .option('--from <cidrs>', 'only accept the keys from these addresses (comma-separated CIDRs)')
    .addOption(new Option('--profile <name>', 'what the account may do').choices(['allsky', 'dropbox']).default('allsky'))
    .option('--port <n>', 'port sshd listens on (default: read from sshd)')
    .option('--adopt', 'take over an account set up by hand with the manual guide', false)
    .option('--no-verify', 'skip the end-to-end self-test')
    .option('--collector-env <file>', 'also point the collector application\'s .env at the uploaded image')
    .option('--protect-mount', 'mount the upload tree nosuid,nodev,noexec (a bind mount in /etc/fstab, mounted now)', false)
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

  const keys = program.command('keys').description('manage the keys of an upload account (collector) or rotate the camera\'s key');
  keys
    .command('list')
    .description('list the keys an upload account accepts (collector)')
    .option('--user <name>', 'upload account name', DEFAULT_USER)
    .option('--json', 'print a machine-readable list', false)
    .addHelpText('after', '\nExample:\n  sudo sftp-setup keys list --user allsky-upload')
    .action((opts) => runAction(async () => (await import('./commands/keys.js')).keysListCommand, opts));
  keys
    .command('add')
    .description('authorize a key for an upload account (collector)')
    .argument('<key>', 'a public key line, a .pub file, or - for stdin')
    .option('--user <name>', 'upload account name', DEFAULT_USER)
    .option('--from <cidrs>', 'only accept the key from these addresses (comma-separated CIDRs); updates a key already present')
    .option('-n, --dry-run', 'print the change and make none', false)
    .option('--json', 'print a machine-readable report', false)
    .addHelpText('after', "\nExample:\n  sudo sftp-setup keys add --user allsky-upload 'ssh-ed25519 AAAA… pi@allsky' \\\n    --from 192.168.1.0/24")
    .action((key, opts) => runAction(async () => (await import('./commands/keys.js')).keysAddCommand, { ...opts, key }));
  keys
    .command('remove')
    .description('revoke a key of an upload account, by fingerprint or comment (collector)')
    .argument('<selector>', 'SHA256:… fingerprint or the key\'s comment')
    .option('--user <name>', 'upload account name', DEFAULT_USER)
    .option('--force', 'allow removing the last key', false)
    .option('-n, --dry-run', 'print the change and make none', false)
    .option('--json', 'print a machine-readable report', false)
    .addHelpText('after', '\nExample:\n  sudo sftp-setup keys remove --user allsky-upload SHA256:abc…')
    .action((selector, opts) => runAction(async () => (await import('./commands/keys.js')).keysRemoveCommand, { ...opts, selector }));
  keys
    .command('rotate')
    .description('replace the camera\'s upload key with a new one, without a moment of lock-out (camera)')
    .option('--via <admin@collector>', 'authorize and revoke on the collector over your own SSH access')
    .option('--allsky-dir <dir>', 'the Allsky install (default: found in the users\' homes)')
    .option('--key <path>', 'the current private key (default: ~/.ssh/allsky_upload)')
    .option('-n, --dry-run', 'print the plan and change nothing', false)
    .option('--json', 'print a machine-readable report', false)
    .option('-y, --yes', 'do not ask; without --via, stop in a resumable state after printing the collector command', false)
    .addHelpText('after', '\nExample:\n  sftp-setup keys rotate --via admin@collector.local')
    .action((opts) => runAction(async () => (await import('./commands/rotate.js')).keysRotateCommand, opts));

  program
    .command('allsky-config')
    .description('configure this Allsky camera to upload to a collector over SFTP (camera)')
    .option('--collector <host>', 'collector host name or address')
    .option('--port <n>', 'collector SSH port', '22')
    .option('--user <name>', 'upload account on the collector', DEFAULT_USER)
    .option('--host-key <fingerprint>', 'pin the collector\'s host key (SHA256:…, as init printed it)')
    .option('--replace-host-key', 'replace a pinned collector host key that changed, without --host-key (only after checking the new one: the collector may be an impostor)', false)
    .option('--key <path>', 'upload key (default: ~/.ssh/allsky_upload of the Allsky owner)')
    .option('--allsky-dir <dir>', 'the Allsky install (default: found in the users\' homes)')
    .option('--no-allsky', 'write only the key, known_hosts and lftp configuration')
    .option('--image-dir <dir>', 'directory on the collector for images', 'images')
    .option('--via <admin@collector>', 'authorize the key on the collector over your own SSH access')
    .option('--multiplex', 'share one SSH connection between uploads (ControlMaster)', false)
    .option('--no-test', 'skip the test upload')
    .option('-n, --dry-run', 'print the plan with diffs and change nothing', false)
    .option('--json', 'print a machine-readable report', false)
    .option('-y, --yes', 'do not ask (trusts an unpinned host key on first use, with a warning; never replaces a pinned one)', false)
    .addHelpText(
      'after',
      `
Exit codes: ${EXIT.ok} done, ${EXIT.failed} failed, ${EXIT.usage} bad input, ${EXIT.keyNotAuthorized} configured but the collector does
not accept the key yet.

Example:
  sftp-setup allsky-config --collector collector.local --host-key SHA256:abc… \\
    --yes
  sudo sftp-setup allsky-config --collector collector.local \\
    --via admin@collector.local`,
    )
    .action((opts) => runAction(async () => (await import('./commands/allsky-config.js')).allskyConfigCommand, opts));

  program
    .command('doctor')
    .description('check this collector or camera; for each problem: the cause, the evidence and the fix')
    .addOption(new Option('--role <role>', 'which side to check (default: detected)').choices(['collector', 'camera']))
    .option('--user <name>', 'upload account to check (collector; default: all)')
    .option('--allsky-dir <dir>', 'the Allsky install (camera)')
    .option('--collector-env <file>', 'also check the collector application\'s .env (collector)')
    .option('--fix', 'apply the fixes that are safe to automate, then check again', false)
    .option('-n, --dry-run', 'with --fix: print what would be fixed', false)
    .option('--no-probe', 'skip the live SFTP probe')
    .option('--json', 'print a machine-readable report', false)
    .addHelpText('after', `\nExit codes: ${EXIT.ok} nothing failed, ${EXIT.failed} something failed, ${EXIT.usage} bad input.\n\nExample:\n  sudo sftp-setup doctor\n  sudo sftp-setup doctor --fix --dry-run`)
    .action((opts) => runAction(async () => (await import('./commands/doctor.js')).doctorCommand, opts));

  program
    .command('status')
    .description('one line per upload account: keys, last upload, failed logins, disk use (collector, run as root)')
    .option('--user <name>', 'only this upload account (default: all that sftp-setup manages)')
    .option('--json', 'print a machine-readable report', false)
    .addHelpText('after', '\nExample:\n  sudo sftp-setup status\n  sudo sftp-setup status --user allsky-upload --json')
    .action((opts) => runAction(async () => (await import('./commands/status.js')).statusCommand, opts));

  program
    .command('demo')
    .description('both ends in throwaway hosts: init, allsky-config, real uploads and doctor, then gone (root, Linux)')
    .option('--json', 'print a machine-readable summary', false)
    .addHelpText('after', '\nExample:\n  sudo sftp-setup demo')
    .action((opts) => runAction(async () => (await import('./commands/demo.js')).demoCommand, opts));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that went away (`sftp-setup --help | head -1`) ends the run quietly, not with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? 0);
    });
  }
  const program = buildProgram();
  // Every level, so that a usage mistake in a sub-subcommand (keys add --frm) also exits 2.
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
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

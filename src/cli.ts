/**
 * Command-line wiring only: commands, options, help text and exit codes. Each command's module is
 * imported when that command runs, so `--help` and a typo stay fast.
 */
import { Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander';
import { createRequire } from 'node:module';
import { DEFAULT_DIRS, DEFAULT_ROOT, DEFAULT_USER } from './collector/layout.js';
import { EXIT } from './exit-codes.js';
import { DEFAULT_LOCK_WAIT_SECONDS, MAX_LOCK_WAIT_SECONDS, parseWaitSeconds } from './lock.js';
import { DEFAULT_KEEP_BACKUPS, parseKeepBackups } from './backup-rules.js';
import { UsageError } from './errors.js';
import { outputWidth, watchStdout, writeOut } from './system/stdout.js';
import { colorsOn } from './text/color.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export { EXIT };

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * `--wait SECONDS`, declared here once for every command that takes the run lock: how long to wait for
 * another sftp-setup run to finish before giving up (runAction hands it to the lock).
 */
function lockWaitOption(): Option {
  return new Option('--wait <seconds>', 'wait this long for another sftp-setup run to finish (0: fail at once)')
    .default(DEFAULT_LOCK_WAIT_SECONDS)
    .argParser((v: string) => {
      const n = parseWaitSeconds(v);
      if (n === null) throw new InvalidArgumentError(`give a whole number of seconds from 0 to ${MAX_LOCK_WAIT_SECONDS}.`);
      return n;
    });
}

/**
 * The options every changing command shares, declared once: -n/--dry-run, --json, -y/--yes (yes: null for a
 * command that never asks: keys add/remove/sign/revoke run unattended over --via) and --wait for the lock.
 * Texts may be more precise per command; the flags and their defaults are the same everywhere.
 */
function changing(cmd: Command, o: { dryRun: string; json?: string; yes?: string | null }): Command {
  cmd.option('-n, --dry-run', o.dryRun, false).option('--json', o.json ?? 'print a machine-readable report', false);
  if (o.yes !== null) cmd.option('-y, --yes', o.yes ?? 'do not ask before changing anything', false);
  return cmd.addOption(lockWaitOption());
}

async function runAction(load: () => Promise<(opts: any) => Promise<number>>, opts: unknown): Promise<void> {
  const action = await load();
  const wait = (opts as { wait?: unknown }).wait;
  if (typeof wait === 'number') {
    // A changing command (they all take --wait): its settings from the environment are checked before it starts.
    const keep = process.env.SFTP_SETUP_KEEP_BACKUPS;
    if (keep !== undefined && parseKeepBackups(keep) === null) {
      throw new UsageError(`SFTP_SETUP_KEEP_BACKUPS=${JSON.stringify(keep)} is not a number of backups to keep`, `give a whole number from 1 to 1000, or unset it (default ${DEFAULT_KEEP_BACKUPS})`);
    }
    (await import('./system/lock.js')).setLockWait(wait);
  }
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

/**
 * Add the commands of a table (the top level's, a group's): only the one `word` names, or all of them when it
 * names none of them (for the list, and a typo's hint).
 */
function addChosen(table: Array<[string, () => void]>, word: string | undefined): void {
  const one = table.some(([name]) => name === word) ? word : undefined;
  for (const [name, add] of table) if (one === undefined || name === one) add();
}

/** The top-level commands that only group others (keys list, ca init): no options, no action of their own. */
const GROUPS = new Set(['keys', 'ca']);

/**
 * The whole program (`all`: the man page, the completion script), or with `command` naming one of its
 * top-level commands, the program with just that one: commander builds every option object up front, and a
 * run that names its command has no use for the others (a name that is not a command, such as `help` or a
 * typo, gets them all, for the list and the hint). `list`: each command's name and summary only, for a run
 * that names none (--help, --version, no arguments), which can only print the list.
 */
export function buildProgram(scope: 'all' | 'list' | { command: string; sub?: string } = 'all'): Command {
  const program = new Command('sftp-setup')
    // Set before any subcommand is added: subcommands inherit it.
    .configureHelp({ optionDescription })
    .description('Locked-down, chrooted OpenSSH SFTP upload accounts, and the cameras that push to them.')
    .version(version, '-V, --version')
    // One line, like every other error of ours: the message, then where to look.
    .configureOutput({
      // Help and --version through writeOut, the width from it and colours as the rest of our output decides
      // them: commander's own ask process.stdout, which would make the stream for them (system/stdout.ts).
      writeOut,
      getOutHelpWidth: () => outputWidth() || 80, // commander's own width when it is not a terminal
      getOutHasColors: colorsOn,
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

  // Each top-level command: its name, its line in the list, and the function that adds the rest (options,
  // subcommands, help, action), so that a run builds only the one it runs (see main).
  const commands: Array<[string, string, (cmd: Command, sub: string | undefined) => void]> = [
    ['init', 'create or update an SFTP upload account on this collector (run as root)', (cmd) => {
      changing(cmd
        .option('--user <name>', 'upload account name', DEFAULT_USER)
        .option('--root <dir>', 'chroot root, also the account\'s home', DEFAULT_ROOT)
        .option('--dirs <list>', `comma-separated upload directories below the root, replacing the default list (default: ${DEFAULT_DIRS.join(', ')})`)
        .option('--key <key>', 'public key: a key line, a .pub file, or - for stdin (repeatable)', collect, [])
        .option('--from <cidrs>', 'only accept the keys from these addresses (comma-separated CIDRs)')
        .addOption(new Option('--profile <name>', 'what the account may do').choices(['allsky', 'dropbox']).default('allsky'))
        .option('--port <n>', 'port sshd listens on (default: read from sshd)')
        .option('--adopt', 'take over an account set up by hand with the manual guide', false)
        .option('--take-over-uploads', 'give the uploads a removed account left in --root (owned by a uid no account has) to this account; without it init refuses such a --root', false)
        .option('--no-verify', 'skip the end-to-end self-test')
        .option('--collector-env <file>', 'also point the collector application\'s .env at the uploaded image')
        .option('--protect-mount', 'mount the upload tree nosuid,nodev,noexec (a bind mount in /etc/fstab, mounted now)', false)
        .option('--ca', 'also accept camera certificates signed by this collector\'s CA, for this account\'s name only (see: ca init)', false)
        .option('--log', 'log every upload (internal-sftp -l INFO, the log socket bound into the chroot; default: on where the host has journald or a syslog daemon)')
        .option('--no-log', 'do not log uploads (and undo --log)'), { dryRun: 'print the plan with diffs and change nothing' })
        .addHelpText(
          'after',
          `
Example:
  sudo sftp-setup init --dry-run --key ~/allsky_upload.pub --from 192.168.1.0/24
  sudo sftp-setup init --yes --key ~/allsky_upload.pub --from 192.168.1.0/24`,
        )
        .action((opts) => runAction(async () => (await import('./commands/init.js')).initCommand, opts));
    }],
    ['uninstall', 'remove what init created for an upload account and revoke its certificates (uploaded files stay unless --purge)', (cmd) => {
      changing(cmd
        .requiredOption('--user <name>', 'upload account name')
        .option('--purge', 'also delete the chroot tree and every uploaded file', false), { dryRun: 'print the plan and change nothing' })
        .addHelpText('after', '\nExample:\n  sudo sftp-setup uninstall --user allsky-upload --dry-run')
        .action((opts) => runAction(async () => (await import('./commands/uninstall.js')).uninstallCommand, opts));
    }],
    ['keys', 'manage the keys of an upload account (collector) or rotate the camera\'s key', (keys, sub) => {
      // Like the top level: a run that names its subcommand builds only that one.
      addChosen([
        ['list', () => {
          keys
            .command('list')
            .description('list the keys an upload account accepts (collector)')
            .option('--user <name>', 'upload account name', DEFAULT_USER)
            .option('--json', 'print a machine-readable list', false)
            .addHelpText('after', '\nExample:\n  sudo sftp-setup keys list --user allsky-upload')
            .action((opts) => runAction(async () => (await import('./commands/keys-list.js')).keysListCommand, opts));
        }],
        ['add', () => {
          changing(keys
            .command('add')
            .description('authorize a key for an upload account (collector)')
            .argument('<key>', 'a public key line, a .pub file, or - for stdin')
            .option('--user <name>', 'upload account name', DEFAULT_USER)
            .option('--from <cidrs>', 'only accept the key from these addresses (comma-separated CIDRs); updates a key already present'), { dryRun: 'print the change and make none', yes: null })
            .addHelpText('after', "\nExample:\n  sudo sftp-setup keys add --user allsky-upload 'ssh-ed25519 AAAA… pi@allsky' \\\n    --from 192.168.1.0/24")
            .action((key, opts) => runAction(async () => (await import('./commands/keys.js')).keysAddCommand, { ...opts, key }));
        }],
        ['remove', () => {
          changing(keys
            .command('remove')
            .description('revoke a key of an upload account, by fingerprint or comment (collector)')
            .argument('<selector>', 'SHA256:… fingerprint or the key\'s comment')
            .option('--user <name>', 'upload account name', DEFAULT_USER)
            .option('--force', 'allow removing the last key', false), { dryRun: 'print the change and make none', yes: null })
            .addHelpText('after', '\nExample:\n  sudo sftp-setup keys remove --user allsky-upload SHA256:abc…')
            .action((selector, opts) => runAction(async () => (await import('./commands/keys.js')).keysRemoveCommand, { ...opts, selector }));
        }],
        ['sign', () => {
          changing(keys
            .command('sign')
            .description('certify a camera\'s key for an upload account with the CA: no authorized_keys entry needed (collector)')
            .argument('<key>', 'the camera\'s public key line, its .pub file, or - for stdin')
            .option('--user <name>', 'upload account name (the only principal)', DEFAULT_USER)
            .option('--id <name>', 'key id sshd logs at each login (default: the key\'s comment)')
            .option('--valid <interval>', 'validity as ssh-keygen -V reads it (START:END, e.g. -1d:+26w)', 'always:+52w'), { dryRun: 'print what would be signed and sign nothing', json: 'print a machine-readable report with the certificate', yes: null })
            .addHelpText('after', "\nExample:\n  sudo sftp-setup keys sign --user allsky-upload ~/roof.pub > roof-cert.pub")
            .action((key, opts) => runAction(async () => (await import('./commands/keys-cert.js')).keysSignCommand, { ...opts, key }));
        }],
        ['revoke', () => {
          changing(keys
            .command('revoke')
            .description('revoke a certificate (by serial or -cert.pub) or a key and all its certificates, at once (collector)')
            .argument('<what>', 'a serial number, a -cert.pub or .pub file, a key line, or - for stdin'), { dryRun: 'print the change and make none', yes: null })
            .addHelpText('after', '\nExample:\n  sudo sftp-setup keys revoke 7')
            .action((what, opts) => runAction(async () => (await import('./commands/keys-cert.js')).keysRevokeCommand, { ...opts, what }));
        }],
        ['rotate', () => {
          changing(keys
            .command('rotate')
            .description('replace the camera\'s upload key with a new one, without a moment of lock-out (camera)')
            .option('--via <admin@collector>', 'authorize (or certify) and revoke on the collector over your own SSH access')
            .option('--allsky-dir <dir>', 'the Allsky install (default: found in the users\' homes)')
            .option('--key <path>', 'the current private key (default: ~/.ssh/allsky_upload)'), { dryRun: 'print the plan and change nothing', yes: 'do not ask; without --via, stop in a resumable state after printing the collector command' })
            .addHelpText('after', '\nExample:\n  sftp-setup keys rotate --via admin@collector.local')
            .action((opts) => runAction(async () => (await import('./commands/rotate.js')).keysRotateCommand, opts));
        }],
      ], sub);
    }],
    ['ca', 'the certificate authority for cameras and this collector\'s host keys (collector)', (ca) => {
      changing(ca
        .command('init')
        .description('create the CA (root-only, outside every chroot) and sign the host keys; again to re-sign, or to rebuild a lost KRL from the CA\'s record (run as root)')
        .option('--name <host>', 'a name or address cameras use for this collector (repeatable; default: host name, NAME.local, its addresses)', collect, []), { dryRun: 'print the plan with diffs and change nothing' })
        .addHelpText('after', '\nExample:\n  sudo sftp-setup ca init --name collector.local --name 192.168.1.10')
        .action((opts) => runAction(async () => (await import('./commands/ca.js')).caInitCommand, opts));
    }],
    ['allsky-config', 'configure this Allsky camera to upload to a collector over SFTP (camera)', (cmd) => {
      changing(cmd
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
        .option('--cert', 'with --via: have the collector\'s CA certify the key (KEY-cert.pub) and trust its host CA, instead of authorized_keys and a pinned host key', false)
        .option('--multiplex', 'share one SSH connection between uploads (ControlMaster)', false)
        .option('--no-test', 'skip the test upload'), { dryRun: 'print the plan with diffs and change nothing', yes: 'do not ask (trusts an unpinned host key on first use, with a warning; never replaces a pinned one)' })
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
    }],
    ['sync', 'deliver the camera\'s Allsky archive (dated folders, keograms, startrails, timelapses) to archive/ on the collector (camera)', (cmd) => {
      changing(cmd
        .option('--allsky-dir <dir>', 'the Allsky install (default: found in the users\' homes)')
        .option('--from <dir>', 'the archive to deliver: dated YYYYMMDD folders (default: images/ of the Allsky install)')
        .option('--remote-dir <dir>', 'directory on the collector', 'archive')
        .option('--collector <host>', 'collector host (default: from Allsky\'s settings)')
        .option('--port <n>', 'collector SSH port (default: from Allsky\'s settings)')
        .option('--user <name>', 'upload account on the collector (default: from Allsky\'s settings)')
        .option('--only-when-interface <name>', 'only while this network interface is up with a carrier; else exit 0 without connecting')
        .option('--limit-rate <rate>', 'bandwidth cap in bytes per second (K and M suffixes), e.g. 500K')
        .option('--retries <n>', 'retries after a network failure, waiting longer each time', '3')
        .option('--min-age <seconds>', 'leave files changed more recently than this for the next run', '120')
        .option('--delete-after-upload <dir>', 'delete files below this directory of the archive once the collector has their exact size (a spool)')
        .option('--install', 'install a systemd timer that runs sync as the Allsky owner with these options (root)', false)
        .option('--uninstall', 'remove the systemd timer (root)', false)
        .option('--every <minutes>', 'with --install: how often the timer runs', '15'), { dryRun: 'list what would be sent (or the timer\'s plan) and change nothing', yes: 'do not ask before installing or removing the timer' })
        .addHelpText(
          'after',
          `
Example:
  sftp-setup sync --only-when-interface wlan0 --limit-rate 500K
  sudo sftp-setup sync --install --only-when-interface wlan0 --every 15`,
        )
        .action((opts) => runAction(async () => (await import('./commands/sync.js')).syncCommand, opts));
    }],
    ['doctor', 'check this collector or camera; for each problem: the cause, the evidence and the fix', (cmd) => {
      cmd
        .addOption(new Option('--role <role>', 'which side to check (default: detected)').choices(['collector', 'camera']))
        .option('--user <name>', 'upload account to check (collector; default: all)')
        .option('--allsky-dir <dir>', 'the Allsky install (camera)')
        .option('--collector-env <file>', 'also check the collector application\'s .env (collector)')
        .option('--fix', 'apply the fixes that are safe to automate, then check again', false)
        .option('-n, --dry-run', 'with --fix: print what would be fixed', false)
        .option('--no-probe', 'skip the live SFTP probe')
        .option('--probe-all', 'probe every upload account live (collector; by default, above 8 accounts, one of each group of alike accounts)', false)
        .option('--json', 'print a machine-readable report', false)
        .addOption(lockWaitOption())
        .addHelpText('after', `\nExit codes: ${EXIT.ok} nothing failed, ${EXIT.failed} something failed, ${EXIT.usage} bad input.\n\nExample:\n  sudo sftp-setup doctor\n  sudo sftp-setup doctor --fix --dry-run`)
        .action((opts) => runAction(async () => (await import('./commands/doctor.js')).doctorCommand, opts));
    }],
    ['watch', 'an event for each completed upload: printed, run as a command, POSTed, or published to MQTT (collector, root)', (cmd) => {
      cmd
        .option('--user <name>', 'upload account to watch', DEFAULT_USER)
        .option('--exec <command>', 'run this command (with sh -c) for each event: the event in SFTP_SETUP_* variables and as JSON on stdin, never in the command line')
        .option('--http <url>', 'POST each event as JSON to this URL (10 s timeout, 3 retries)')
        .option('--mqtt <url>', 'publish each event to this MQTT broker (QoS 1; the latest image retained)')
        .option('--mqtt-topic <prefix>', 'topic prefix: events go to <prefix>/<account>/<kind>', 'sftp-setup')
        .option('--sha256', 'add the sha256 of each uploaded file', false)
        .option('--queue <n>', 'events each sink holds while it fails, then the oldest go', '1000')
        .option('--json', 'print each event as one line of JSON', false)
        .option('--install', 'install and start it as a systemd service with these options instead', false)
        .option('--uninstall', 'stop and remove that service', false)
        .option('-n, --dry-run', 'with --install/--uninstall: print the plan and change nothing', false)
        .option('-y, --yes', 'with --install/--uninstall: do not ask', false)
        .addHelpText('after', `
Temporary names (Allsky's TYPE-RANDOM, hidden names, *.tmp, *.part) make no
event; the rename that puts the final name in place does.

Example:
  sudo sftp-setup watch --mqtt mqtt://127.0.0.1:1883 --sha256
  sudo sftp-setup watch --install --http http://127.0.0.1:8080/uploads`)
        .action((opts) => runAction(async () => (await import('./commands/watch.js')).watchCommand, opts));
    }],
    ['status', 'one line per upload account: keys, last upload, failed logins, disk use, archived days (collector, run as root)', (cmd) => {
      cmd
        .option('--user <name>', 'only this upload account (default: all that sftp-setup manages)')
        .option('--json', 'print a machine-readable report', false)
        .addHelpText('after', '\nExample:\n  sudo sftp-setup status\n  sudo sftp-setup status --user allsky-upload --json')
        .action((opts) => runAction(async () => (await import('./commands/status.js')).statusCommand, opts));
    }],
    ['demo', 'both ends in throwaway hosts: init, allsky-config, real uploads and doctor, then gone (root, Linux)', (cmd) => {
      cmd
        .option('--json', 'print a machine-readable summary', false)
        .addHelpText('after', '\nExample:\n  sudo sftp-setup demo')
        .action((opts) => runAction(async () => (await import('./commands/demo.js')).demoCommand, opts));
    }],
  ];
  if (scope === 'list') {
    // Names and summaries only; the term a command would have once built (`init [options]`, `keys`) comes
    // from what it is: a group (keys, ca) takes no options of its own, every other command takes some. The
    // unit test holds this help to the whole program's.
    const leaves = new Set<Command>();
    for (const [name, about] of commands) {
      const cmd = program.command(name).description(about);
      if (!GROUPS.has(name)) leaves.add(cmd);
    }
    program.configureHelp({
      optionDescription,
      subcommandTerm: (cmd) => (leaves.has(cmd) ? `${cmd.name()} [options]` : Help.prototype.subcommandTerm.call(new Help(), cmd)),
    });
    return program;
  }
  const [command, subcommand] = scope === 'all' ? [] : [scope.command, scope.sub];
  addChosen(commands.map(([name, about, add]) => [name, () => add(program.command(name).description(about), subcommand)]), command);

  return program;
}

export async function main(argv: string[]): Promise<void> {
  watchStdout();
  // Options before the command take no value (-V, -h), so the first word that is not one names it.
  // The second word names a group's subcommand (keys list); for any other command it is ignored.
  const [word, sub] = argv.slice(2).filter((a) => !a.startsWith('-'));
  const program = buildProgram(word === undefined ? 'list' : { command: word, sub });
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

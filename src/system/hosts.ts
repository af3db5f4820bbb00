/**
 * Throwaway hosts for the demo and the end-to-end tests.
 *
 * A host is a set of fresh namespaces (mount, pid, uts, net) whose /etc, /var, /home, /root, /run, /tmp, /srv
 * and /opt are copy-on-write overlays of the real ones, kept in a tmpfs that exists only inside the host.
 * useradd, sshd_config edits and keys stay inside and vanish when the host's PID 1 is killed. Nothing is
 * named globally (no `ip netns add`), so a crashed run leaves nothing behind: the namespaces die with their
 * last process, and a parent-death signal kills the host when the process that made it dies.
 */
import { execa, type ResultPromise } from 'execa';
import { readFile } from 'node:fs/promises';
import { FailError } from '../errors.js';
import { run, type RunOptions, type RunResult } from './exec.js';

const OVERLAID = ['etc', 'var', 'home', 'root', 'run', 'tmp', 'srv', 'opt'];

// Runs as PID 1 of the new pid namespace. The upper layers live on a tmpfs mounted over /mnt, which only this
// mount namespace sees. The host must not see the real systemd: tools inside would otherwise reload the
// real machine's sshd through it.
const INIT_SCRIPT = `
set -e
mount -t tmpfs -o mode=0755 sftp-setup-host /mnt
for d in ${OVERLAID.join(' ')}; do
  [ -d "/$d" ] || continue
  mkdir -p "/mnt/$d/u" "/mnt/$d/w"
  # The merged root takes the upper dir's mode: keep /tmp 1777 so that non-root users can write there.
  chmod --reference="/$d" "/mnt/$d/u"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=/mnt/$d/u,workdir=/mnt/$d/w" "/$d"
done
mount -t proc proc /proc
rm -rf /run/systemd /run/dbus /run/sshd.pid /run/host-ready
mkdir -p /run/sshd
ip link set lo up
hostname "$1"
# Own host keys, so that two hosts (and the real machine) never share one.
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
ssh-keygen -q -t ed25519 -N '' -C "root@$1" -f /etc/ssh/ssh_host_ed25519_key
ssh-keygen -q -t ecdsa -N '' -C "root@$1" -f /etc/ssh/ssh_host_ecdsa_key
: > /run/host-ready
# Stay alive and reap orphans (bash reaps any child on SIGCHLD). SIGTERM from inside is ignored.
trap '' TERM INT HUP
while :; do sleep 3600 & wait $! || true; done
`;

export interface HostRunOptions extends RunOptions {
  /** run as this user (uid, gid and groups from the host's /etc/passwd); HOME, USER and LOGNAME follow */
  user?: string;
}

export class ThrowawayHost {
  /** Added to every startSshd() (the tests exempt their camera from OpenSSH 9.8+'s PerSourcePenalties). */
  sshdArgs: string[] = [];

  constructor(
    readonly name: string,
    /** PID of the host's init, as seen from outside */
    readonly pid: number,
    private readonly launcher: ResultPromise,
  ) {}

  private prefix(opts: HostRunOptions): string[] {
    const p = ['nsenter', '-t', String(this.pid), '-m', '-u', '-n', '-p', '--wd=/', '--'];
    if (opts.user) p.push('setpriv', `--reuid=${opts.user}`, `--regid=${opts.user}`, '--init-groups', '--');
    return p;
  }

  /** Run a program inside the host. */
  async run(cmd: string[], opts: HostRunOptions = {}): Promise<RunResult> {
    const [exe, ...args] = [...this.prefix(opts), ...cmd];
    let env = opts.env;
    if (opts.user) {
      const home = opts.user === 'root' ? '/root' : (await this.passwdHome(opts.user));
      env = { ...process.env, ...env, HOME: home, USER: opts.user, LOGNAME: opts.user };
    }
    return run(exe!, args, { ...opts, env });
  }

  /** Run a shell script inside the host; throws with its output when it fails. */
  async sh(script: string, opts: HostRunOptions = {}): Promise<string> {
    const r = await this.run(['sh', '-c', script], opts);
    if (r.exitCode !== 0) {
      throw new FailError(`in host ${this.name}: script failed (exit ${r.exitCode}): ${script}\n${r.stdout}${r.stderr}`);
    }
    return r.stdout;
  }

  private async passwdHome(user: string): Promise<string> {
    const out = await this.sh(`getent passwd ${JSON.stringify(user)} | cut -d: -f6`);
    return out.trim() || '/';
  }

  /**
   * Start sshd inside the host the way a non-systemd box runs it: daemonised, pid in /run/sshd.pid (waited
   * for up to 5 s: on a loaded 2-core machine one second was not always enough).
   */
  async startSshd(extraArgs: string[] = []): Promise<void> {
    await this.sh(
      `/usr/sbin/sshd -E /var/log/auth.log ${[...this.sshdArgs, ...extraArgs].map((a) => JSON.stringify(a)).join(' ')}` +
        ` && for i in $(seq 250); do [ -s /run/sshd.pid ] && exit 0; sleep 0.02; done; exit 1`,
    );
  }

  async stopSshd(): Promise<void> {
    // Wait until it is gone: an sshd started right after must be able to listen on the same port.
    await this.sh('[ -s /run/sshd.pid ] && p="$(cat /run/sshd.pid)" && kill "$p" && for i in $(seq 250); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done;' +
      ' rm -f /run/sshd.pid; true');
  }

  /** Kill the host: SIGKILL to its PID 1 takes every process, mount and interface with it. */
  async destroy(): Promise<void> {
    if (this.launcher.exitCode !== null || this.launcher.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.launcher.once('exit', () => resolve()));
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    if (this.launcher.exitCode === null) this.launcher.kill('SIGKILL');
  }
}

async function childPid(parent: number): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${parent}/task/${parent}/children`, 'utf8');
    const pid = Number(text.trim().split(/\s+/)[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Create a throwaway host. Needs root on Linux. */
export async function startHost(name: string): Promise<ThrowawayHost> {
  if (process.getuid?.() !== 0) {
    throw new FailError('throwaway hosts need root (namespaces and mounts)', 'run it with sudo');
  }
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) throw new FailError(`bad host name ${name}`);
  // setpriv's parent-death signal and execa's clean-up both kill the host if this process dies or exits.
  const launcher = execa(
    'setpriv',
    ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--pid', '--uts', '--net', '--fork', '--kill-child',
      '--propagation', 'private', 'bash', '-c', INIT_SCRIPT, 'init', name],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', cleanup: true, reject: false },
  );
  let stderr = '';
  launcher.stderr?.on('data', (d) => (stderr += String(d)));
  const deadline = Date.now() + 10_000;
  let pid: number | undefined;
  while (Date.now() < deadline) {
    if (launcher.exitCode !== null) break;
    pid ??= await childPid(launcher.pid!);
    if (pid) {
      const r = await run('nsenter', ['-t', String(pid), '-m', '--', 'test', '-e', '/run/host-ready']);
      if (r.exitCode === 0) return new ThrowawayHost(name, pid, launcher);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  launcher.kill('SIGKILL');
  throw new FailError(`could not start throwaway host ${name}: ${stderr.trim() || 'timed out'}`);
}

export interface Link {
  /** address of a on the link */
  a: string;
  /** address of b on the link */
  b: string;
}

/**
 * Join two hosts with a veth pair. Both ends are created directly inside the hosts' network namespaces, so
 * the names need not be unique on the real machine and the addresses exist only inside the two hosts.
 * Each host also learns the other's name in /etc/hosts.
 */
export async function linkHosts(a: ThrowawayHost, b: ThrowawayHost, subnet = '10.250.0'): Promise<Link> {
  const link: Link = { a: `${subnet}.1`, b: `${subnet}.2` };
  const r = await run('ip', ['link', 'add', 'eth0', 'netns', String(a.pid), 'type', 'veth',
    'peer', 'name', 'eth0', 'netns', String(b.pid)]);
  if (r.exitCode !== 0) throw new FailError(`could not create the veth link: ${r.stderr.trim()}`);
  await a.sh(`ip addr add ${link.a}/24 dev eth0 && ip link set eth0 up && echo '${link.b} ${b.name}' >> /etc/hosts`);
  await b.sh(`ip addr add ${link.b}/24 dev eth0 && ip link set eth0 up && echo '${link.a} ${a.name}' >> /etc/hosts`);
  return link;
}

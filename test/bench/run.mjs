#!/usr/bin/env node
/**
 * `npm run bench` (after the build): each figure beside its floor, measured side by side in the same run:
 * the work a command must do with nothing else around it. Floors: `node -e 0` (Node's start); the same plus
 * `sshd -t` and `sshd -T` (init's validation); the same plus one SFTP session (the self-test's connection);
 * and, for a fresh collector, an equivalent hand-written Ansible playbook. Then the upload latency, burst,
 * archive sync (a day of images with `sftp-setup sync` and with a plain `lftp mirror -R` of the same day,
 * BENCH_SYNC_IMAGES images, default 300) and watch latency benchmarks, and doctor/status over a fleet.
 * Medians, and each ratio the median of the ratios round by round; no targets are asserted, the table shows them. Needs root on Linux (throwaway hosts), and
 * ansible-core for the playbook column.
 *
 *   BENCH_RUNS=7 npm run bench      # runs per measure on a converged host, and fresh hosts (default 5)
 *   BENCH_STARTUP_RUNS=30           # runs of node -e 0, --help and keys list (default 20)
 *   BENCH_BURST_ROUNDS=3            # rounds of the burst benchmark (test/bench/burst.mjs; 0 skips it)
 *   BENCH_FLEET=0                   # leave out doctor/status over 1, 10 and 100 accounts (doctor-fleet.mjs)
 *
 * The short measures run in test/bench/timer.mjs inside the host (interleaved, one of each per round), so
 * nothing but a spawn sits between the clock and the command. Everything measured runs without
 * NODE_EXTRA_CA_CERTS and NODE_OPTIONS: a development machine may set them (reading a CA bundle made each
 * Node start here 2.5 times as long), a Pi does not, and they would inflate the floor.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const { startHost } = await import(`${repo}/dist/system/hosts.js`);
const { run } = await import(`${repo}/dist/system/exec.js`);
const { writeCaches } = await import(`${repo}/scripts/bundle.mjs`);

const CLI = `${repo}/bin/sftp-setup`;
const TIMER = `${repo}/test/bench/timer.mjs`;
const PLAYBOOK = `${repo}/test/bench/collector.yml`;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 20);

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (it creates throwaway hosts)');
  process.exit(2);
}

const median = (xs) => {
  if (!xs?.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms) => (ms === undefined ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const note = (s) => process.stderr.write(`bench: ${s}\n`);

const CLEAN = { NODE_EXTRA_CA_CERTS: undefined, NODE_OPTIONS: undefined };

async function timed(host, cmd, env) {
  const t = performance.now();
  const r = await host.run(cmd, { env: { ...CLEAN, ...env }, timeoutMs: 300_000 });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} exited ${r.exitCode}: ${(r.stdout + r.stderr).trim().split('\n').slice(-5).join(' / ')}`);
  return ms;
}

/** timer.mjs inside the host: { name: [ms, …] }. */
async function sideBySide(host, runs, measures) {
  const r = await host.run(['node', TIMER, JSON.stringify({ runs, measures })], { env: CLEAN, timeoutMs: 1_800_000 });
  if (r.exitCode !== 0) throw new Error(`timer: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

/** A fresh host with sshd running and a client key; the body gets it and returns timings. */
async function onFreshHost(name, body) {
  const host = await startHost(name);
  try {
    await host.startSshd();
    const key = (await host.sh("ssh-keygen -q -t ed25519 -N '' -C bench@camera -f /root/cam && cat /root/cam.pub")).trim();
    return await body(host, key);
  } finally {
    await host.destroy();
  }
}

const haveAnsible = (await run('sh', ['-c', 'command -v ansible-playbook'])).exitCode === 0;
const samples = { initFresh: [], ansibleFresh: [], ansibleRerun: [] };

for (let i = 0; i < RUNS; i++) {
  note(`run ${i + 1}/${RUNS}: sftp-setup init on a fresh host`);
  await onFreshHost(`bench-init-${i}`, async (host, key) => {
    samples.initFresh.push(await timed(host, ['node', CLI, 'init', '--yes', '--key', key]));
  });
  if (haveAnsible) {
    note(`run ${i + 1}/${RUNS}: ansible-playbook on a fresh host`);
    await onFreshHost(`bench-ansible-${i}`, async (host, key) => {
      const cmd = ['ansible-playbook', '-c', 'local', '-i', 'localhost,', PLAYBOOK, '-e', JSON.stringify({ key })];
      const env = { ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3' };
      samples.ansibleFresh.push(await timed(host, cmd, env));
      samples.ansibleRerun.push(await timed(host, cmd, env));
    });
  }
}
if (!haveAnsible) note('ansible-playbook is not installed (apt-get install ansible-core): the playbook column is empty');

// The Debian package's layout (the same bundle under /usr/lib/sftp-setup), when dpkg-deb can build it.
let debCli;
const debDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sftp-setup-bench-deb-'));
if ((await run('sh', ['-c', 'command -v dpkg-deb'])).exitCode === 0) {
  note('the Debian package: build and extract');
  const built = spawnSync(process.execPath, [`${repo}/scripts/package-deb.mjs`, '--out', debDir], { cwd: repo, encoding: 'utf8' });
  const deb = built.status === 0 ? built.stdout.trim().split(':')[0] : undefined;
  if (deb && spawnSync('dpkg-deb', ['-x', deb.startsWith('/') ? deb : join(repo, deb), join(debDir, 'root')]).status === 0) debCli = join(debDir, 'root/usr/bin/sftp-setup');
  else note(`the Debian package could not be built: ${(built.stderr ?? '').trim()}`);
}
if (debCli) {
  // The code caches its postinst makes on an install (scripts/package-deb.mjs), made the same way here.
  const lib = join(debDir, 'root/usr/lib/sftp-setup/dist');
  writeCaches(readdirSync(lib).filter((f) => f.endsWith('.cjs') && f !== 'cli-load.cjs'), lib);
}

note(`a converged collector: ${STARTUP_RUNS} runs of the start-up measures, ${RUNS} of the others, side by side`);
const converged = await onFreshHost('bench-converged', async (host, key) => {
  await timed(host, ['node', CLI, 'init', '--yes', '--key', key]);
  await host.sh("echo pwd > /root/session.batch");
  const sshd = [['/usr/sbin/sshd', '-t'], ['/usr/sbin/sshd', '-T']];
  // One SFTP session as the upload account, with the key exchange the self-test asks for.
  const session = ['sftp', '-F', '/dev/null', '-i', '/root/cam', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'KexAlgorithms=^curve25519-sha256,curve25519-sha256@libssh.org',
    '-b', '/root/session.batch', 'allsky-upload@127.0.0.1'];
  const node = ['node', '-e', '0'];
  const startup = await sideBySide(host, STARTUP_RUNS, {
    node: [node],
    help: [['node', CLI, '--help']],
    keysList: [['node', CLI, 'keys', 'list']],
    ...(debCli ? { debHelp: [['node', debCli, '--help']] } : {}),
  });
  const work = await sideBySide(host, RUNS, {
    // Node's start again, in the same rounds as the commands it is the floor of.
    nodeWork: [node],
    floorChecks: [node, ...sshd],
    initNoVerify: [['node', CLI, 'init', '--yes', '--no-verify', '--key', key]],
    floorSession: [node, ...sshd, session],
    initRerun: [['node', CLI, 'init', '--yes', '--key', key]],
    doctor: [['node', CLI, 'doctor', '--role', 'collector']],
  });
  return { ...startup, ...work };
});
rmSync(debDir, { recursive: true, force: true });
Object.assign(samples, converged);

let latency;
if (existsSync(`${repo}/test/bench/upload-latency.ts`)) {
  note('upload latency (test/bench/upload-latency.ts, under vite-node)');
  const r = spawnSync(`${repo}/node_modules/.bin/vite-node`, [`${repo}/test/bench/latency-entry.mts`], { encoding: 'utf8', cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = r.stdout.trim().split('\n').pop();
  try {
    latency = JSON.parse(line ?? '');
  } catch {
    latency = { skipped: `upload-latency benchmark failed (exit ${r.status})` };
  }
} else {
  latency = { skipped: 'test/bench/upload-latency.ts is not there' };
}

const BURST_ROUNDS = Number(process.env.BENCH_BURST_ROUNDS ?? 3);
let bursts;
if (BURST_ROUNDS > 0) {
  const { measureBursts } = await import('./burst.mjs');
  bursts = await measureBursts({ rounds: BURST_ROUNDS, note });
}

note('archive sync: a day of images, sftp-setup sync | lftp mirror -R (test/bench/sync-throughput.ts, under vite-node)');
let syncBench;
{
  const r = spawnSync(`${repo}/node_modules/.bin/vite-node`, [`${repo}/test/bench/sync-entry.mts`], { encoding: 'utf8', cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    syncBench = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    syncBench = { skipped: `sync throughput benchmark failed (exit ${r.status})` };
  }
}

note('watch --mqtt latency (test/bench/watch-latency.ts, under vite-node)');
let watchLatency;
{
  const r = spawnSync(`${repo}/node_modules/.bin/vite-node`, [`${repo}/test/bench/watch-latency-entry.mts`], { encoding: 'utf8', cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    watchLatency = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    watchLatency = { skipped: `watch latency benchmark failed (exit ${r.status})` };
  }
}

const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
const ratio = (a, b) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : '—');
/**
 * A command against its floor: the median of the ratios round by round (each round ran both back to back,
 * so a machine whose speed drifts during the run moves this less than the ratio of the two medians), or,
 * for measures not taken in the same rounds, the ratio of the medians (marked *).
 */
const against = (a, b, paired) => {
  const [xs, ys] = [samples[a], samples[b]];
  if (!xs?.length || !ys?.length) return '—';
  if (!paired || xs.length !== ys.length) return `${ratio(m[a], m[b])}*`;
  return `${median(xs.map((x, i) => x / ys[i])).toFixed(2)}×`;
};
const rows = [
  ['node -e 0', 'node', '', undefined, '', STARTUP_RUNS],
  ['sftp-setup --help', 'help', 'node -e 0', 'node', '≤ 1.3×', STARTUP_RUNS],
  ...(m.debHelp !== undefined ? [['sftp-setup --help, Debian package', 'debHelp', 'node -e 0', 'node', '≤ 1.3×', STARTUP_RUNS]] : []),
  ['keys list', 'keysList', 'node -e 0', 'node', '≤ 1.5×', STARTUP_RUNS],
  ['init re-run, --no-verify', 'initNoVerify', 'node -e 0', 'nodeWork', '≤ 2×', RUNS],
  ['init re-run, --no-verify', 'initNoVerify', 'node + sshd -t + sshd -T', 'floorChecks', '', RUNS],
  ['init re-run with self-test', 'initRerun', 'node + sshd -t + sshd -T + one SFTP session', 'floorSession', '≤ 1.3×', RUNS],
  ['doctor (collector, live probe)', 'doctor', 'node + sshd -t + sshd -T + one SFTP session', 'floorSession', '≤ 1.3×', RUNS],
  // Each fresh host for init is followed by one for the playbook: paired run by run.
  ['fresh init with self-test', 'initFresh', 'Ansible playbook, fresh (no end-to-end check)', 'ansibleFresh', '≤ 0.07×', RUNS],
  ['init re-run with self-test', 'initRerun', 'Ansible playbook, re-run', 'ansibleRerun', '', RUNS, false],
].map((r) => [r[0], fmt(m[r[1]]), r[2], r[2] ? fmt(m[r[3]]) : '', r[2] ? against(r[1], r[3], r[6] ?? true) : '', r[4], String(r[5])]);
if (latency?.plainMs !== undefined && latency?.multiplexMs !== undefined) {
  rows.push(['Allsky upload of one image, --multiplex', fmt(latency.multiplexMs), 'plain connect-program', fmt(latency.plainMs), ratio(latency.multiplexMs, latency.plainMs), '', '9']);
}
if (syncBench?.sync) {
  const day = `${syncBench.files} files, ${(syncBench.bytes / 1048576).toFixed(0)} MiB`;
  rows.push(
    [`sftp-setup sync of a day (${day})`, fmt(syncBench.sync.ms), 'lftp mirror -R of it', fmt(syncBench.lftp.ms), ratio(syncBench.sync.ms, syncBench.lftp.ms), '', '1'],
    ['sync re-run, nothing new', fmt(syncBench.sync.rerunMs), 'lftp mirror -R re-run', fmt(syncBench.lftp.rerunMs), ratio(syncBench.sync.rerunMs, syncBench.lftp.rerunMs), '', '1'],
  );
}
if (watchLatency?.medianMs !== undefined) {
  rows.push(['Allsky upload rename -> MQTT message (watch), median', fmt(watchLatency.medianMs), 'p99', fmt(watchLatency.p99Ms), '', '', String(watchLatency.uploads)]);
}

const header = ['measure (median)', 'time', 'floor, measured beside it', 'floor', 'ratio', 'target', 'runs'];
const table = [header, ...rows];
const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
const line = (r) => r.map((cell, c) => (c === 0 || c === 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
console.log(`\n${line(table[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
for (const r of table.slice(1)) console.log(line(r));
console.log('ratio: the median of the ratios of the rounds, each round running the command and its floor back to back; * the ratio of the medians');
console.log(`upload latency: ${JSON.stringify(latency)}`);
if (bursts) {
  const pct = (a, b) => `${a}/${b} (${Math.round((100 * a) / b)}%)`;
  console.log(`\nburst: K cameras start one plain sftp upload each at once (one address), ${bursts.rounds} rounds, ${bursts.accounts} accounts; 3 admin ssh logins per burst`);
  console.log('K    sshd defaults: failed  admins refused    init\'s limits: failed  admins refused');
  for (const k of [...new Set(bursts.rows.map((r) => r.k))]) {
    const [d, i] = ['default', 'init'].map((l) => bursts.rows.find((r) => r.k === k && r.limits === l));
    console.log(`${String(k).padEnd(4)} ${pct(d.failed, d.sessions).padStart(22)}  ${pct(d.adminsRefused, d.admins).padStart(14)}    ${pct(i.failed, i.sessions).padStart(21)}  ${pct(i.adminsRefused, i.admins).padStart(14)}`);
  }
  console.log(`init per account (--no-verify): ${fmt(bursts.initMs.first)} for the 1st, ${fmt(bursts.initMs.last)} for the ${bursts.accounts}th`);
}
if (syncBench?.sync) {
  const rate = (ms) => `${(syncBench.files / (ms / 1000)).toFixed(0)} files/s, ${(syncBench.bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
  console.log(`archive sync of a day: sftp-setup sync ${rate(syncBench.sync.ms)} | lftp mirror -R ${rate(syncBench.lftp.ms)}`);
} else console.log(`archive sync: ${JSON.stringify(syncBench)}`);
console.log(`watch latency: ${JSON.stringify(watchLatency)}`);
if (process.env.BENCH_FLEET !== '0') {
  // doctor and status over 1, 10 and 100 upload accounts on one collector (BENCH_FLEET=0 leaves it out).
  note('fleet: doctor and status at N=1/10/100 (test/bench/doctor-fleet.mjs)');
  spawnSync(process.execPath, [`${repo}/test/bench/doctor-fleet.mjs`], { stdio: 'inherit', env: { ...process.env, FLEET_RUNS: String(RUNS) } });
}

console.log(`\nmachine: ${(await run('nproc', [])).stdout.trim()} cores, node ${process.version}`);
console.log(JSON.stringify({ medians: m, samples, latency, bursts, sync: syncBench, watchLatency }));

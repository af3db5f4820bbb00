#!/usr/bin/env node
/**
 * `npm run bench` (after the build): sftp-setup against an equivalent hand-written Ansible playbook, side by
 * side in one run, each on fresh throwaway hosts; then re-runs on a converged host, the CLI's start-up
 * against bare Node, doctor, and the upload latency benchmark when it exists. Medians of N runs; no targets
 * are asserted, the table shows them. Needs root on Linux (throwaway hosts), and ansible-core for the
 * playbook column. The archive sync row delivers a day of images with `sftp-setup sync` and with a plain
 * `lftp mirror -R` of the same day (BENCH_SYNC_IMAGES images, default 300).
 *
 *   BENCH_RUNS=5 npm run bench      # runs per fresh/re-run measure (default 3)
 *   BENCH_STARTUP_RUNS=30           # runs for --help vs node -e 0 (default 20)
 *   BENCH_BURST_ROUNDS=3            # rounds of the burst benchmark (test/bench/burst.mjs; 0 skips it)
 *   BENCH_FLEET=0                   # leave out doctor/status over 1, 10 and 100 accounts (doctor-fleet.mjs)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const { startHost } = await import(`${repo}/dist/system/hosts.js`);
const { run } = await import(`${repo}/dist/system/exec.js`);

const CLI = `${repo}/bin/sftp-setup`;
const PLAYBOOK = `${repo}/test/bench/collector.yml`;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 20);

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (it creates throwaway hosts)');
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms) => (ms === undefined ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const note = (s) => process.stderr.write(`bench: ${s}\n`);

async function timed(host, cmd, env) {
  const t = performance.now();
  const r = await host.run(cmd, { env, timeoutMs: 300_000 });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} exited ${r.exitCode}: ${(r.stdout + r.stderr).trim().split('\n').slice(-5).join(' / ')}`);
  return ms;
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
const rows = [];
const samples = { initFresh: [], initRerun: [], initRerunNoVerify: [], ansibleFresh: [], ansibleRerun: [], doctor: [] };

for (let i = 0; i < RUNS; i++) {
  note(`run ${i + 1}/${RUNS}: sftp-setup init on a fresh host`);
  await onFreshHost(`bench-init-${i}`, async (host, key) => {
    samples.initFresh.push(await timed(host, ['node', CLI, 'init', '--yes', '--key', key]));
    samples.initRerun.push(await timed(host, ['node', CLI, 'init', '--yes', '--key', key]));
    samples.initRerunNoVerify.push(await timed(host, ['node', CLI, 'init', '--yes', '--no-verify', '--key', key]));
    samples.doctor.push(await timed(host, ['node', CLI, 'doctor', '--role', 'collector']));
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

note(`start-up: ${STARTUP_RUNS} runs each of sftp-setup --help and node -e 0`);
const startup = { help: [], bare: [] };
for (let i = 0; i < STARTUP_RUNS; i++) {
  for (const [k, args] of [['bare', ['-e', '0']], ['help', [CLI, '--help']]]) {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    startup[k].push(performance.now() - t);
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  }
}

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

const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.length ? median(v) : undefined]));
const ratio = (a, b) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : '—');
const help = median(startup.help);
const bare = median(startup.bare);
rows.push(
  ['fresh collector (init incl. self-test | playbook, no end-to-end check)', m.initFresh, m.ansibleFresh, ratio(m.initFresh, m.ansibleFresh), '≤ 0.10×', RUNS],
  ['re-run on a converged host (init incl. self-test | playbook)', m.initRerun, m.ansibleRerun, ratio(m.initRerun, m.ansibleRerun), 'init ≤ 0.5 s', RUNS],
  ['re-run on a converged host, init --no-verify | playbook', m.initRerunNoVerify, m.ansibleRerun, ratio(m.initRerunNoVerify, m.ansibleRerun), 'init ≤ 0.5 s', RUNS],
  ['sftp-setup --help | node -e 0', help, bare, ratio(help, bare), '≤ 1.5×', STARTUP_RUNS],
);
if (latency?.plainMs !== undefined && latency?.multiplexMs !== undefined) {
  rows.push(['Allsky upload of one image, --multiplex | plain connect-program', latency.multiplexMs, latency.plainMs, ratio(latency.multiplexMs, latency.plainMs), '', 9]);
}
if (syncBench?.sync) {
  const day = `${syncBench.files} files, ${(syncBench.bytes / 1048576).toFixed(0)} MiB`;
  rows.push(
    [`sync of a day (${day}) | lftp mirror -R of it`, syncBench.sync.ms, syncBench.lftp.ms, ratio(syncBench.sync.ms, syncBench.lftp.ms), '', 1],
    ['sync re-run, nothing new | lftp mirror -R re-run', syncBench.sync.rerunMs, syncBench.lftp.rerunMs, ratio(syncBench.sync.rerunMs, syncBench.lftp.rerunMs), '', 1],
  );
}
if (m.doctor !== undefined) rows.push(['doctor on a converged collector (with probe)', m.doctor, undefined, '—', '', RUNS]);
if (watchLatency?.medianMs !== undefined) {
  rows.push(['Allsky upload rename -> MQTT message (watch), median | p99', watchLatency.medianMs, watchLatency.p99Ms, '—', '', watchLatency.uploads]);
}

const header = ['measure (median)', 'sftp-setup', 'compared', 'ratio', 'target', 'runs'];
const table = [header, ...rows.map((r) => [r[0], fmt(r[1]), fmt(r[2]), r[3], r[4], String(r[5])])];
const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
console.log(`\n${line(table[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
for (const r of table.slice(1)) console.log(line(r));
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
console.log(JSON.stringify({ medians: m, startup: { help, bare }, samples, latency, bursts, sync: syncBench, watchLatency }));

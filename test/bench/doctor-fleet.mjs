#!/usr/bin/env node
/**
 * doctor and status at fleet scale (after the build): one throwaway collector, accounts added with
 * `init --no-verify` up to each N of FLEET_SIZES, then `doctor` (its live probe sampled above 8 accounts),
 * `doctor --probe-all` (a live probe of every account), `doctor --no-probe` and `status` timed at each size, with the lines and JSON size doctor prints. Medians of FLEET_RUNS runs;
 * nothing asserted. Needs root on Linux.
 *
 *   FLEET_SIZES=1,10,100 FLEET_RUNS=3 node test/bench/doctor-fleet.mjs
 */
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const { startHost } = await import(`${repo}/dist/system/hosts.js`);

const CLI = `${repo}/bin/sftp-setup`;
const SIZES = (process.env.FLEET_SIZES ?? '1,10,100').split(',').map(Number);
const RUNS = Number(process.env.FLEET_RUNS ?? 3);
const note = (s) => process.stderr.write(`fleet: ${s}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

if (process.getuid?.() !== 0) {
  console.error('fleet: needs root (it creates a throwaway host)');
  process.exit(2);
}

const name = (i) => `cam${String(i).padStart(3, '0')}`;
const host = await startHost(`fleet-${process.pid % 10000}`);
const rows = [];
try {
  await host.startSshd();
  const key = (await host.sh("ssh-keygen -q -t ed25519 -N '' -C bench@camera -f /root/cam && cat /root/cam.pub")).trim();
  let have = 0;
  for (const n of SIZES) {
    note(`adding accounts up to ${n}`);
    for (; have < n; have++) {
      const u = name(have + 1);
      // On a loaded machine a reload can outlast init's wait for sshd: that run rolls back, the next one converges.
      let r;
      for (let attempt = 0; attempt < 3; attempt++) {
        r = await host.run(['node', CLI, 'init', '--yes', '--no-verify', '--user', u, '--root', `/var/lib/allsky-fleet/${u}`, '--key', key]);
        if (r.exitCode === 0) break;
        if (!(await host.run(['test', '-s', '/run/sshd.pid'])).exitCode) continue;
        await host.startSshd();
      }
      if (r.exitCode !== 0) throw new Error(`init ${u}: ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' / ')}`);
    }
    const row = { n };
    for (const [k, args] of [['doctor', ['doctor', '--role', 'collector']], ['probeAll', ['doctor', '--role', 'collector', '--probe-all']], ['noProbe', ['doctor', '--role', 'collector', '--no-probe']], ['status', ['status']]]) {
      const ms = [];
      let lines = 0;
      let bytes = 0;
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        const r = await host.run(['node', CLI, ...args], { timeoutMs: 600_000 });
        ms.push(performance.now() - t);
        lines = r.stdout.split('\n').length - 1;
        if (k === 'doctor' && i === 0) bytes = (await host.run(['node', CLI, ...args, '--json'])).stdout.length;
        if (r.exitCode > 1) { note(`${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()}`); break; }
      }
      row[k] = { ms: median(ms), lines, ...(bytes ? { jsonBytes: bytes } : {}) };
    }
    rows.push(row);
    note(JSON.stringify(row));
  }
} finally {
  await host.destroy();
}
console.log('\naccounts     doctor  lines   --json  --probe-all  --no-probe     status  lines');
for (const r of rows) {
  console.log([
    String(r.n).padStart(8), fmt(r.doctor.ms).padStart(10), String(r.doctor.lines).padStart(5), `${(r.doctor.jsonBytes / 1024).toFixed(0)} kB`.padStart(8),
    fmt(r.probeAll.ms).padStart(11), fmt(r.noProbe.ms).padStart(10), fmt(r.status.ms).padStart(10), String(r.status.lines).padStart(6),
  ].join(' '));
}
console.log(JSON.stringify(rows));

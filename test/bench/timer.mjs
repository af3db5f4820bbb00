#!/usr/bin/env node
/**
 * Times commands side by side, for `npm run bench`; runs inside a throwaway host so that nothing but Node's
 * own spawn sits between the clock and the command. argv[2] is JSON: { runs, measures: { name: [cmd, …] } }
 * where each cmd is an argv array; a measure of several commands times them one after another (a floor
 * made of parts, such as node + sshd -t + sshd -T). Every round runs each measure once, in the given order,
 * so that a change in the machine's load hits them all alike. Prints { name: [ms, …] } as JSON.
 */
import { spawnSync } from 'node:child_process';

const { runs, measures } = JSON.parse(process.argv[2]);
const samples = Object.fromEntries(Object.keys(measures).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, cmds] of Object.entries(measures)) {
    const t = performance.now();
    for (const [cmd, ...args] of cmds) {
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (r.status !== 0) {
        process.stderr.write(`timer: ${[cmd, ...args].join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}\n`);
        process.exit(1);
      }
    }
    samples[name].push(performance.now() - t);
  }
}
process.stdout.write(JSON.stringify(samples));

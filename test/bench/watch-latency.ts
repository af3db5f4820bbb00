/**
 * Latency of `sftp-setup watch --mqtt`: from the rename that completes an Allsky upload on the collector to
 * the MQTT message at a subscriber. A camera uploads N images the way Allsky's upload.sh does (put to
 * TYPE-RANDOM, rm -f image.jpg, mv) in one lftp session, taking the time (date +%s.%N, through lftp's `!`)
 * just before each mv is sent; mosquitto_sub on the collector stamps each message on arrival (%U). Both hosts
 * share the machine's clock. Each image has its own size, which pairs a message with its upload. The figure
 * includes the mv's own round trip; uploads are 250 ms apart, so events do not queue behind each other.
 */
import { cli, makeKey, startPair } from '../e2e/helpers.js';
import { jsonLines, startBroker, startWatch, until, W } from '../e2e/watch-helpers.js';

const USER = 'allsky-upload';
const KEY = '/root/cam_key';

export interface WatchLatency {
  uploads: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

export async function measureWatchLatency(n = Number(process.env.WATCH_LATENCY_UPLOADS ?? 100)): Promise<WatchLatency> {
  const p = await startPair();
  try {
    const pub = await makeKey(p.camera, KEY);
    const hostKey = (await p.collector.sh('cat /etc/ssh/ssh_host_ed25519_key.pub')).trim().split(' ').slice(0, 2).join(' ');
    await p.camera.sh(`echo 'collector ${hostKey}' > /root/kh && mkdir -p /tmp/lat && for i in $(seq 1 ${n}); do head -c $((10000 + i)) /dev/urandom > /tmp/lat/$i; done`);
    const init = await cli(p.collector, ['init', '--yes', '--no-verify', '--key', pub]);
    if (init.exitCode !== 0) throw new Error(`init failed: ${init.stdout}${init.stderr}`);
    await startBroker(p.collector);
    await startWatch(p.collector, ['--mqtt', 'mqtt://127.0.0.1:1883']);
    await p.collector.sh(`(mosquitto_sub -h 127.0.0.1 -q 1 -F '%U %p' -t 'sftp-setup/${USER}/image' > ${W}/latency.log 2>&1 </dev/null &) ; sleep 0.3`);

    const ssh = `ssh -a -x -F /dev/null -i ${KEY} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=/root/kh -o StrictHostKeyChecking=yes`;
    const lines = [`set sftp:connect-program "${ssh}"`, 'set net:max-retries 2; set net:timeout 10', `open --user ${USER} --env-password sftp://collector`, 'cd images/'];
    for (let i = 1; i <= n; i++) {
      lines.push(`put /tmp/lat/${i} -o SaveImage-server-${i}`, 'rm -f image.jpg', '!date +%s.%N >> /tmp/lat.sent', `mv SaveImage-server-${i} image.jpg`, '!sleep 0.25');
    }
    await p.camera.sh(`rm -f /tmp/lat.sent; cat > /tmp/lat.lftp <<'EOF'\n${lines.join('\n')}\nEOF`);
    const r = await p.camera.run(['lftp', '-f', '/tmp/lat.lftp'], { env: { LFTP_PASSWORD: 'n/a' }, timeoutMs: 600_000 });
    if (r.exitCode !== 0) throw new Error(`the uploads failed: ${r.stdout}${r.stderr}`);

    const received = await until(() => p.collector.sh(`cat ${W}/latency.log`), (t) => t.split('\n').filter(Boolean).length >= n, `${n} MQTT messages`);
    const sent = (await p.camera.sh('cat /tmp/lat.sent')).trim().split('\n').map(Number);
    const ms: number[] = [];
    for (const line of received.trim().split('\n')) {
      const sp = line.indexOf(' ');
      const at = Number(line.slice(0, sp));
      const e = JSON.parse(line.slice(sp + 1)) as { size: number };
      const i = e.size - 10000;
      if (i >= 1 && i <= n) ms.push((at - sent[i - 1]!) * 1000);
    }
    if (ms.length !== n) throw new Error(`expected ${n} messages for ${n} uploads, got ${ms.length}; events: ${(await jsonLines(p.collector, `${W}/watch.out`)).length}`);
    ms.sort((a, b) => a - b);
    const pick = (q: number) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)]!;
    return { uploads: n, medianMs: Math.round(pick(0.5) * 10) / 10, p99Ms: Math.round(pick(0.99) * 10) / 10, maxMs: Math.round(ms[ms.length - 1]! * 10) / 10 };
  } finally {
    await p.destroy();
  }
}

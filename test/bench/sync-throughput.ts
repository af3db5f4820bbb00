/**
 * Throughput of `sftp-setup sync` for a day of Allsky images, against a plain `lftp mirror -R` of the same day
 * with the same connect-program, account and link, side by side in one run: a first delivery, then a re-run
 * with nothing new. Both run as the Allsky owner; the day is read once before either, so both find it cached.
 */
import { cli, startPair } from '../e2e/helpers.js';
import { installAllsky } from '../e2e/allsky-fixture.js';

export interface SyncThroughput {
  files: number;
  bytes: number;
  sync: { ms: number; rerunMs: number };
  lftp: { ms: number; rerunMs: number };
}

export async function measureSyncThroughput(images = Number(process.env.BENCH_SYNC_IMAGES ?? 300)): Promise<SyncThroughput> {
  const pair = await startPair();
  try {
    const { camera, collector } = pair;
    await Promise.all([installAllsky(camera), cli(collector, ['init', '--yes', '--no-verify'])]);
    const hostKey = (await collector.sh('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1]!;
    await cli(camera, ['allsky-config', '--collector', 'collector', '--host-key', hostKey, '--yes', '--no-test'], { user: 'pi' });
    await cli(collector, ['init', '--yes', '--no-verify', '--key', '-'], { input: await camera.sh('cat /home/pi/.ssh/allsky_upload.pub') });
    const day = '/home/pi/allsky/images/20240101';
    // A night of images (150–250 kB), their thumbnails, keogram, startrails and the timelapse.
    await camera.sh(`set -e; mkdir -p ${day}/thumbnails ${day}/keogram ${day}/startrails
      for i in $(seq 1 ${images}); do
        n=$(printf %04d $i)
        head -c $((150000 + (i * 7919) % 100000)) /dev/urandom > ${day}/image-20240101-$n.jpg
        head -c $((9000 + (i * 31) % 2000)) /dev/urandom > ${day}/thumbnails/image-20240101-$n.jpg
      done
      head -c 900000 /dev/urandom > ${day}/keogram/keogram-20240101.jpg
      head -c 700000 /dev/urandom > ${day}/startrails/startrails-20240101.jpg
      head -c 20000000 /dev/urandom > ${day}/allsky-20240101.mp4
      chown -R pi:pi /home/pi/allsky/images; find ${day} -exec touch -d '1 hour ago' {} +
      cat $(find ${day} -type f) > /dev/null`);
    const [files, bytes] = (await camera.sh(`find ${day} -type f -printf '%s\\n' | awk '{ n++; b += $1 } END { print n, b }'`)).trim().split(' ').map(Number);

    const timed = async (run: () => Promise<{ exitCode: number; stdout: string; stderr: string }>) => {
      const t = performance.now();
      const r = await run();
      if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stdout}${r.stderr}`);
      return Math.round(performance.now() - t);
    };
    const sync = () => timed(() => cli(camera, ['sync', '--json'], { user: 'pi', timeoutMs: 600_000 }));
    const lftpCommands = JSON.parse(await camera.sh('cat /home/pi/allsky/env.json')).REMOTESERVER_LFTP_COMMANDS as string;
    const mirror = `${lftpCommands}; set net:max-retries 2; open --user allsky-upload --env-password sftp://collector; mirror -R --no-perms ${day} archive/lftp-20240101`;
    const lftp = () => timed(() => camera.run(['lftp', '-c', mirror], { user: 'pi', env: { LFTP_PASSWORD: 'n/a' }, timeoutMs: 600_000 }));
    const result = { files: files!, bytes: bytes!, sync: { ms: await sync(), rerunMs: await sync() }, lftp: { ms: await lftp(), rerunMs: await lftp() } };
    // Both delivered the same day, byte for byte.
    const sums = (dir: string) => collector.sh(`cd ${dir} && find . -type f -print0 | sort -z | xargs -0 sha256sum`);
    if ((await sums('/var/lib/allsky-uploads/archive/20240101')) !== (await sums('/var/lib/allsky-uploads/archive/lftp-20240101'))) throw new Error('sync and lftp delivered different trees');
    return result;
  } finally {
    await pair.destroy();
  }
}

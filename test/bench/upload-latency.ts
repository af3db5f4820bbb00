/**
 * Per-image latency of Allsky's upload sequence (a 1 MB image, upload.sh's lftp command file run as the
 * Allsky owner) against a real collector, with the configuration allsky-config writes, plain and with
 * --multiplex (ssh ControlMaster/ControlPersist in the connect-program). Medians over `runs` uploads; the
 * multiplexed figure excludes the first upload, which opens the shared connection.
 */
import { cli, startPair } from '../e2e/helpers.js';
import { installAllsky } from '../e2e/allsky-fixture.js';
import { allskyUploadScript } from '../../src/camera/upload-script.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function measureUploadLatency(runs = 9): Promise<{ plainMs: number; multiplexMs: number }> {
  const pair = await startPair();
  try {
    const { camera, collector } = pair;
    await Promise.all([installAllsky(camera), cli(collector, ['init', '--yes', '--no-verify'])]);
    const hostKey = (await collector.sh('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1]!;
    const configure = (extra: string[]) =>
      cli(camera, ['allsky-config', '--collector', 'collector', '--host-key', hostKey, '--yes', '--no-test', ...extra], { user: 'pi' });
    await configure([]);
    const pub = await camera.sh('cat /home/pi/.ssh/allsky_upload.pub');
    await cli(collector, ['init', '--yes', '--no-verify', '--key', '-'], { input: pub });
    await camera.sh('head -c 1048576 /dev/urandom > /tmp/image.jpg && chmod 644 /tmp/image.jpg');

    const measure = async (): Promise<number[]> => {
      const lftpCommands = JSON.parse(await camera.sh('cat /home/pi/allsky/env.json')).REMOTESERVER_LFTP_COMMANDS as string;
      const script = allskyUploadScript({
        lftpCommands, host: 'collector', port: 22, user: 'allsky-upload', dir: 'images', file: '/tmp/image.jpg', dest: 'image.jpg', temp: 'image-bench',
      });
      await camera.sh(`cat > /tmp/bench.lftp <<'EOF'\n${script}EOF\nchmod 644 /tmp/bench.lftp`);
      const times: number[] = [];
      for (let i = 0; i < runs + 1; i++) {
        const t = performance.now();
        const r = await camera.run(['lftp', '-f', '/tmp/bench.lftp'], { user: 'pi', env: { LFTP_PASSWORD: 'n/a' } });
        if (r.exitCode !== 0) throw new Error(`upload failed: ${r.stdout}${r.stderr}`);
        times.push(performance.now() - t);
      }
      return times.slice(1); // the first run opens the shared connection when multiplexing
    };
    const plain = await measure();
    await configure(['--multiplex']);
    const multiplexed = await measure();
    return { plainMs: Math.round(median(plain)), multiplexMs: Math.round(median(multiplexed)) };
  } finally {
    await pair.destroy();
  }
}

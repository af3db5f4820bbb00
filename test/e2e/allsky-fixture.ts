/** A fake Allsky install on a test camera, from the fixture files (one implementation with the demo's). */
import { readFileSync } from 'node:fs';
import { installDemoAllsky } from '../../src/camera/demo-allsky.js';
import type { ThrowawayHost } from '../../src/system/hosts.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/allsky/${name}`, import.meta.url), 'utf8');

export async function installAllsky(host: ThrowawayHost, generation: 'current' | 'legacy' = 'current'): Promise<string> {
  if (generation === 'legacy') {
    return installDemoAllsky(host, {
      legacy: { ftpSettings: fixture('ftp-settings.sh'), configSh: fixture('config.sh') },
      version: fixture('version-legacy'),
    });
  }
  return installDemoAllsky(host, { settingsJson: fixture('settings.json'), envJson: fixture('env.json'), version: fixture('version') });
}

/**
 * The camera's Allsky install for the demo: the camera module's minimal install (settings.json hard-linked
 * to settings_<camera>_<model>.json as the Allsky installer leaves it, env.json mode 664 group www-data,
 * a version file), owned by `pi`.
 */
import { installDemoAllsky } from '../camera/demo-allsky.js';
import type { ThrowawayHost } from '../system/hosts.js';

export interface DemoAllsky {
  /** the Allsky owner */
  owner: string;
  /** the Allsky home, e.g. /home/pi/allsky */
  dir: string;
}

export async function installAllsky(host: ThrowawayHost): Promise<DemoAllsky> {
  const owner = 'pi';
  const dir = await installDemoAllsky(host, { user: owner });
  return { owner, dir };
}

/** Placeholder until the service install lands. */
import type { WatchSpec } from '../watch/options.js';
import { UsageError } from '../errors.js';

export async function watchServiceCommand(_spec: WatchSpec, _root: string, _o: { uninstall: boolean; dryRun: boolean; yes: boolean; json: boolean }): Promise<number> {
  throw new UsageError('--install is not available yet', 'run watch in the foreground');
}

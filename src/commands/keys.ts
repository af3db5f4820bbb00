// PLACEHOLDER: being written; replaced before release.
import { FailError } from '../errors.js';
export async function keysListCommand(_opts: unknown): Promise<number> { throw new FailError('not written yet'); }
export async function keysAddCommand(_opts: unknown): Promise<number> { throw new FailError('not written yet'); }
export async function keysRemoveCommand(_opts: unknown): Promise<number> { throw new FailError('not written yet'); }

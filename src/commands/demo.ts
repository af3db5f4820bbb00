// PLACEHOLDER: being written; replaced before release.
import { FailError } from '../errors.js';
export async function demoCommand(_opts: unknown): Promise<number> { throw new FailError('not written yet'); }

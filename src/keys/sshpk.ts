/**
 * sshpk, loaded on the first key that needs it (RSA, ECDSA and DSA public keys, private keys): it costs more
 * start-up time than most commands run. The bundle (scripts/bundle.mjs) keeps it in a file of its own that
 * only this require loads.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let loaded: typeof import('sshpk') | undefined;

export function sshpk(): typeof import('sshpk') {
  return (loaded ??= require('sshpk') as typeof import('sshpk'));
}

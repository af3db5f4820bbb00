/**
 * Where this install's `sftp-setup` command is, for the demo to run it inside its hosts: bin/sftp-setup one
 * level above this module. That holds for tsc's dist/launcher.js beside bin/ and for the bundle (a clone, an
 * npm install, the Debian package), whose files all sit directly in dist/, so that every module's
 * import.meta.url names a file there (scripts/bundle.mjs). Keep this module directly in src/ (like
 * templates.ts and cli.ts, which look up ../templates and ../package.json the same way) so that every layout
 * agrees.
 */
import { fileURLToPath } from 'node:url';

export const LAUNCHER = fileURLToPath(new URL('../bin/sftp-setup', import.meta.url));

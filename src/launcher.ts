/**
 * Where this install's `sftp-setup` command is, for the demo to run it inside its hosts: bin/sftp-setup one
 * level above this module. That holds in a clone and an npm install (dist/launcher.js beside bin/) and in the
 * Debian package, whose single bundled file /usr/lib/sftp-setup/dist/cli.js has every module's code and so
 * every module's import.meta.url. Keep this module directly in src/ (like templates.ts and cli.ts, which look
 * up ../templates and ../package.json the same way) so that every layout agrees.
 */
import { fileURLToPath } from 'node:url';

export const LAUNCHER = fileURLToPath(new URL('../bin/sftp-setup', import.meta.url));

/** The templates (the Match block's) ship in templates/ beside src/ and dist/. */
import { readShippedText } from './system/files.js';

// Directly in src/ on purpose: the Debian package bundles every module into dist/cli.js, and this URL must
// resolve the same from there (see src/launcher.ts).
export function loadTemplate(name: string): string {
  return readShippedText(new URL(`../templates/${name}`, import.meta.url));
}

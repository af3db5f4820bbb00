/** Handlebars templates ship in templates/ beside src/ and dist/. */
import { readFileSync } from 'node:fs';

export function loadTemplate(name: string): string {
  return readFileSync(new URL(`../templates/${name}`, import.meta.url), 'utf8');
}

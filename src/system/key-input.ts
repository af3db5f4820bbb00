/**
 * Where a `--key` value comes from: `-` (stdin), a file (a .pub file or several key lines), or the key line
 * itself. Reading is the effect; parsing and policy are in src/keys.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { parsePublicKey, type ParsedKey } from '../keys/parse.js';

function looksLikePath(v: string): boolean {
  return /^(\/|\.\/|\.\.\/|~\/)/.test(v) || (/\.pub$/.test(v) && !/\s/.test(v));
}

/**
 * The text a key argument names: `-` (stdin), a file, or the value itself, with how to name it in messages.
 * Nothing is parsed here.
 */
export function readKeyText(value: string, flag = '--key'): { text: string; source: string } {
  let text: string;
  let source: string;
  if (value === '-') {
    try {
      text = readFileSync(0, 'utf8');
    } catch {
      throw new UsageError(`${flag} -: nothing could be read from standard input`, `pipe the key in: cat key.pub | sftp-setup … ${flag} -`);
    }
    source = `${flag} - (stdin)`;
  } else if (looksLikePath(value)) {
    const path = value.startsWith('~/') ? `${process.env.HOME ?? ''}${value.slice(1)}` : value;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(
        `${flag} ${value}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : 'cannot be read'}`,
        'give the path of the camera\'s .pub file, or paste the key line in quotes',
      );
    }
    source = `${flag} ${value}`;
  } else {
    text = value;
    source = `${flag} '${value.length > 40 ? value.slice(0, 37) + '...' : value}'`;
  }
  return { text, source };
}

export function readKeyArg(value: string, flag = '--key'): ParsedKey[] {
  const { text, source } = readKeyText(value, flag);
  // A private key is one block of lines: let the parser see it whole so it can say what it is.
  if (/PRIVATE KEY-----/.test(text)) return [parsePublicKey(text, source)];
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) throw new UsageError(`${source}: no key found`, 'give a public key line such as ssh-ed25519 AAAA… comment');
  return lines.map((l) => parsePublicKey(l, source));
}

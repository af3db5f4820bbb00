// The lint checks the architecture, not the style: effects only in src/system/, and no import cycles in src/
// (docs/ARCHITECTURE.md, "Rules that hold everywhere"). Syntax only, no type information: a few seconds.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

// The modules that touch files or start processes. Outside src/system/ they are not imported at all, not
// even to read: a ban on whole modules cannot be side-stepped by a rename (`import { promises as p }`,
// `import * as fs`), which a list of forbidden write functions could be.
const EFFECT_MODULES = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process', 'execa'];
// The same names as an esquery regular expression (which cannot hold a literal slash).
const EFFECT_NAME = '/^(node:)?(fs|fs\\u002Fpromises|child_process)$|^execa$/';
const WHY = 'effects live in src/system/: call a function there (or add one)';

export default defineConfig([
  { ignores: ['dist/', 'pkg/', 'node_modules/', 'coverage/'] },
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: { parser: tseslint.parser, sourceType: 'module' },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Sources import each other as ./x.js (NodeNext); the file on disk is ./x.ts.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      // Lazy imports (cli.ts loads each command with import()) count: a cycle through one is still a cycle.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/system/**'],
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // Type-only imports (Stats, Dirent) carry no effect and stay allowed.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: EFFECT_MODULES.map((name) => ({ name, message: WHY, allowTypeImports: true })) },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: `ImportExpression[source.value=${EFFECT_NAME}]`, message: WHY },
        // require('fs'), createRequire(…)('fs'), process.getBuiltinModule('fs'): any call that names one.
        { selector: `CallExpression[arguments.0.value=${EFFECT_NAME}]`, message: WHY },
      ],
    },
  },
]);

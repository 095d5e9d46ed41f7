// Lint rules that guard correctness, not style: floating promises lose errors (and in workflows,
// determinism), and workflow code must not reach Node built-ins or I/O libraries.
const tseslint = require('typescript-eslint');
const nodeBuiltins = require('node:module').builtinModules;

const ioModules = ['pg', '@electric-sql/*', 'faiss-node', '@xenova/transformers', 'prom-client', 'commander', 'yaml',
  '@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: nodeBuiltins.flatMap((m) => [m, `node:${m}`]).map((name) => ({
          name, message: 'workflow code is deterministic: no Node built-ins (use activities for I/O)',
        })),
        patterns: [
          { group: ioModules, message: 'workflow code must not import I/O libraries; call an activity', allowTypeImports: true },
          // zod-issues is a pure formatter the messages share with the rest of the code; seeded-random is
          // pure arithmetic (the offline gates' bootstrap resamples with it).
          { group: ['../activities/*', '../activities', '../store/*', '../store', '../rag/*', '../serve/*', '../platform/*', '!../platform/zod-issues', '!../platform/seeded-random'],
            message: 'workflows may only import types from activities, store and platform code', allowTypeImports: true },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'workflow code must not read the environment' },
        { name: 'require', message: 'workflow code must not load modules dynamically' }],
    },
  },
);

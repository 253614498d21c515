import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.esbuild*/',
      '.serverless/',
      '.offline/',
      'bench/results*.json',
      'test/peer/runtime-client/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      // Serverless Framework plugins are classes whose constructor registers hooks.
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    // Handler fixtures written as ES modules run in Node, as the runtime loads them.
    files: ['test/fixtures/**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
  {
    // The local console's page: browser ES modules, served as they are.
    files: ['offline/console/page/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name=/^(describe|it)$/][property.name='only']",
          message: 'No .only in committed tests.',
        },
      ],
    },
  },
);

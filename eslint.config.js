// Flat config: typescript-eslint's recommended rules over the whole repo.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // TypeScript checks names itself; no-undef only misfires on Node globals.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The product loads ws with require (src/util/ws-lib.ts: about 45 ms less CPU per start).
    files: ['src/**/*.ts'],
    ignores: ['src/util/ws-lib.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: 'ws', message: "Import WebSocket / WebSocketServer from src/util/ws-lib.ts (types from 'ws' are fine).", allowTypeImports: true }] },
      ],
    },
  },
);

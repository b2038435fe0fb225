import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** Every package, and the ones each may import (DESIGN.md §2). */
const LAYERS = {
  errors: [],
  parser: ['errors'],
  router: ['errors'],
  websocket: ['errors'],
  sse: ['errors'],
  workers: ['errors'],
  redis: ['errors'],
  'io-loop': ['errors', 'parser', 'websocket'],
  uploads: ['errors', 'parser', 'io-loop'],
  server: [
    'errors',
    'parser',
    'router',
    'websocket',
    'sse',
    'workers',
    'io-loop',
    'uploads',
    'redis',
  ],
}
const PACKAGES = Object.keys(LAYERS)

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/dist-test/**',
      '**/node_modules/**',
      'benchmarks/results/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      // `import { type A } from 'x'` still loads x (verbatimModuleSyntax keeps `import {} from
      // 'x'`): every pool worker loaded @mummy/uploads that way.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@mummy/*/src/*', '@mummy/*/dist/*'],
              message: 'import a package by its name, never its internals',
            },
          ],
        },
      ],
    },
  },
  // The layering (DESIGN.md §2): each package may import only the packages below it.
  ...Object.entries(LAYERS).map(([name, allowed]) => ({
    files: [`packages/${name}/**`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@mummy/*/src/*', '@mummy/*/dist/*'],
              message: 'import a package by its name, never its internals',
            },
            ...(PACKAGES.some((p) => p !== name && !allowed.includes(p))
              ? [
                  {
                    group: PACKAGES.filter((p) => p !== name && !allowed.includes(p)).map(
                      (p) => `@mummy/${p}`,
                    ),
                    message: `a lower package never imports a higher one (${name} may use: ${allowed.join(', ') || 'none'})`,
                  },
                ]
              : []),
          ],
        },
      ],
    },
  })),
  {
    // Type-aware: a promise nobody awaits or catches is an unhandled rejection waiting to happen.
    // Each file is checked with the nearest tsconfig.json: the package's for src/, test/'s own for tests.
    files: ['packages/*/src/**/*.ts', 'packages/*/test/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
)

/**
 * Tests are written in TypeScript in each package's `test/` folder, compiled to
 * `dist-test/`, and import the package's own code from its built `dist/`:
 * worker threads load real built JavaScript, so the code under test is exactly
 * the code that ships (and nothing of the tests ships with it).
 *
 * One package's tests: `pnpm --filter @mummy/<name> test`.
 */
export default {
  testEnvironment: 'node',
  transform: {},
  testMatch: ['<rootDir>/packages/*/dist-test/**/*.test.js', '<rootDir>/apps/*/test/**/*.test.js'],
  testTimeout: 30000,
  maxWorkers: 2,
}

/**
 * Tests are written in TypeScript beside the source and run from the compiled
 * `dist/` output: worker threads load real built JavaScript, so the code under
 * test is exactly the code that ships.
 */
export default {
  testEnvironment: 'node',
  transform: {},
  testMatch: ['<rootDir>/packages/*/dist/**/*.test.js', '<rootDir>/apps/*/test/**/*.test.js'],
  testTimeout: 30000,
  maxWorkers: 2,
}

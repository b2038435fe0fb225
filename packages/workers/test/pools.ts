// Shared set-up of the pool tests: pools made through `make` are closed after each test.
import { afterEach } from '@jest/globals'
import type { WorkerPool } from '../dist/index.js'
import { createPool, type TestPoolOptions } from './fixtures/harness.js'

/** Registers an `afterEach` that closes every pool made with the returned `make`. */
export function usePools(
  closeTimeout = 1000,
): (options: TestPoolOptions) => ReturnType<typeof createPool> {
  const pools: WorkerPool[] = []
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close({ timeout: closeTimeout })))
  })
  return (options) => {
    const made = createPool(options)
    pools.push(made.pool)
    return made
  }
}

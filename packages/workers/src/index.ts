/**
 * `@mummy/workers` — a work-conserving pool of `worker_threads`: batched
 * hand-off in both directions, per-key ordering, crash recovery. Knows nothing
 * of HTTP.
 *
 * Main thread: {@link WorkerPool}. Worker side: {@link runWorker},
 * {@link postToMain} and friends.
 *
 * @packageDocumentation
 */
export { WorkerPool, type JobFailureReason, type PoolOptions, type PoolStats } from './pool.js'
export {
  flushToMain,
  getWorkerData,
  getWorkerIndex,
  isPoolWorker,
  postToMain,
  runWorker,
  type JobContext,
  type RunWorkerOptions,
  type WorkerFunction,
} from './runtime.js'
export type { SerializedError } from './protocol.js'
export type { Transferable } from 'node:worker_threads'

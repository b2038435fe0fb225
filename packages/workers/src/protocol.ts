/**
 * Wire format and shared-memory layout spoken between the pool (main thread)
 * and its workers. Internal: nothing here is exported from the package.
 *
 * ## Claim cells
 * Every job handed to a worker owns a *slot*: three `Int32` cells in a
 * `SharedArrayBuffer` segment of {@link SEGMENT_SLOTS} slots.
 *
 * - cell 0, the claim: `generation << 8 | claimer` where `claimer` is `0`
 *   (unclaimed), `workerIndex + 1` (claimed by that worker) or {@link REVOKED}
 *   (withdrawn by the pool). A worker runs a job only after it won
 *   `Atomics.compareExchange(cell, gen << 8, gen << 8 | index + 1)`.
 * - cell 1, the start time: milliseconds since the pool's epoch (wrapping
 *   `int32`), written by the claimer right after its claim; {@link NOT_STARTED}
 *   until then.
 * - cell 2, the last-message handshake (`postLast`): 0, then whichever side comes first
 *   compare-exchanges it — the worker to {@link LAST_FINISHED} when the job completed right
 *   after posting its last message (it then sends no completion of its own), the pool to
 *   {@link LAST_SEEN} when it has delivered that message (the worker then does). Whoever finds
 *   the other's mark reports the completion: exactly one side does.
 *
 * A slot is released only when its job completed; the release bumps the
 * generation, so a stale copy of the job still queued in some worker can never
 * be claimed again.
 *
 * ## Messages
 * main → worker: a job batch `[seq, newSegments | null, ...jobs]` where each job
 * is {@link JOB_STRIDE} values `jobId, slot, generation, payload`; or a control
 * message `{ c: message }`.
 *
 * worker → main: `{ ready: true }` once, then batches
 * `[ackSeq, running, queued, ...records]` where each record is
 * {@link RECORD_STRIDE} values `kind, a, b, c`:
 * - `K_MSG, jobId | -1, message, lastOf` (`lastOf`: slot + 1 of the job whose last message
 *   this is, else 0)
 * - `K_DONE, slot, jobId, 0`
 * - `K_ERR, slot, jobId, SerializedError`
 */
// (The `performance` global is a getter on every use; the module's binding is not.)
import { performance } from 'node:perf_hooks'

/** Slots per shared segment (power of two). */
export const SEGMENT_SHIFT = 10
export const SEGMENT_SLOTS = 1 << SEGMENT_SHIFT
export const SLOT_MASK = SEGMENT_SLOTS - 1
/** `Int32` cells per slot: claim, start time, last-message handshake. */
export const CELLS_PER_SLOT = 3
/** Handshake cell: the worker completed the job after its last message, and said nothing. */
export const LAST_FINISHED = 1
/** Handshake cell: the pool delivered the job's last message before the job completed. */
export const LAST_SEEN = 2
/** Generations wrap at 23 bits so `gen << 8` stays a positive int32. */
export const GEN_MASK = 0x7fffff
export const CLAIMER_MASK = 0xff
/** Claimer value the pool writes to withdraw a job nobody has claimed yet. */
export const REVOKED = 0xff
/** Largest pool size: claimer values 1..254 name a worker, 255 is {@link REVOKED}. */
export const MAX_WORKERS = 254
/** Start-time cell value until a worker has claimed the job. */
export const NOT_STARTED = -2147483648

/** Values per job in a main → worker batch. */
export const JOB_STRIDE = 4
/** Leading values of a main → worker batch: seq, segments. */
export const JOB_HEADER = 2
/** Values per record in a worker → main batch. */
export const RECORD_STRIDE = 4
/** Leading values of a worker → main batch: ack, running, queued. */
export const REPORT_HEADER = 3

export const K_MSG = 0
export const K_DONE = 1
export const K_ERR = 2

/** Key of the pool's data inside the worker's `workerData`. */
export const INIT_KEY = '__mummyWorkers'
/** Global slot holding the worker-side runtime, shared by every copy of this package. */
export const RUNTIME_KEY: unique symbol = Symbol.for('mummy.workers.runtime') as never

/** What the pool hands to each worker at spawn time (inside `workerData`). */
export interface WorkerInit {
  /** `href` of the module the worker imports; it must call `runWorker()`. */
  url: string
  /** The pool's `workerData` option. */
  data: unknown
  index: number
  concurrency: number
  /** Pool epoch (ms, wall clock) that start-time cells are relative to. */
  epoch: number
  /** Claim segments that exist when the worker is spawned. */
  segments: SharedArrayBuffer[]
}

/**
 * An error as it crosses a thread boundary: plain data, always
 * structured-cloneable.
 */
export interface SerializedError {
  name: string
  message: string
  stack?: string
  /** The error's `code` property, when it had a string one (`ERR_*`). */
  code?: string
}

/** Turns anything thrown into a {@link SerializedError}. Never throws. */
export function serializeError(value: unknown): SerializedError {
  if (
    value instanceof Error ||
    (typeof value === 'object' && value !== null && 'message' in value)
  ) {
    const err = value as Partial<Error> & { code?: unknown }
    const out: SerializedError = {
      name: typeof err.name === 'string' ? err.name : 'Error',
      message: typeof err.message === 'string' ? err.message : safeString(err.message),
    }
    if (typeof err.stack === 'string') out.stack = err.stack
    if (typeof err.code === 'string') out.code = err.code
    return out
  }
  return { name: 'Error', message: safeString(value) }
}

function safeString(value: unknown): string {
  try {
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** This thread's `performance.timeOrigin` (read once: the getter is not free on a cold thread). */
const TIME_ORIGIN = performance.timeOrigin

/** Wall-clock milliseconds, monotonic within a thread. */
export function wallNow(): number {
  return Math.floor(TIME_ORIGIN + performance.now())
}

/** Milliseconds since `epoch`, as a wrapping int32 (compare with `(a - b) | 0`). */
export function relNow(epoch: number): number {
  return (wallNow() - epoch) | 0
}

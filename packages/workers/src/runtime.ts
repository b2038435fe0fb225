// (The `performance` global is a getter on every use; the module's binding is not.)
import { performance } from 'node:perf_hooks'
import { isMainThread, type MessagePort, type Transferable } from 'node:worker_threads'
import { MummyError } from '@mummy/errors'
import {
  CELLS_PER_SLOT,
  JOB_HEADER,
  JOB_STRIDE,
  K_DONE,
  K_ERR,
  K_MSG,
  LAST_FINISHED,
  RECORD_STRIDE,
  NOT_STARTED,
  REPORT_HEADER,
  RUNTIME_KEY,
  SEGMENT_SHIFT,
  SLOT_MASK,
  relNow,
  serializeError,
  type SerializedError,
  type WorkerInit,
} from './protocol.js'

/**
 * What a worker function gets besides its payload. Valid for as long as the
 * worker lives: `post()` may still be called after the function settled (a
 * stream that keeps sending), the messages keep this job's id.
 */
export interface JobContext {
  /** The id `submit()` returned on the main thread. */
  readonly jobId: number
  /** Index of this worker in the pool (`0 … size - 1`, kept across respawns). */
  readonly workerIndex: number
  /**
   * Sends `message` to the main thread, where `onMessage(message, jobId,
   * workerIndex)` receives it. Batched: messages posted during one turn of the
   * worker's event loop travel together, in order, and always before the job's
   * completion. `message` must be structured-cloneable; `transfer` lists
   * objects to move rather than copy.
   */
  post(message: unknown, transfer?: readonly Transferable[]): void
  /**
   * Posts `message` as this job's last message and sends it at once (`post()` then `flush()`).
   * If the job then completes without posting again, its completion usually needs no message
   * of its own: the pool learns of it when it receives this one (a job that answers once, such
   * as an HTTP request, costs one message to the main thread instead of two). Posting again
   * afterwards is allowed: the completion then travels as usual, after every message.
   */
  postLast(message: unknown, transfer?: readonly Transferable[]): void
  /**
   * Sends everything posted so far now instead of at the end of this turn. Use
   * it before long synchronous work that follows a message (a response sent
   * before the handler continues blocking); otherwise the batch waits until
   * the handler returns.
   */
  flush(): void
  /**
   * From now on this job does not count against the pool's `jobTimeout`: it will neither be
   * reported as timed out nor get its worker replaced for running long. For open-ended work
   * that follows the job's answer, such as writing a streamed response for minutes.
   */
  noTimeout(): void
}

/**
 * A worker's job handler. It may block (run synchronously for as long as it
 * likes) or return a promise. Throwing or rejecting reports the error for this
 * job only; the worker serves the next job.
 */
export type WorkerFunction = (payload: unknown, ctx: JobContext) => void | Promise<void>

/** Options of {@link runWorker}. */
export interface RunWorkerOptions {
  /**
   * Receives the messages the main thread sends with `pool.post()`. An error
   * thrown here is uncaught: it ends the worker (which the pool respawns).
   */
  onControl?(message: unknown): void
}

type Registration = { fn: WorkerFunction; onControl: ((message: unknown) => void) | undefined }

/** Worker flushes its outgoing batch mid-run once it is this old (ms). */
const FLUSH_AFTER_MS = 2

class Context implements JobContext {
  readonly #rt: Runtime
  readonly jobId: number
  readonly #slot: number
  /** The job's latest message was posted with {@link postLast}. */
  last = false

  constructor(rt: Runtime, jobId: number, slot: number) {
    this.#rt = rt
    this.jobId = jobId
    this.#slot = slot
  }
  noTimeout(): void {
    this.#rt.noTimeout(this.#slot)
  }
  get workerIndex(): number {
    return this.#rt.index
  }
  post(message: unknown, transfer?: readonly Transferable[]): void {
    this.last = false
    this.#rt.post(this.jobId, message, transfer)
  }
  postLast(message: unknown, transfer?: readonly Transferable[]): void {
    this.last = true
    this.#rt.post(this.jobId, message, transfer, this.#slot + 1)
    this.#rt.flush()
  }
  flush(): void {
    this.#rt.flush()
  }
}

/**
 * The worker-side engine: receives job batches, claims and runs jobs, batches
 * messages and completions back. One per worker thread, created by the
 * bootstrap before the user module is imported and kept on `globalThis` so
 * every copy of this package in the worker finds it. Internal.
 */
export class Runtime {
  readonly index: number
  readonly data: unknown
  readonly #concurrency: number
  readonly #epoch: number
  readonly #claimTag: number
  readonly #views: Int32Array[] = []
  #registration: Registration | null = null
  #ready = false

  /** Received batches not fully consumed; `#cursor` indexes the first one. */
  readonly #inbox: unknown[][] = []
  #inboxHead = 0
  #cursor = JOB_HEADER
  #queued = 0
  #running = 0
  #pumping = false

  #out: unknown[] = [0, 0, 0]
  #outSince = 0
  #outTransfer: Transferable[] | null = null
  #outTransferAt: [number, readonly Transferable[]][] | null = null
  #flushScheduled = false
  /**
   * Inside the handler of a message from the pool: what is recorded meanwhile is sent when that
   * handler ends, without a `setImmediate` (a job that completes synchronously costs one turn).
   */
  #dispatching = false
  #ack = 0
  #reportedAck = 0
  readonly #port: MessagePort

  constructor(init: WorkerInit, port: MessagePort) {
    this.#port = port
    this.index = init.index
    this.data = init.data
    this.#concurrency = init.concurrency
    this.#epoch = init.epoch
    this.#claimTag = init.index + 1
    for (const sab of init.segments) this.#views.push(new Int32Array(sab))
  }

  get registered(): boolean {
    return this.#registration !== null
  }

  register(fn: WorkerFunction, options: RunWorkerOptions | undefined): void {
    if (typeof fn !== 'function') {
      throw new MummyError('ERR_MUMMY_INVALID_ARGUMENT', 'runWorker(fn): fn must be a function')
    }
    if (this.#registration !== null) {
      throw new MummyError(
        'ERR_MUMMY_WORKER_ALREADY_RUNNING',
        'runWorker() was already called in this worker',
      )
    }
    const onControl = options?.onControl
    this.#registration = {
      fn,
      onControl: onControl === undefined ? undefined : onControl.bind(options),
    }
  }

  /** Called by the bootstrap once the user module has been evaluated. */
  start(): void {
    if (this.#registration === null) {
      throw new MummyError('ERR_MUMMY_WORKER_START', 'worker module did not call runWorker()')
    }
    this.#ready = true
    this.#port.on('message', (message: unknown) => {
      this.#dispatching = true
      try {
        this.#receive(message)
      } finally {
        this.#dispatching = false
        // Everything the jobs started here recorded synchronously (answers, completions) goes in
        // one batch now; what async jobs record later schedules its own flush.
        if (this.#flushScheduled) {
          this.#flushScheduled = false
          this.flush()
        }
      }
    })
    // process.exit() or an uncaught error: send what already completed, so only
    // the jobs really cut short are reported as failed.
    process.on('exit', () => this.flush())
    this.#port.postMessage({ ready: true })
    if (this.#out.length > REPORT_HEADER) this.#scheduleFlush()
  }

  /**
   * Queues a message for the main thread (`jobId` -1: outside any job); `lastOf` is slot + 1
   * when it is that job's last message (`postLast`).
   */
  post(
    jobId: number,
    message: unknown,
    transfer: readonly Transferable[] | undefined,
    lastOf = 0,
  ): void {
    if (transfer !== undefined && transfer.length > 0) {
      if (this.#outTransfer === null) this.#outTransfer = []
      for (const item of transfer) this.#outTransfer.push(item)
      ;(this.#outTransferAt ??= []).push([this.#out.length, transfer])
    }
    this.#record(K_MSG, jobId, message, lastOf)
  }

  /** Marks the job in `slot` as not started, as far as timeouts go. */
  noTimeout(slot: number): void {
    const view = this.#views[slot >>> SEGMENT_SHIFT] as Int32Array
    Atomics.store(view, (slot & SLOT_MASK) * CELLS_PER_SLOT + 1, NOT_STARTED)
  }

  /**
   * Sends the pending batch now (no-op when there is nothing to say). With `ack`, reports even
   * an empty batch: the pool's probe of a worker it suspects is blocked.
   */
  flush(ack = false): void {
    if (!this.#ready) return
    const out = this.#out
    const hungry = this.#running < this.#concurrency && this.#queued === 0
    if (out.length === REPORT_HEADER && !((hungry || ack) && this.#ack !== this.#reportedAck))
      return
    out[0] = this.#ack
    out[1] = this.#running
    out[2] = this.#queued
    this.#reportedAck = this.#ack
    const transfer = this.#outTransfer
    const transferAt = this.#outTransferAt
    this.#out = [0, 0, 0]
    this.#outTransfer = null
    this.#outTransferAt = null
    try {
      this.#port.postMessage(out, transfer ?? undefined)
    } catch (err) {
      this.#flushOneByOne(out, transferAt, err)
    }
  }

  #receive(message: unknown): void {
    if (Array.isArray(message)) {
      this.#ack = message[0] as number
      const segments = message[1] as SharedArrayBuffer[] | null
      if (segments !== null) for (const sab of segments) this.#views.push(new Int32Array(sab))
      if (message.length > JOB_HEADER) {
        this.#inbox.push(message)
        this.#queued += (message.length - JOB_HEADER) / JOB_STRIDE
      } else if (segments === null) {
        // A probe: the pool asks whether this thread's event loop runs.
        this.flush(true)
        return
      }
      this.#pump()
      if (this.#running < this.#concurrency) this.#scheduleFlush()
    } else if (typeof message === 'object' && message !== null && 'c' in message) {
      this.#registration?.onControl?.((message as { c: unknown }).c)
    }
  }

  /** Claims and starts queued jobs while there is capacity. */
  #pump(): void {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.#running < this.#concurrency && this.#queued > 0) {
        const batch = this.#inbox[this.#inboxHead] as unknown[]
        const at = this.#cursor
        const jobId = batch[at] as number
        const slot = batch[at + 1] as number
        const expected = (batch[at + 2] as number) << 8
        const payload = batch[at + 3]
        batch[at + 3] = undefined
        this.#queued--
        this.#cursor = at + JOB_STRIDE
        if (this.#cursor >= batch.length) this.#nextBatch()
        const view = this.#views[slot >>> SEGMENT_SHIFT] as Int32Array
        const cell = (slot & SLOT_MASK) * CELLS_PER_SLOT
        if (Atomics.compareExchange(view, cell, expected, expected | this.#claimTag) !== expected)
          continue
        Atomics.store(view, cell + 1, relNow(this.#epoch))
        this.#run(jobId, slot, payload)
        if (
          this.#out.length > REPORT_HEADER &&
          performance.now() - this.#outSince >= FLUSH_AFTER_MS
        )
          this.flush()
      }
    } finally {
      this.#pumping = false
    }
  }

  #nextBatch(): void {
    this.#inbox[this.#inboxHead++] = []
    this.#cursor = JOB_HEADER
    if (this.#inboxHead === this.#inbox.length) {
      this.#inbox.length = 0
      this.#inboxHead = 0
    } else if (this.#inboxHead >= 64) {
      this.#inbox.splice(0, this.#inboxHead)
      this.#inboxHead = 0
    }
  }

  #run(jobId: number, slot: number, payload: unknown): void {
    const fn = (this.#registration as Registration).fn
    this.#running++
    const ctx = new Context(this, jobId, slot)
    let result: unknown
    try {
      result = fn(payload, ctx)
      if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
        const then = (result as { then?: unknown }).then
        if (typeof then === 'function') {
          then.call(
            result,
            () => this.#settle(slot, jobId, ctx, null),
            (err: unknown) => this.#settle(slot, jobId, ctx, serializeError(err)),
          )
          return
        }
      }
    } catch (err) {
      this.#running--
      this.#record(K_ERR, slot, jobId, serializeError(err))
      return
    }
    this.#running--
    this.#completed(slot, jobId, ctx)
  }

  /** Records the job's success, unless its completion travels with its last message. */
  #completed(slot: number, jobId: number, ctx: Context): void {
    if (!(ctx.last && this.#finishedAfterLast(slot))) this.#record(K_DONE, slot, jobId, 0)
  }

  /**
   * The job in `slot` completed right after its last message: `true` when the pool has not
   * delivered that message yet, so that it reports the completion on delivery (lazily: nothing
   * is sent). See the handshake cell in protocol.ts.
   */
  #finishedAfterLast(slot: number): boolean {
    const view = this.#views[slot >>> SEGMENT_SHIFT] as Int32Array
    const at = (slot & SLOT_MASK) * CELLS_PER_SLOT + 2
    return Atomics.compareExchange(view, at, 0, LAST_FINISHED) === 0
  }

  /** An async job settled: `error` when it rejected. */
  #settle(slot: number, jobId: number, ctx: Context, error: SerializedError | null): void {
    this.#running--
    if (error === null) this.#completed(slot, jobId, ctx)
    else this.#record(K_ERR, slot, jobId, error)
    this.#pump()
  }

  #record(kind: number, a: unknown, b: unknown, c: unknown): void {
    const out = this.#out
    if (out.length === REPORT_HEADER) {
      this.#outSince = performance.now()
      this.#scheduleFlush()
    }
    out.push(kind, a, b, c)
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || !this.#ready) return
    this.#flushScheduled = true
    // Inside a message handler the flag alone suffices: the handler's end sends the batch.
    if (!this.#dispatching) setImmediate(this.#flushLater)
  }

  readonly #flushLater = (): void => {
    if (!this.#flushScheduled) return
    this.#flushScheduled = false
    this.flush()
  }

  /**
   * The batch could not be cloned (an uncloneable message, or one transferable
   * listed twice): send record by record and drop only what cannot travel.
   */
  #flushOneByOne(
    out: unknown[],
    transferAt: [number, readonly Transferable[]][] | null,
    cause: unknown,
  ): void {
    const transfers = new Map(transferAt ?? [])
    for (let i = REPORT_HEADER; i < out.length; i += RECORD_STRIDE) {
      const single = [out[0], out[1], out[2], out[i], out[i + 1], out[i + 2], out[i + 3]]
      try {
        this.#port.postMessage(single, transfers.get(i))
      } catch (err) {
        const jobId = out[i] === K_MSG ? (out[i + 1] as number) : (out[i + 2] as number)
        process.emitWarning(
          `@mummy/workers: dropped a message of job ${jobId < 0 ? '(none)' : jobId} that could not be sent to the main thread: ${serializeError(err).message}`,
          { code: 'MUMMY_WORKERS_UNCLONEABLE', detail: serializeError(cause).message },
        )
      }
    }
  }
}

/** The runtime of this thread, when it is a pool worker. */
export function currentRuntime(): Runtime | undefined {
  return (globalThis as Record<symbol, Runtime | undefined>)[RUNTIME_KEY]
}

/** Creates this thread's runtime. Called once by the bootstrap. */
export function installRuntime(init: WorkerInit, port: MessagePort): Runtime {
  const rt = new Runtime(init, port)
  Object.defineProperty(globalThis, RUNTIME_KEY, {
    value: rt,
    configurable: false,
    enumerable: false,
    writable: false,
  })
  return rt
}

function requireRuntime(what: string): Runtime {
  const rt = currentRuntime()
  if (rt === undefined) {
    throw new MummyError(
      'ERR_MUMMY_NOT_IN_WORKER',
      isMainThread
        ? `${what} can only be called inside a pool worker, not on the main thread`
        : `${what} can only be called inside a worker started by a WorkerPool`,
    )
  }
  return rt
}

/**
 * Makes this worker serve jobs with `fn`. Call it exactly once, from the
 * module given as `workerURL` (or from a module it imports), during that
 * module's evaluation: the worker reports ready only after the module —
 * including any top-level `await` — has finished loading, and fails to start
 * if `runWorker()` was not called by then.
 *
 * @throws MummyError `ERR_MUMMY_NOT_IN_WORKER` outside a pool worker,
 *   `ERR_MUMMY_WORKER_ALREADY_RUNNING` when called twice.
 *
 * @example
 * ```ts
 * // app-worker.ts, loaded with new WorkerPool({ workerURL: new URL('./app-worker.js', import.meta.url), … })
 * import { runWorker } from '@mummy/workers'
 * const db = await openDatabase()            // finishes before the worker is ready
 * runWorker((payload, ctx) => {
 *   ctx.post({ rows: db.query(payload as string) })
 * }, { onControl: (message) => applyConfig(message) })
 * ```
 */
export function runWorker(fn: WorkerFunction, options?: RunWorkerOptions): void {
  requireRuntime('runWorker()').register(fn, options)
}

/**
 * Sends `message` to the main thread outside any job (`onMessage` receives
 * `jobId === null`). Batched like {@link JobContext.post}. Messages posted
 * before the worker is ready are sent right after it is.
 *
 * @throws MummyError `ERR_MUMMY_NOT_IN_WORKER` outside a pool worker.
 * @example
 * ```ts
 * postToMain({ type: 'metrics', heapUsed: process.memoryUsage().heapUsed })
 * ```
 */
export function postToMain(message: unknown, transfer?: readonly Transferable[]): void {
  requireRuntime('postToMain()').post(-1, message, transfer)
}

/**
 * Sends every message posted so far (by any job or {@link postToMain}) now,
 * instead of at the end of the current turn of the worker's event loop.
 *
 * @throws MummyError `ERR_MUMMY_NOT_IN_WORKER` outside a pool worker.
 */
export function flushToMain(): void {
  requireRuntime('flushToMain()').flush()
}

/**
 * `true` in a worker thread started by a {@link WorkerPool} (already during
 * the evaluation of the worker module), `false` anywhere else.
 *
 * @example
 * ```ts
 * if (isPoolWorker()) runWorker(handle)
 * else await startServer()
 * ```
 */
export function isPoolWorker(): boolean {
  return currentRuntime() !== undefined
}

/** The pool's `workerData` option in a pool worker; `undefined` elsewhere. */
export function getWorkerData(): unknown {
  return currentRuntime()?.data
}

/** This worker's index in its pool (`0 … size - 1`); `-1` outside a pool worker. */
export function getWorkerIndex(): number {
  return currentRuntime()?.index ?? -1
}

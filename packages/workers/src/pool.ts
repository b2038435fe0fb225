// (The `performance` global is a getter on every use; the module's binding is not.)
import { performance } from 'node:perf_hooks'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  Worker,
  type ResourceLimits,
  type Transferable,
  type WorkerOptions,
} from 'node:worker_threads'
import { MummyError } from '@mummy/errors'
import { ClaimTable, UNCLAIMED } from './claims.js'
import { Deque } from './deque.js'
import {
  INIT_KEY,
  JOB_HEADER,
  JOB_STRIDE,
  K_DONE,
  K_ERR,
  K_MSG,
  MAX_WORKERS,
  NOT_STARTED,
  RECORD_STRIDE,
  REPORT_HEADER,
  relNow,
  serializeError,
  wallNow,
  type SerializedError,
  type WorkerInit,
} from './protocol.js'

/** Why a job failed: its worker died while holding it, or it ran past `jobTimeout`. */
export type JobFailureReason = 'worker-died' | 'timeout'

/** Options of {@link WorkerPool}. Callbacks run on the main thread. */
export interface PoolOptions {
  /** Number of worker threads, 1 … 254. */
  size: number
  /**
   * Module every worker imports (URL, `file:` href or file path). It must call
   * `runWorker()` — directly or through a module it imports — before its
   * evaluation (top-level `await` included) finishes.
   */
  workerURL: URL | string
  /** Structured-cloneable data for every worker: `getWorkerData()` there. */
  workerData?: unknown
  /** Jobs one worker runs at once (async functions interleave). Default 1. */
  concurrency?: number
  /**
   * Jobs the pool may hand to a worker beyond its `concurrency`, so that it
   * finds work ready when it finishes (fewer, larger batches). Unclaimed
   * prefetched jobs move to whichever worker goes idle first. Default 128.
   */
  prefetch?: number
  /** Heap limits of each worker; exceeding them ends the worker (jobs fail with `'worker-died'`). */
  resourceLimits?: ResourceLimits
  /** Passed to `new Worker()`. */
  execArgv?: string[]
  /** Passed to `new Worker()`. */
  env?: WorkerOptions['env']
  /**
   * Milliseconds a job may run (from when a worker starts it) before it is
   * reported with `onJobFailed(id, 'timeout')`. If it is still running three
   * ticks later (a tick is `jobTimeout / 4`, at most 100 ms), its worker is
   * terminated and respawned when it is stuck: every job slot it has is held by an overdue
   * job (always so with `concurrency` 1), or its event loop does not answer a
   * probe (a handler blocking it). A worker that still answers keeps serving
   * its other jobs, and is replaced only if the job runs past
   * `3 × jobTimeout`. Jobs it held but had not started move to other workers.
   * `0`/unset: no limit. Checked by one coarse timer (≤ 100 ms resolution).
   */
  jobTimeout?: number
  /**
   * Respawn back-off in ms. Default `{ min: 10, max: 5000 }`. Doubles on each
   * consecutive death of a worker that lived less than 5 s, resets otherwise.
   */
  respawnDelay?: { min: number; max: number }
  /**
   * Every message a worker posted, with the job it belongs to (`null` for
   * `postToMain()`). A job's messages arrive in order and before its
   * `onJobDone`/`onJobError`; messages a job posts after its function settled
   * (or after it timed out) still arrive, with the same id.
   */
  onMessage(message: unknown, jobId: number | null, workerIndex: number): void
  /** The job's function returned or resolved. */
  onJobDone?(jobId: number): void
  /** The job's function threw or rejected; its worker lives on. */
  onJobError?(jobId: number, error: SerializedError): void
  /**
   * The job will not complete normally: its worker died while running it
   * (`process.exit()`, an uncaught error outside a job, `resourceLimits`), it
   * passed `jobTimeout`, or `close()` gave up on it (`'worker-died'` with
   * `detail.code === 'ERR_MUMMY_POOL_CLOSED'`). Each job gets exactly one of
   * `onJobDone`, `onJobError`, `onJobFailed`.
   */
  onJobFailed?(jobId: number, reason: JobFailureReason, detail?: SerializedError): void
  /** A worker thread exited (for any reason, `close()` included); `error` is its uncaught error, if any. */
  onWorkerExit?(workerIndex: number, code: number, error?: SerializedError): void
  /** A worker (first start or respawn) loaded `workerURL` and is taking jobs. */
  onWorkerReady?(workerIndex: number): void
}

/** Counters since the pool was created. */
export interface PoolStats {
  /** Jobs accepted by `submit()`. */
  submitted: number
  /** Jobs whose function settled (`onJobDone` + `onJobError`). */
  completed: number
  /** Of `completed`, those that threw or rejected (`onJobError`). */
  errored: number
  /** Jobs reported with `onJobFailed` (any reason). */
  failed: number
  /** Of `failed`, those that passed `jobTimeout`. */
  timeouts: number
  /** Workers started again after an exit (successful or not). */
  respawns: number
  /** Job batches sent main → worker (one `postMessage` each). */
  batches: number
  /** Jobs re-sent to an idle worker while another worker still held them unclaimed. */
  steals: number
  /**
   * Of `completed`, jobs whose completion needed no message of its own: it was learnt when
   * their last message (`ctx.postLast()`) arrived.
   */
  completedWithLast: number
}

interface Job {
  readonly id: number
  payload: unknown
  readonly key: string | number | undefined
  readonly transfer: readonly Transferable[] | undefined
  /** Claim slot while handed out (or re-queued after a death), else -1. */
  slot: number
  /** Workers currently holding a copy. */
  copies: number
  /** Already told the user how it ended (done, error or failure). */
  reported: boolean
  /** Number of the flush that last handed it out (not re-offered in the same flush). */
  mark: number
}

const DEAD = 0
const STARTING = 1
const READY = 2
const STOPPING = 3

/** A worker position in the pool; survives respawns. */
class Member {
  state = DEAD
  worker: Worker | null = null
  /** Jobs sent to this worker and not known finished or claimed elsewhere (insertion = send order). */
  readonly held = new Set<Job>()
  sentSeq = 0
  ackSeq = 0
  /** Last report said: spare capacity and nothing queued. */
  hungry = false
  lastHeard = 0
  lastSent = 0
  /** When the oldest batch it has not acknowledged yet was sent. */
  waitingSince = 0
  segmentsSent = 0
  out: unknown[] | null = null
  outTransfer: Transferable[] | null = null
  everReady = false
  spawnedAt = 0
  backoff = 0
  respawnTimer: NodeJS.Timeout | null = null
  error: SerializedError | undefined = undefined
  killDetail: SerializedError | undefined = undefined
  exited: Promise<void> = Promise.resolve()
  resolveExit: () => void = () => {}
  constructor(readonly index: number) {}
}

type Phase = 'new' | 'starting' | 'started' | 'failed'

const BOOTSTRAP = new URL('./bootstrap.js', import.meta.url)
/** A worker that has not been heard from for this long is treated as blocked when stealing (ms). */
const STALL_MS = 10
const QUICK_DEATH_MS = 5000
/**
 * Ticks a job may run past its timeout before its worker counts as stuck: a job that ends just
 * late keeps its worker, and a stuck one is replaced at most `jobTimeout` + 4 ticks (400 ms) on.
 */
const STUCK_TICKS = 3
const DEFAULT_PREFETCH = 128
const MAX_TIMEOUT = 2 ** 29

const CLOSED_DETAIL: SerializedError = Object.freeze({
  name: 'MummyError',
  code: 'ERR_MUMMY_POOL_CLOSED',
  message: 'the pool was closed before the job completed',
})

/**
 * A pool of `worker_threads` running one user function on structured-cloneable
 * jobs. Knows nothing of HTTP.
 *
 * - **Work-conserving**: a job never waits behind a busy worker while another
 *   is idle — jobs go to the least-loaded workers, and jobs a busy worker has
 *   not started yet are re-offered to idle workers (a shared claim cell per job
 *   decides who runs it).
 * - **Batched**: jobs submitted during one turn of the event loop travel as one
 *   message per worker; a worker's messages and completions travel back as one
 *   message per turn of its loop.
 * - **Per-key order**: jobs with the same key run one at a time, in submission
 *   order.
 * - **Faults stay local**: a throwing job → `onJobError`; a dying worker →
 *   `onJobFailed(id, 'worker-died')` for the jobs it was running, its other
 *   jobs move to other workers, and it is respawned with back-off.
 *
 * The queue is unbounded: while every worker is busy or dead, submitted jobs
 * wait in memory. Apply backpressure before `submit()` (look at `queued`).
 *
 * @example
 * ```ts
 * const pool = new WorkerPool({
 *   size: 4,
 *   workerURL: new URL('./worker.js', import.meta.url),
 *   onMessage: (message, jobId) => console.log(jobId, message),
 *   onJobDone: (jobId) => console.log('done', jobId),
 * })
 * await pool.start()
 * pool.submit({ n: 42 })
 * pool.submit({ text: 'hi' }, 'connection-7')  // ordered with other jobs of 'connection-7'
 * await pool.close()
 * ```
 */
export class WorkerPool {
  /** Number of workers. */
  readonly size: number

  readonly #url: string
  readonly #data: unknown
  readonly #concurrency: number
  readonly #prefetch: number
  readonly #jobTimeout: number
  readonly #respawnMin: number
  readonly #respawnMax: number
  readonly #workerOptions: WorkerOptions
  readonly #onMessage: PoolOptions['onMessage']
  readonly #onJobDone: PoolOptions['onJobDone']
  readonly #onJobError: PoolOptions['onJobError']
  readonly #onJobFailed: PoolOptions['onJobFailed']
  readonly #onWorkerExit: PoolOptions['onWorkerExit']
  readonly #onWorkerReady: PoolOptions['onWorkerReady']

  readonly #epoch = wallNow()
  readonly #claims = new ClaimTable<Job>()
  readonly #members: Member[] = []
  /** Jobs ready to hand out (keyed jobs only once they are the head of their key). */
  readonly #queue = new Deque<Job>()
  /** Active keys → jobs waiting behind the running one (`null`: none waiting). */
  readonly #keys = new Map<string | number, Deque<Job> | null>()

  #phase: Phase = 'new'
  #closed = false
  #terminating = false
  #startPromise: Promise<void> | null = null
  #startSettle: { resolve: () => void; reject: (err: Error) => void } | null = null
  #pendingReady = 0
  #closePromise: Promise<void> | null = null
  #terminated: Promise<void> | null = null
  #drainWaiters: (() => void)[] = []
  #tick: NodeJS.Timeout | null = null
  /** The tick's period; a job past its timeout gets {@link STUCK_TICKS} of them before its worker is replaced. */
  #tickMs = 250

  #readyCount = 0
  #queuedCount = 0
  #inflightCount = 0
  #lastId = 0
  #flushQueued = false
  #flushNo = 0
  #rr = 0
  /** Scratch for {@link WorkerPool.#flush}: each worker's effective load. */
  readonly #loads: number[] = []

  #submitted = 0
  #completed = 0
  #errored = 0
  #failed = 0
  #timeouts = 0
  #respawns = 0
  #batches = 0
  #steals = 0
  #withLast = 0

  readonly #flushBound = (): void => this.#flush()

  constructor(options: PoolOptions) {
    if (typeof options !== 'object' || options === null) invalid('options must be an object')
    const { size, concurrency = 1, prefetch = DEFAULT_PREFETCH, jobTimeout = 0 } = options
    if (!Number.isInteger(size) || size < 1 || size > MAX_WORKERS)
      invalid(`size must be an integer 1…${MAX_WORKERS}`)
    if (!Number.isInteger(concurrency) || concurrency < 1)
      invalid('concurrency must be an integer >= 1')
    if (!Number.isInteger(prefetch) || prefetch < 0) invalid('prefetch must be an integer >= 0')
    if (typeof jobTimeout !== 'number' || !(jobTimeout >= 0 && jobTimeout <= MAX_TIMEOUT)) {
      invalid(`jobTimeout must be a number of ms, 0…${MAX_TIMEOUT}`)
    }
    const delay = options.respawnDelay ?? { min: 10, max: 5000 }
    if (!(delay.min >= 0 && delay.max >= delay.min && Number.isFinite(delay.max))) {
      invalid('respawnDelay must be { min, max } with 0 <= min <= max')
    }
    if (typeof options.onMessage !== 'function') invalid('onMessage must be a function')
    this.size = size
    this.#url = toHref(options.workerURL)
    this.#data = options.workerData
    this.#concurrency = concurrency
    this.#prefetch = prefetch
    this.#jobTimeout = jobTimeout
    this.#respawnMin = delay.min
    this.#respawnMax = delay.max
    // Descriptors belong to the process: a worker may open one and hand it to another thread
    // (respondFile does), so a worker that exits must not close what it opened — Node's
    // default would close numbers that by then may name another file or socket.
    this.#workerOptions = { trackUnmanagedFds: false }
    if (options.resourceLimits !== undefined)
      this.#workerOptions.resourceLimits = options.resourceLimits
    if (options.execArgv !== undefined) this.#workerOptions.execArgv = options.execArgv
    if (options.env !== undefined) this.#workerOptions.env = options.env
    this.#onMessage = options.onMessage.bind(options)
    this.#onJobDone = options.onJobDone?.bind(options)
    this.#onJobError = options.onJobError?.bind(options)
    this.#onJobFailed = options.onJobFailed?.bind(options)
    this.#onWorkerExit = options.onWorkerExit?.bind(options)
    this.#onWorkerReady = options.onWorkerReady?.bind(options)
    for (let i = 0; i < size; i++) this.#members.push(new Member(i))
  }

  /** Workers currently loaded and taking jobs. */
  get alive(): number {
    return this.#readyCount
  }

  /** Jobs waiting in the pool (not yet handed to a worker, or waiting behind their key). */
  get queued(): number {
    return this.#queuedCount
  }

  /**
   * Jobs handed to workers and not yet ended: running, or waiting in a
   * worker's batch to be claimed. Includes jobs reported as timed out that
   * are still running.
   */
  get running(): number {
    return this.#inflightCount
  }

  /** Counters since the pool was created. */
  stats(): PoolStats {
    return {
      submitted: this.#submitted,
      completed: this.#completed,
      errored: this.#errored,
      failed: this.#failed,
      timeouts: this.#timeouts,
      respawns: this.#respawns,
      batches: this.#batches,
      steals: this.#steals,
      completedWithLast: this.#withLast,
    }
  }

  /**
   * @internal What the pool still keeps for jobs and keys: active keys, claim-table segments
   * (only ever added) and jobs held by workers. Tests check nothing is left behind.
   */
  retained(): { keys: number; claimSegments: number; held: number } {
    let held = 0
    for (const member of this.#members) held += member.held.size
    return { keys: this.#keys.size, claimSegments: this.#claims.segments.length, held }
  }

  /**
   * Starts every worker. Resolves once each has imported `workerURL`
   * (top-level `await` included) and called `runWorker()`. Jobs submitted
   * before are queued. Idempotent.
   *
   * @throws MummyError `ERR_MUMMY_WORKER_START` (rejection) when a worker fails
   *   to load — the message includes the worker's error, `cause` is its
   *   {@link SerializedError}. The pool is then closed and its threads ended.
   */
  start(): Promise<void> {
    if (this.#startPromise !== null) return this.#startPromise
    if (this.#closed) return Promise.reject(closedError())
    this.#phase = 'starting'
    this.#pendingReady = this.size
    this.#startPromise = new Promise<void>((resolve, reject) => {
      this.#startSettle = { resolve, reject }
    })
    this.#tickMs =
      this.#jobTimeout > 0 ? Math.min(100, Math.max(10, Math.floor(this.#jobTimeout / 4))) : 250
    this.#tick = setInterval(() => this.#onTick(), this.#tickMs)
    this.#tick.unref()
    for (const member of this.#members) this.#spawn(member)
    return this.#startPromise
  }

  /**
   * Queues a job and returns its id (1, 2, …). Never blocks: the job is handed
   * to a worker at the end of the current turn of the event loop, together
   * with every other job submitted during it.
   *
   * Jobs with the same `key` run in submission order, one at a time: the next
   * starts only after the previous one completed, errored or failed (a job
   * that timed out counts as failed, even if it is still running). Different
   * keys and unkeyed jobs run in parallel.
   *
   * `transfer` moves (rather than copies) those objects to the worker. Such a
   * job is only handed to a worker with a free slot, is never re-offered to
   * another worker, and fails with `'worker-died'` if its worker dies before
   * starting it (its data went with the worker).
   *
   * @throws MummyError `ERR_MUMMY_POOL_CLOSED` after `close()`.
   */
  submit(payload: unknown, key?: string | number, transfer?: readonly Transferable[]): number {
    if (this.#closed) throw closedError()
    if (key !== undefined && key !== null && typeof key !== 'string' && typeof key !== 'number') {
      throw new MummyError(
        'ERR_MUMMY_INVALID_ARGUMENT',
        'submit(payload, key): key must be a string or a number',
      )
    }
    const id = ++this.#lastId
    const job: Job = {
      id,
      payload,
      key: key ?? undefined,
      transfer: transfer !== undefined && transfer.length > 0 ? transfer : undefined,
      slot: -1,
      copies: 0,
      reported: false,
      mark: 0,
    }
    this.#submitted++
    this.#queuedCount++
    if (job.key !== undefined) {
      const waiting = this.#keys.get(job.key)
      if (waiting !== undefined) {
        if (waiting === null) {
          const chain = new Deque<Job>()
          chain.push(job)
          this.#keys.set(job.key, chain)
        } else {
          waiting.push(job)
        }
        return id
      }
      this.#keys.set(job.key, null)
    }
    this.#queue.push(job)
    this.#scheduleFlush()
    return id
  }

  /**
   * Sends a control message to one worker or to all of them; the worker's
   * `onControl` handler receives it. Sent immediately (not batched with jobs).
   * Workers that are dead or respawning miss it: re-send from `onWorkerReady`
   * if every worker must see it. Ignored once the pool is shutting down.
   *
   * @throws MummyError `ERR_MUMMY_INVALID_ARGUMENT` for an unknown index; the
   *   structured-clone error when `message` cannot be cloned.
   */
  post(workerIndex: number | 'all', message: unknown): void {
    const targets =
      workerIndex === 'all'
        ? this.#members
        : Number.isInteger(workerIndex) && workerIndex >= 0 && workerIndex < this.size
          ? [this.#members[workerIndex] as Member]
          : null
    if (targets === null)
      throw new MummyError('ERR_MUMMY_INVALID_ARGUMENT', `no worker ${String(workerIndex)}`)
    if (this.#terminating) return
    const envelope = { c: message }
    for (const member of targets) {
      if (member.worker !== null && (member.state === READY || member.state === STARTING)) {
        member.worker.postMessage(envelope)
      }
    }
  }

  /**
   * Stops accepting jobs (`submit()` then throws `ERR_MUMMY_POOL_CLOSED`),
   * waits for queued and running jobs to finish — at most `timeout` ms
   * (default 10 000) — then terminates the workers. Jobs still unfinished at
   * that point get `onJobFailed(id, 'worker-died', { code:
   * 'ERR_MUMMY_POOL_CLOSED' })` (or the plain worker-died report if they
   * were running). Resolves when every thread has exited. Idempotent: later
   * calls return the same promise.
   */
  close(options: { timeout?: number } = {}): Promise<void> {
    if (this.#closePromise !== null) return this.#closePromise
    this.#closed = true
    this.#closePromise = this.#shutdown(options.timeout ?? 10_000)
    return this.#closePromise
  }

  // ---------------------------------------------------------------- lifecycle

  async #shutdown(timeout: number): Promise<void> {
    if (this.#phase === 'new') {
      this.#failQueued()
      return
    }
    if (this.#phase !== 'failed' && this.#queuedCount + this.#inflightCount > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeout)
        this.#drainWaiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    await this.#terminateAll()
  }

  /**
   * Withdraws every job no worker has started yet — queued, or handed out but not claimed —
   * so that none of them will run: each gets `onJobFailed(id, 'worker-died', { code:
   * 'ERR_MUMMY_POOL_CLOSED' })`. Running jobs go on. Returns how many were withdrawn. For a
   * shutdown deadline: work that was answered "not done" must not start afterwards.
   *
   * @example
   * ```ts
   * setTimeout(() => pool.withdrawUnstarted(), deadline)
   * ```
   */
  withdrawUnstarted(): number {
    const before = this.#failed
    this.#failQueued()
    for (const member of this.#members) {
      for (const job of member.held) {
        if (
          job.slot >= 0 &&
          this.#claims.claimer(job.slot) === UNCLAIMED &&
          this.#claims.revoke(job.slot)
        ) {
          this.#retire(job)
          this.#report(job, 'worker-died', CLOSED_DETAIL)
        }
      }
    }
    this.#checkDrain()
    return this.#failed - before
  }

  #terminateAll(): Promise<void> {
    if (this.#terminated !== null) return this.#terminated
    this.#terminating = true
    if (this.#tick !== null) clearInterval(this.#tick)
    this.#tick = null
    for (const member of this.#members) {
      if (member.respawnTimer !== null) clearTimeout(member.respawnTimer)
      member.respawnTimer = null
    }
    this.withdrawUnstarted()
    for (const member of this.#members) {
      if (member.state === READY) this.#readyCount--
      if (member.worker !== null) {
        member.state = STOPPING
        void member.worker.terminate()
      }
    }
    this.#terminated = Promise.all(this.#members.map((m) => m.exited)).then(() => {
      this.#resolveDrain()
    })
    return this.#terminated
  }

  /** Fails every job that was never handed out (close, failed start). */
  #failQueued(): void {
    const jobs = this.#queue.drain()
    for (const waiting of this.#keys.values()) if (waiting !== null) jobs.push(...waiting.drain())
    this.#keys.clear()
    for (const job of jobs) {
      this.#queuedCount--
      if (job.slot >= 0) this.#claims.release(job.slot)
      job.slot = -1
      job.payload = undefined
      job.reported = true
      this.#failed++
      this.#call3(this.#onJobFailed, job.id, 'worker-died', CLOSED_DETAIL)
    }
  }

  #spawn(member: Member): void {
    member.state = STARTING
    member.spawnedAt = performance.now()
    member.sentSeq = 0
    member.ackSeq = 0
    member.hungry = false
    member.error = undefined
    member.killDetail = undefined
    member.segmentsSent = this.#claims.segments.length
    member.exited = new Promise<void>((resolve) => {
      member.resolveExit = resolve
    })
    const init: WorkerInit = {
      url: this.#url,
      data: this.#data,
      index: member.index,
      concurrency: this.#concurrency,
      epoch: this.#epoch,
      segments: this.#claims.segments.slice(),
    }
    let worker: Worker
    try {
      worker = new Worker(BOOTSTRAP, { ...this.#workerOptions, workerData: { [INIT_KEY]: init } })
    } catch (err) {
      member.error = serializeError(err)
      queueMicrotask(() => this.#onExit(member, null, 1))
      return
    }
    member.worker = worker
    worker.on('message', (message: unknown) => {
      if (member.worker !== worker) return
      if (Array.isArray(message)) this.#onReport(member, message)
      else if (
        typeof message === 'object' &&
        message !== null &&
        (message as { ready?: unknown }).ready === true
      ) {
        this.#onReady(member)
      }
    })
    worker.on('error', (err: unknown) => {
      if (member.worker === worker) member.error = serializeError(err)
    })
    worker.on('exit', (code: number) => this.#onExit(member, worker, code))
  }

  #onReady(member: Member): void {
    if (member.state !== STARTING) return
    member.state = READY
    member.hungry = true
    member.lastHeard = performance.now()
    this.#readyCount++
    if (!member.everReady) {
      member.everReady = true
      if (this.#phase === 'starting' && --this.#pendingReady === 0) {
        this.#phase = 'started'
        this.#startSettle?.resolve()
      }
    }
    this.#call1(this.#onWorkerReady, member.index)
    this.#scheduleFlush()
  }

  #onExit(member: Member, worker: Worker | null, code: number): void {
    if (member.worker !== worker) return
    if (member.state === READY) this.#readyCount--
    member.state = DEAD
    member.worker = null
    member.hungry = false
    member.out = null
    member.outTransfer = null
    const error = member.error
    const detail = error ?? member.killDetail ?? exitDetail(member.index, code)

    const requeue: Job[] = []
    for (const job of member.held) {
      member.held.delete(job)
      job.copies--
      const claimer = this.#claims.claimer(job.slot)
      if (claimer === member.index) {
        this.#retire(job)
        this.#report(job, 'worker-died', detail)
      } else if (claimer === UNCLAIMED && job.copies === 0) {
        if (this.#terminating || job.transfer !== undefined) {
          this.#retire(job)
          this.#report(job, 'worker-died', this.#terminating ? CLOSED_DETAIL : detail)
        } else {
          this.#inflightCount--
          this.#queuedCount++
          requeue.push(job)
        }
      }
    }
    this.#queue.unshiftAll(requeue)
    member.resolveExit()
    this.#call3(this.#onWorkerExit, member.index, code, error)

    if (!member.everReady && this.#phase === 'starting') {
      this.#failStart(member, code, error)
    } else if (!this.#terminating && (this.#phase === 'started' || member.everReady)) {
      this.#scheduleRespawn(member)
    }
    this.#scheduleFlush()
    this.#checkDrain()
  }

  #failStart(member: Member, code: number, error: SerializedError | undefined): void {
    this.#phase = 'failed'
    this.#closed = true
    const settle = this.#startSettle
    let err: MummyError
    if (this.#terminating) {
      err = closedError()
    } else {
      const why =
        error !== undefined
          ? `${error.name}: ${error.message}`
          : `exited with code ${code} before it was ready`
      err = new MummyError(
        'ERR_MUMMY_WORKER_START',
        `worker ${member.index} failed to load ${this.#url}: ${why}`,
        {
          cause: error,
        },
      )
    }
    void this.#terminateAll().then(() => settle?.reject(err))
  }

  #scheduleRespawn(member: Member): void {
    const lived = performance.now() - member.spawnedAt
    member.backoff =
      lived < QUICK_DEATH_MS
        ? member.backoff === 0
          ? this.#respawnMin
          : Math.min(member.backoff * 2, this.#respawnMax)
        : this.#respawnMin
    member.respawnTimer = setTimeout(() => {
      member.respawnTimer = null
      if (this.#terminating) return
      this.#respawns++
      this.#spawn(member)
    }, member.backoff)
  }

  #kill(member: Member, job: Job, elapsed: number): void {
    if (member.worker === null) return
    member.state = STOPPING
    member.hungry = false
    this.#readyCount--
    member.killDetail = {
      name: 'MummyError',
      code: 'ERR_MUMMY_JOB_STUCK',
      message: `worker ${member.index} terminated: job ${job.id} was still running ${elapsed} ms after it started (jobTimeout ${this.#jobTimeout} ms)`,
    }
    void member.worker.terminate()
  }

  /** Sends `member` an empty batch, which it acknowledges as soon as its event loop runs. */
  #probe(member: Member): void {
    if (member.out !== null) return
    member.out = [0, null]
    this.#send(member)
  }

  #onTick(): void {
    if (this.#jobTimeout > 0) this.#checkTimeouts()
    for (const member of this.#members) {
      if (member.hungry && member.state === READY) {
        this.#scheduleFlush()
        break
      }
    }
  }

  /**
   * Reports jobs past `jobTimeout`, and replaces a worker that is stuck in one: after a grace of
   * {@link STUCK_TICKS} ticks, when every job slot it has is held by an overdue job (a concurrency-1 worker
   * always), or when it does not acknowledge a probe (its event loop is blocked, e.g. a handler
   * spinning while its other jobs wait). A worker that still answers keeps running its other
   * jobs; an overdue job there is ended with its worker only at `3 × jobTimeout`.
   */
  #checkTimeouts(): void {
    const now = relNow(this.#epoch)
    const limit = this.#jobTimeout
    const stuckAfter = limit + STUCK_TICKS * this.#tickMs
    for (const member of this.#members) {
      if (member.state !== READY) continue
      let overdue = 0
      let oldest: Job | null = null
      let longest = 0
      for (const job of member.held) {
        if (job.slot < 0 || this.#claims.claimer(job.slot) !== member.index) continue
        const started = this.#claims.startedAt(job.slot)
        if (started === NOT_STARTED) continue
        const elapsed = (now - started) | 0
        if (elapsed >= limit && !job.reported) {
          this.#timeouts++
          this.#report(job, 'timeout', undefined)
        }
        if (elapsed < stuckAfter) continue
        overdue++
        if (elapsed > longest) {
          longest = elapsed
          oldest = job
        }
      }
      if (oldest === null) continue
      if (
        overdue >= this.#concurrency ||
        longest >= 3 * limit ||
        isBehind(member, performance.now())
      )
        this.#kill(member, oldest, longest)
      else if (member.ackSeq === member.sentSeq) this.#probe(member)
    }
  }

  // ---------------------------------------------------------------- dispatch

  #scheduleFlush(): void {
    if (this.#flushQueued) return
    this.#flushQueued = true
    setImmediate(this.#flushBound)
  }

  /**
   * Hands queued jobs to the least-loaded workers (one batch per worker), then
   * re-offers jobs that busy workers have not claimed yet to hungry workers.
   * Cost per flush: one pass over the workers, plus one per job handed out.
   */
  #flush(): void {
    this.#flushQueued = false
    if (this.#terminating || this.#readyCount === 0) return
    const members = this.#members
    const n = members.length
    const limit = this.#concurrency + this.#prefetch
    const touched: Member[] = []
    const flushNo = ++this.#flushNo
    const now = performance.now()

    if (this.#queue.length > 0) {
      // Effective load: jobs held, plus `limit` for a worker that has not acknowledged a batch
      // for STALL_MS (it is blocked in a job: it gets nothing more unless every other is full).
      const loads = this.#loads
      for (let i = 0; i < n; i++) {
        const member = members[i] as Member
        loads[i] =
          member.state !== READY ? Infinity : member.held.size + (isBehind(member, now) ? limit : 0)
      }
      let deferred: Job[] | null = null
      let scanned = this.#queue.length
      while (scanned-- > 0) {
        let best = -1
        let load = Infinity
        for (let k = 0, index = this.#rr; k < n; k++, index = index + 1 === n ? 0 : index + 1) {
          const effective = loads[index] as number
          if (effective < load) {
            best = index
            load = effective
            if (effective === 0) break
          }
        }
        if (best < 0 || load >= limit) break
        const job = this.#queue.shift() as Job
        if (job.transfer !== undefined && load >= this.#concurrency) {
          ;(deferred ??= []).push(job)
          continue
        }
        this.#assign(members[best] as Member, job, touched)
        loads[best] = load + 1
      }
      this.#rr = this.#rr + 1 === n ? 0 : this.#rr + 1
      if (deferred !== null) this.#queue.unshiftAll(deferred)
    }

    let thieves: Member[] | null = null
    for (const member of members) {
      if (
        member.state === READY &&
        member.hungry &&
        member.out === null &&
        member.ackSeq === member.sentSeq &&
        member.held.size < limit
      )
        (thieves ??= []).push(member)
    }
    if (thieves !== null) this.#steal(thieves, limit, flushNo, now, touched)

    for (const member of touched) this.#send(member)
  }

  /**
   * Gives each hungry worker in `thieves` jobs that other workers hold but have not claimed:
   * all of a stalled worker's, half of a live one's (the rest it will likely reach itself),
   * oldest first, up to its free capacity. Whoever claims a job first runs it. The victims are
   * examined once per flush, whatever the number of thieves.
   */
  #steal(thieves: Member[], limit: number, flushNo: number, now: number, touched: Member[]): void {
    const pools: { victim: Member; jobs: Job[]; next: number; stalled: boolean }[] = []
    for (const victim of this.#members) {
      if (victim.held.size === 0) continue
      let jobs: Job[] | null = null
      for (const job of victim.held) {
        const claimer = this.#claims.claimer(job.slot)
        if (claimer !== UNCLAIMED) {
          if (claimer >= 0 && claimer !== victim.index) {
            victim.held.delete(job)
            job.copies--
          }
          continue
        }
        if (job.transfer !== undefined || job.mark === flushNo) continue
        ;(jobs ??= []).push(job)
      }
      if (jobs === null) continue
      const stalled =
        victim.state !== READY ||
        isBehind(victim, now) ||
        now - Math.max(victim.lastHeard, victim.lastSent) > STALL_MS
      pools.push({ victim, jobs, next: 0, stalled })
    }
    if (pools.length === 0) return
    for (const thief of thieves) {
      let budget = limit - thief.held.size
      for (const pool of pools) {
        if (budget <= 0) break
        if (pool.victim === thief) continue
        const { jobs } = pool
        let available = 0
        for (let i = pool.next; i < jobs.length; i++)
          if (!thief.held.has(jobs[i] as Job)) available++
        if (available === 0) continue
        let take = Math.min(budget, pool.stalled ? available : Math.ceil(available / 2))
        budget -= take
        while (take > 0 && pool.next < jobs.length) {
          const job = jobs[pool.next++] as Job
          if (thief.held.has(job)) continue
          this.#assign(thief, job, touched)
          this.#steals++
          take--
        }
      }
    }
  }

  #assign(member: Member, job: Job, touched: Member[]): void {
    // Not stealable during the flush that handed it out: the water-fill already
    // gave every worker its share.
    job.mark = this.#flushNo
    if (job.slot < 0) job.slot = this.#claims.alloc(job)
    if (job.copies === 0) {
      this.#queuedCount--
      this.#inflightCount++
    }
    job.copies++
    member.held.add(job)
    let out = member.out
    if (out === null) {
      out = member.out = [0, null]
      touched.push(member)
    }
    out.push(job.id, job.slot, this.#claims.gen(job.slot), job.payload)
    if (job.transfer !== undefined) {
      const list = (member.outTransfer ??= [])
      for (const item of job.transfer) list.push(item)
    }
  }

  #send(member: Member): void {
    const out = member.out as unknown[]
    const transfer = member.outTransfer
    member.out = null
    member.outTransfer = null
    const segments = this.#claims.segments
    const now = performance.now()
    if (member.ackSeq === member.sentSeq) member.waitingSince = now
    out[0] = ++member.sentSeq
    out[1] = member.segmentsSent < segments.length ? segments.slice(member.segmentsSent) : null
    member.segmentsSent = segments.length
    member.hungry = false
    member.lastSent = now
    const worker = member.worker as Worker
    try {
      worker.postMessage(out, transfer ?? undefined)
      this.#batches++
    } catch (err) {
      this.#sendOneByOne(member, worker, out, err)
    }
  }

  /**
   * A batch could not be cloned: send job by job so that only the jobs whose
   * payload cannot travel fail (reported with `onJobError`).
   */
  #sendOneByOne(member: Member, worker: Worker, out: unknown[], cause: unknown): void {
    if (out[1] !== null) {
      worker.postMessage([++member.sentSeq, out[1]])
      this.#batches++
    }
    for (let i = JOB_HEADER; i < out.length; i += JOB_STRIDE) {
      const job = this.#claims.owner(out[i + 1] as number) as Job
      try {
        worker.postMessage(
          [++member.sentSeq, null, out[i], out[i + 1], out[i + 2], out[i + 3]],
          job.transfer,
        )
        this.#batches++
      } catch (err) {
        member.held.delete(job)
        if (--job.copies > 0) continue
        this.#retire(job)
        this.#report(job, K_ERR, serializeError(err ?? cause))
      }
    }
  }

  // ---------------------------------------------------------------- results

  #onReport(member: Member, report: unknown[]): void {
    const now = performance.now()
    member.lastHeard = now
    member.waitingSince = now
    const n = report.length
    /** Jobs of this worker that completed with their last message (counted in `running`). */
    let finished = 0
    for (let i = REPORT_HEADER; i < n; i += RECORD_STRIDE) {
      const kind = report[i] as number
      if (kind === K_MSG) {
        const jobId = report[i + 1] as number
        try {
          this.#onMessage(report[i + 2], jobId < 0 ? null : jobId, member.index)
        } catch (err) {
          rethrow(err)
        }
        const lastOf = report[i + 3] as number
        if (lastOf > 0) {
          const job = this.#claims.owner(lastOf - 1)
          if (job !== undefined && job.id === jobId && this.#claims.lastDelivered(lastOf - 1)) {
            this.#retire(job)
            this.#report(job, K_DONE, undefined)
            this.#withLast++
            finished++
          }
        }
      } else {
        const job = this.#claims.owner(report[i + 1] as number)
        if (job === undefined || job.id !== report[i + 2]) continue
        this.#retire(job)
        this.#report(job, kind, kind === K_ERR ? (report[i + 3] as SerializedError) : undefined)
      }
    }
    member.ackSeq = report[0] as number
    member.hungry = (report[1] as number) - finished < this.#concurrency && report[2] === 0
    if (member.hungry && member.ackSeq === member.sentSeq) this.#prune(member)
    if (this.#queue.length > 0 || member.hungry) this.#scheduleFlush()
    this.#checkDrain()
  }

  /** Drops from `member` the copies of jobs another worker claimed. */
  #prune(member: Member): void {
    for (const job of member.held) {
      const claimer = this.#claims.claimer(job.slot)
      if (claimer >= 0 && claimer !== member.index) {
        member.held.delete(job)
        job.copies--
      }
    }
  }

  /** The job physically ended (or was given up): free its slot and every copy. */
  #retire(job: Job): void {
    this.#claims.release(job.slot)
    job.slot = -1
    job.payload = undefined
    this.#inflightCount--
    if (job.copies > 0) {
      for (const member of this.#members) {
        if (member.held.delete(job) && --job.copies === 0) break
      }
      job.copies = 0
    }
  }

  /**
   * Tells the user how a job ended (once per job) and lets the next job of its
   * key go. `kind`: K_DONE / K_ERR, or a failure reason.
   */
  #report(job: Job, kind: number | JobFailureReason, detail: SerializedError | undefined): void {
    if (job.reported) return
    job.reported = true
    if (job.key !== undefined) this.#advanceKey(job.key)
    if (kind === 'worker-died' || kind === 'timeout') {
      this.#failed++
      this.#call3(this.#onJobFailed, job.id, kind, detail)
    } else if (kind === K_ERR) {
      this.#completed++
      this.#errored++
      this.#call2(this.#onJobError, job.id, detail as SerializedError)
    } else {
      this.#completed++
      this.#call1(this.#onJobDone, job.id)
    }
  }

  #advanceKey(key: string | number): void {
    const waiting = this.#keys.get(key)
    if (waiting === undefined) return
    const next = waiting === null ? undefined : waiting.shift()
    if (next === undefined) {
      this.#keys.delete(key)
      return
    }
    if (waiting !== null && waiting.length === 0) this.#keys.set(key, null)
    if (this.#terminating) return
    this.#queue.push(next)
    this.#scheduleFlush()
  }

  #checkDrain(): void {
    if (this.#drainWaiters.length > 0 && this.#queuedCount + this.#inflightCount === 0)
      this.#resolveDrain()
  }

  #resolveDrain(): void {
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const resolve of waiters) resolve()
  }

  #call1<A>(fn: ((a: A) => void) | undefined, a: A): void {
    if (fn === undefined) return
    try {
      fn(a)
    } catch (err) {
      rethrow(err)
    }
  }

  #call2<A, B>(fn: ((a: A, b: B) => void) | undefined, a: A, b: B): void {
    if (fn === undefined) return
    try {
      fn(a, b)
    } catch (err) {
      rethrow(err)
    }
  }

  #call3<A, B, C>(fn: ((a: A, b: B, c: C) => void) | undefined, a: A, b: B, c: C): void {
    if (fn === undefined) return
    try {
      fn(a, b, c)
    } catch (err) {
      rethrow(err)
    }
  }
}

/** A callback threw: keep the pool consistent, surface the error as uncaught. */
function rethrow(err: unknown): void {
  queueMicrotask(() => {
    throw err
  })
}

/** The worker has left a batch unacknowledged for more than STALL_MS: its event loop is blocked. */
function isBehind(member: Member, now: number): boolean {
  return member.ackSeq !== member.sentSeq && now - member.waitingSince > STALL_MS
}

function invalid(message: string): never {
  throw new MummyError('ERR_MUMMY_INVALID_OPTION', `WorkerPool: ${message}`)
}

function closedError(): MummyError {
  return new MummyError('ERR_MUMMY_POOL_CLOSED', 'the worker pool is closed')
}

function exitDetail(index: number, code: number): SerializedError {
  return {
    name: 'Error',
    code: 'ERR_MUMMY_WORKER_EXIT',
    message: `worker ${index} exited with code ${code}`,
  }
}

function toHref(url: URL | string): string {
  if (typeof url === 'object' && url !== null && typeof (url as URL).href === 'string')
    return (url as URL).href
  if (typeof url !== 'string' || url === '')
    invalid('workerURL must be a URL or a non-empty string')
  if (!isAbsolute(url) && /^[a-z][a-z\d+.-]+:/i.test(url)) return url
  return pathToFileURL(resolve(url)).href
}

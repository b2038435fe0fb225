/**
 * Where jobs run. {@link WorkerPool} (the worker threads) is one executor; {@link
 * InlineExecutor} is the other: it runs the same job function (job.ts) on the IO thread, with
 * the same callbacks, so inline mode (`workers: 0`) is not a second request path.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import type { ResourceLimits } from 'node:worker_threads'
import { MummyError } from '@mummy/errors'
import { tusAnswer } from '@mummy/uploads'
import { WorkerPool, type JobFailureReason, type SerializedError } from '@mummy/workers'
import { loadAppModule, toApp, type App } from './app.js'
import type { Handler } from './handler.js'
import { jobFunction, type JobFunction, type JobPort } from './job.js'
import type { ServerOptions } from './options.js'
import type { JobPayload, StatusTable, WorkerConfig, WorkerMessage } from './protocol.js'
import { toURLString, type ServerSettings } from './settings.js'
import { withChannel, type Channel } from './websocket.js'

/** Runs jobs and reports their messages and ends. {@link WorkerPool} is one. */
export interface Executor {
  /** Worker threads (0 when jobs run on the IO thread). */
  readonly size: number
  /** Resolves once jobs can run. */
  start(): Promise<void>
  /**
   * Queues `payload`; jobs with the same `key` run one after the other, in order. `transfer`
   * lists buffers moved (not copied) to the worker. Returns the job's id.
   */
  submit(payload: JobPayload, key?: number, transfer?: ArrayBuffer[]): number
  /** Jobs not started yet never will be: each ends with `onJobFailed` (`ERR_MUMMY_POOL_CLOSED`). */
  withdrawUnstarted(): number
  /** Waits up to `timeout` ms for running jobs, then stops. */
  close(options: { timeout?: number }): Promise<void>
}

/** What an executor reports: the same callbacks `WorkerPool` takes. */
export interface ExecutorEvents {
  /** A message a job posted (`jobId` `null`: posted outside any job). */
  onMessage(message: WorkerMessage, jobId: number | null): void
  /** The job's function returned or resolved. */
  onJobDone(jobId: number): void
  /** The job's function threw or rejected. */
  onJobError(jobId: number, error: SerializedError): void
  /** The job will not complete normally: it ran past the job timeout. */
  onJobFailed(jobId: number, reason: JobFailureReason, detail?: SerializedError): void
}

function serialize(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === 'string' ? { code } : {}),
    }
  }
  return { name: 'Error', message: String(error) }
}

/**
 * Runs each job on this thread, in a microtask after `submit` returns (so that its id is known
 * before any of its messages arrive), within `channel` so that handles used by the job post to
 * this server. A job that returns a promise and has not settled after `jobTimeout` ms is
 * reported `'timeout'` (it cannot be stopped: its later messages are ignored by the server).
 */
export class InlineExecutor implements Executor {
  readonly size = 0
  readonly #load: () => Promise<JobFunction>
  readonly #channel: Channel
  readonly #jobTimeout: number
  readonly #events: ExecutorEvents
  #run: JobFunction | null = null
  #next = 0
  /** Jobs whose function has not settled. */
  readonly #running = new Set<number>()
  #idle: (() => void) | null = null
  #closed = false

  /**
   * @param load - loads the app and returns the job function (called by `start`).
   * @param jobTimeout - ms an async job may run before `onJobFailed(id, 'timeout')`; 0 = none.
   */
  constructor(
    load: () => Promise<JobFunction>,
    channel: Channel,
    jobTimeout: number,
    events: ExecutorEvents,
  ) {
    this.#load = load
    this.#channel = channel
    this.#jobTimeout = jobTimeout
    this.#events = events
  }

  async start(): Promise<void> {
    this.#run = await this.#load()
  }

  submit(payload: JobPayload): number {
    if (this.#closed || this.#run === null)
      throw Object.assign(new Error('the executor is closed'), { code: 'ERR_MUMMY_POOL_CLOSED' })
    const id = ++this.#next
    this.#running.add(id)
    queueMicrotask(() => this.#start(id, payload))
    return id
  }

  #start(id: number, payload: JobPayload): void {
    const events = this.#events
    let timer: NodeJS.Timeout | null = null
    const port: JobPort = {
      post: (message) => events.onMessage(message, id),
      postLast: (message) => events.onMessage(message, id),
      flush: () => {},
      noTimeout: () => {
        if (timer !== null) clearTimeout(timer)
        timer = null
      },
    }
    let result: void | Promise<void>
    try {
      result = withChannel(this.#channel, () => this.#run!(payload, port))
    } catch (error) {
      this.#settled(id)
      events.onJobError(id, serialize(error))
      return
    }
    if (result === undefined || typeof (result as Promise<void>).then !== 'function') {
      this.#settled(id)
      events.onJobDone(id)
      return
    }
    let reported = false
    if (this.#jobTimeout > 0) {
      timer = setTimeout(() => {
        timer = null
        reported = true
        events.onJobFailed(id, 'timeout')
      }, this.#jobTimeout)
      timer.unref()
    }
    ;(result as Promise<void>).then(
      () => {
        if (timer !== null) clearTimeout(timer)
        this.#settled(id)
        if (!reported) events.onJobDone(id)
      },
      (error: unknown) => {
        if (timer !== null) clearTimeout(timer)
        this.#settled(id)
        if (!reported) events.onJobError(id, serialize(error))
      },
    )
  }

  #settled(id: number): void {
    this.#running.delete(id)
    if (this.#running.size === 0) this.#idle?.()
  }

  /** Nothing waits unstarted for long: jobs start in the microtask after `submit`. */
  withdrawUnstarted(): number {
    return 0
  }

  async close(options: { timeout?: number }): Promise<void> {
    this.#closed = true
    if (this.#running.size === 0) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.timeout ?? 10_000)
      timer.unref()
      this.#idle = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
}

/** What {@link createExecutor} builds an executor from. */
export interface ExecutorInit {
  readonly settings: ServerSettings
  readonly options: ServerOptions
  /** The handler given to `createServer` (single-file form), else `null`. */
  readonly handler: Handler | null
  readonly table: StatusTable
  /** Where handles used on the IO thread post (inline jobs run within it). */
  readonly channel: Channel
  readonly events: ExecutorEvents
  /** While this says `true`, worker exits are expected (closing) and not logged. */
  readonly quiet: () => boolean
}

/** The worker pool for `settings.workers` threads, or the inline executor for 0. */
export function createExecutor(init: ExecutorInit): Executor {
  const { settings: s, options: o, events } = init
  if (s.workers === 0) {
    const load = async (): Promise<JobFunction> => {
      let app: App
      if (o.app !== undefined) app = await loadAppModule(toURLString(o.app))
      else if (init.handler !== null)
        app = toApp(init.handler, o.websocketHandler, o.sseHandler, 'given to createServer')
      else throw new MummyError('ERR_MUMMY_INVALID_HANDLER', 'no handler given')
      const settings = {
        compression: s.compression,
        websocketCompression: s.websocketCompression,
        tus: s.uploads?.tus ?? null,
        tusAnswer: s.uploads?.tus ? tusAnswer : null,
      }
      return jobFunction({ app, settings, table: init.table, log: s.log, transfer: false })
    }
    return new InlineExecutor(load, init.channel, s.handlerTimeout, events)
  }
  const config: WorkerConfig = {
    mode: o.app !== undefined ? 'app' : 'script',
    module: toURLString(o.app ?? o.module ?? process.argv[1] ?? ''),
    compression: s.compression,
    websocket: {
      maxBackpressure: s.websocket.maxBackpressure,
      backpressurePolicy: s.websocket.backpressurePolicy,
      compression: s.websocketCompression,
      status: init.table.buffer,
    },
    tus: s.uploads?.tus ?? null,
  }
  if (tuneOptimization(o.eagerOptimization ?? 'auto', s.workers))
    s.log(
      'debug',
      `V8 optimizes sooner for ${s.workers} workers (--interrupt-budget=${EAGER_BUDGET})`,
    )
  let started = false
  const pool = new AppPool(config.module, () => (started = true), {
    size: s.workers,
    workerURL: new URL('./worker-main.js', import.meta.url),
    workerData: config,
    concurrency: s.concurrency,
    jobTimeout: s.handlerTimeout,
    resourceLimits: workerLimits(s.workers, o.resourceLimits),
    ...events,
    onMessage: (message, jobId) => events.onMessage(message as WorkerMessage, jobId),
    // (Before the start settles, an exit is news only through start()'s rejection.)
    onWorkerExit: (index, code, error) =>
      !started ||
      init.quiet() ||
      s.log(
        'warn',
        `worker ${index} exited (code ${code})${error ? `: ${error.message}` : ''}; restarting it`,
      ),
  })
  return pool
}

/**
 * The worker pool of an app: a worker that fails to load the app's module fails `start()` with
 * `ERR_MUMMY_APP_LOAD`, which names the module and the file and line that threw, and carries the
 * error's own stack (not the pool's).
 */
class AppPool extends WorkerPool {
  readonly #module: string
  readonly #started: () => void

  constructor(
    module: string,
    started: () => void,
    options: ConstructorParameters<typeof WorkerPool>[0],
  ) {
    super(options)
    this.#module = module
    this.#started = started
  }

  override async start(): Promise<void> {
    try {
      await super.start()
      this.#started()
    } catch (error) {
      throw appLoadError(error, this.#module)
    }
  }
}

/** A frame of `stack` in the user's code: not Node's, not this server's or its pool's. */
function userFrame(stack: string): string | null {
  // A syntax error's stack starts with the place: `file:///app.js:3`.
  const first = /^((?:file:\/\/|\/)\S+:\d+)\s*$/m.exec(stack.split('\n')[0] ?? '')
  if (first !== null) return first[1]!
  for (const line of stack.split('\n')) {
    const m = /^\s+at (?:.*? \()?((?:file:\/\/|\/)[^()\s]+:\d+:\d+)\)?$/.exec(line)
    if (m === null) continue
    const where = m[1]!
    if (
      where.startsWith(OWN_DIR) ||
      /[\\/]@mummy[\\/]|[\\/]packages[\\/]workers[\\/]dist[\\/]/.test(where)
    )
      continue
    return where
  }
  return null
}

const OWN_DIR = new URL('.', import.meta.url).href

/**
 * Where a syntax error in `module`'s graph is: a caught SyntaxError of an ES module carries no
 * position (Node prints it only for an uncaught one), so the module is imported once more in a
 * child process, where it is uncaught. A module graph with a syntax error is never evaluated —
 * linking fails first —, so none of the app's code runs there.
 */
function syntaxErrorPlace(module: string): string | null {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, '--input-type=module', '-e', `await import(${JSON.stringify(module)})`],
    { encoding: 'utf8', timeout: 10_000 },
  )
  const first = (child.stderr ?? '').split('\n')[0] ?? ''
  return /^(?:file:\/\/|\/)\S+:\d+$/.test(first) ? first : null
}

/** `file:///a/b.js:3:7` as `/a/b.js:3:7`. */
function asPath(place: string): string {
  if (!place.startsWith('file:')) return place
  const at = /(:\d+)+$/.exec(place)?.[0] ?? ''
  return fileURLToPath(place.slice(0, place.length - at.length)) + at
}

/** `error` from starting the pool, as the user needs to see it. */
function appLoadError(error: unknown, module: string): unknown {
  if (!(error instanceof MummyError) || error.code !== 'ERR_MUMMY_WORKER_START') return error
  const cause = error.cause as SerializedError | undefined
  if (cause === undefined) return error
  const stack = cause.stack ?? ''
  const where = userFrame(stack) ?? (cause.name === 'SyntaxError' ? syntaxErrorPlace(module) : null)
  const shown = asPath(module)
  const place = where === null ? '' : ` (at ${asPath(where)})`
  const original = Object.assign(new Error(cause.message), { name: cause.name })
  if (cause.code !== undefined) Object.assign(original, { code: cause.code })
  original.stack = stack || `${cause.name}: ${cause.message}`
  const out = new MummyError(
    'ERR_MUMMY_APP_LOAD',
    `cannot load ${shown} in a worker: ${cause.name}: ${cause.message}${place}`,
    { cause: original },
  )
  // Its stack is the user's: where the module threw, not where the pool noticed.
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l))
  out.stack = `${out.name}: ${out.message}${frames.length > 0 ? `\n${frames.join('\n')}` : ''}`
  return out
}

/** The `--interrupt-budget` (bytes of bytecode run before V8 considers optimizing) of eager mode. */
const EAGER_BUDGET = 8 * 1024
/** Pools this large optimize sooner by default (`eagerOptimization: 'auto'`). */
const EAGER_FROM_WORKERS = 16
let eagerSet = false

/**
 * Applies `eagerOptimization` for a pool of `workers`: lowers V8's interrupt budget, once per
 * process (the flag is process-wide, and worker isolates read it when they start). Not when the
 * process was started with its own `--interrupt-budget`. Returns whether it is on.
 */
export function tuneOptimization(setting: boolean | 'auto', workers: number): boolean {
  if (setting === false || (setting === 'auto' && workers < EAGER_FROM_WORKERS)) return false
  if (process.execArgv.some((a) => a.startsWith('--interrupt-budget'))) return false
  if (!eagerSet) {
    v8.setFlagsFromString(`--interrupt-budget=${EAGER_BUDGET}`)
    eagerSet = true
  }
  return true
}

/** Young-generation memory all workers share by default (MB); see {@link workerLimits}. */
const YOUNG_BUDGET_MB = 256
/** V8's own young-generation ceiling for a thread (3 × its 16 MB semi-space). */
const YOUNG_DEFAULT_MB = 48
/** The smallest young generation given by default: a 1 MB semi-space (3 MB in all). */
const YOUNG_MIN_MB = 3

/**
 * Each worker's V8 limits: the user's, plus — unless they set it — a young generation sized to
 * the pool. V8 lets every thread grow its young generation to 48 MB; a hundred mostly blocked
 * workers then hold gigabytes of nursery that each of them touches afresh (a page fault per new
 * page) while allocating a few KB per request. With more than five workers the nursery is
 * `256 MB / workers`, at least 3 MB (a 1 MB semi-space, still far above one request's garbage).
 */
export function workerLimits(workers: number, user: ResourceLimits | undefined): ResourceLimits {
  const limits: ResourceLimits = { ...user }
  if (limits.maxYoungGenerationSizeMb === undefined) {
    const share = Math.max(YOUNG_MIN_MB, Math.floor(YOUNG_BUDGET_MB / workers))
    if (share < YOUNG_DEFAULT_MB) limits.maxYoungGenerationSizeMb = share
  }
  return limits
}

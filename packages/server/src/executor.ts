/**
 * Where jobs run. {@link WorkerPool} (the worker threads) is one executor; {@link
 * InlineExecutor} is the other: it runs the same job function (job.ts) on the IO thread, with
 * the same callbacks, so inline mode (`workers: 0`) is not a second request path.
 */
import { MummyError } from '@mummy/errors'
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
  return new WorkerPool({
    size: s.workers,
    workerURL: new URL('./worker-main.js', import.meta.url),
    workerData: config,
    concurrency: s.concurrency,
    jobTimeout: s.handlerTimeout,
    ...(o.resourceLimits === undefined ? {} : { resourceLimits: o.resourceLimits }),
    ...events,
    onMessage: (message, jobId) => events.onMessage(message as WorkerMessage, jobId),
    onWorkerExit: (index, code, error) =>
      init.quiet() ||
      s.log(
        'warn',
        `worker ${index} exited (code ${code})${error ? `: ${error.message}` : ''}; restarting it`,
      ),
  })
}

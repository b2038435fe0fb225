import os from 'node:os'
import { pathToFileURL } from 'node:url'
import type { ResourceLimits } from 'node:worker_threads'
import { MummyError } from '@mummy/errors'
import {
  DEFAULT_TRANSPORT_OPTIONS,
  NodeTransport,
  type ResponseWriter,
  type TransportOptions,
  type TransportRequest,
} from '@mummy/io-loop'
import { WorkerPool, isPoolWorker, type SerializedError } from '@mummy/workers'
import { DEFAULT_COMPRESSION, type CompressionOptions } from './compression.js'
import { runHandler, toHandler, type Handler, type HandlerLike } from './handler.js'
import { consoleLogHandler, type LogHandler } from './log.js'
import { type JobPayload, type WorkerConfig, type WorkerMessage } from './protocol.js'
import { registerWorkerHandler } from './registry.js'
import { Request, type ResponseSettings } from './request.js'

/** Options of {@link createServer}. Every field is optional; defaults are listed in the README. */
export interface ServerOptions {
  /**
   * Worker threads that run handlers. Default: 4 × the cores (`os.availableParallelism()`),
   * at least 4 — blocking handlers need more threads than cores. `0` runs handlers inline on
   * the IO thread (for measurements and tests only: a blocking handler then stalls everyone).
   */
  workers?: number
  /** App-module form: a module whose default export is a handler or a Router. */
  app?: string | URL
  /** Single-file form: the script re-loaded in each worker. Default: the entry script (`process.argv[1]`). */
  module?: string | URL
  /** Jobs one worker runs at once; raise it for async handlers that mostly await. Default 1. */
  concurrency?: number
  /** Largest request head in bytes (431/414 above). Default 8 KiB. */
  maxHeadersLen?: number
  /** Largest request body in bytes (413 above). Default 1 MiB. */
  maxBodyLen?: number
  /** ms from a request's first byte to the end of its head (408 after). Default 20 s. */
  headersTimeout?: number
  /** ms for a whole request, head and body (408 after). Default 300 s. */
  requestTimeout?: number
  /** ms an idle keep-alive connection is kept. Default 5 s. */
  keepAliveTimeout?: number
  /** ms a peer may leave response bytes unread before it is dropped. Default 30 s. */
  sendTimeout?: number
  /** ms a handler may take before the request is answered 504. `0` = none. Default 30 s. */
  handlerTimeout?: number
  /** Response compression: `true`/`false` or settings. Default on (gzip, deflate; ≥ 860 bytes; level 6). */
  compression?: boolean | Partial<CompressionOptions>
  /** Where log lines go. Default: `consoleLogHandler('info')` (stderr). */
  logHandler?: LogHandler
  /** Transport: only `'node'` ships in this version; `'auto'` picks it. Default `'auto'`. */
  transport?: 'node' | 'uws' | 'auto'
  /** Per-worker V8 limits; a worker exceeding them dies, its requests get 503, it is replaced. */
  resourceLimits?: ResourceLimits
}

const TEXT: readonly string[] = Object.freeze(['Content-Type', 'text/plain; charset=utf-8'])
const enc = new TextEncoder()

function defaultWorkers(): number {
  const cores =
    typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
  return Math.max(4, cores * 4)
}

function resolveCompression(value: ServerOptions['compression']): CompressionOptions {
  if (value === false) return { ...DEFAULT_COMPRESSION, enabled: false }
  if (value === true || value === undefined) return { ...DEFAULT_COMPRESSION }
  return { ...DEFAULT_COMPRESSION, ...value }
}

function toURLString(value: string | URL): string {
  if (value instanceof URL) return value.href
  return /^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value)
    ? value
    : pathToFileURL(value).href
}

/**
 * A server: one IO thread (this one) that owns the sockets, and a pool of worker threads
 * that run the handlers. Create it with {@link createServer}.
 *
 * @example
 * ```ts
 * const server = createServer(router)
 * await server.listen(8080)
 * console.log(`listening on ${server.port}`)
 * await server.close()
 * ```
 */
export class Server {
  readonly #handler: Handler | null
  readonly #options: ServerOptions
  readonly #log: LogHandler
  readonly #compression: CompressionOptions
  readonly #inert: boolean
  #transport: NodeTransport | null = null
  #pool: WorkerPool | null = null
  #pending = new Map<number, ResponseWriter>()
  #inline: Handler | null = null
  #listening: Promise<void> | null = null
  #closing: Promise<void> | null = null

  /** @internal Use {@link createServer}. */
  constructor(handler: Handler | null, options: ServerOptions, inert: boolean) {
    this.#handler = handler
    this.#options = options
    this.#inert = inert
    this.#log = options.logHandler ?? consoleLogHandler('info')
    this.#compression = resolveCompression(options.compression)
  }

  /** The bound port (the ephemeral one when listening on 0), or 0 before `listen` resolves. */
  get port(): number {
    return this.#transport?.port ?? 0
  }

  /** Number of worker threads (0 in inline mode). */
  get workers(): number {
    return this.#pool?.size ?? 0
  }

  /**
   * Starts the workers, then listens. Resolves once requests are being accepted. In a worker
   * thread (single-file form) this does nothing and resolves at once.
   */
  listen(port = 8080, host?: string): Promise<void> {
    if (this.#inert) return Promise.resolve()
    return (this.#listening ??= this.#start(port, host))
  }

  async #start(port: number, host: string | undefined): Promise<void> {
    const o = this.#options
    if (o.transport === 'uws') {
      throw new MummyError(
        'ERR_MUMMY_TRANSPORT_UNAVAILABLE',
        "the 'uws' transport is not available in this version; use 'node' or 'auto'",
      )
    }
    const workers = o.workers ?? defaultWorkers()
    if (!Number.isInteger(workers) || workers < 0)
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `workers must be an integer >= 0, got ${String(workers)}`,
      )
    if (workers === 0) {
      this.#inline =
        o.app !== undefined
          ? toHandler(
              ((await import(toURLString(o.app))) as Record<string, unknown>).default,
              'the app module default export',
            )
          : this.#handler
      if (this.#inline === null)
        throw new MummyError('ERR_MUMMY_INVALID_HANDLER', 'no handler given')
    } else {
      const config: WorkerConfig = {
        mode: o.app !== undefined ? 'app' : 'script',
        module: toURLString(o.app ?? o.module ?? process.argv[1] ?? ''),
        compression: this.#compression,
      }
      const pool = new WorkerPool({
        size: workers,
        workerURL: new URL('./worker-main.js', import.meta.url),
        workerData: config,
        concurrency: o.concurrency ?? 1,
        jobTimeout: o.handlerTimeout ?? 30_000,
        ...(o.resourceLimits === undefined ? {} : { resourceLimits: o.resourceLimits }),
        onMessage: (message, jobId) => this.#onWorkerMessage(message as WorkerMessage, jobId),
        onJobDone: (jobId) =>
          this.#fail(jobId, 500, 'the handler finished but its response was lost'),
        onJobError: (jobId, error) =>
          this.#fail(jobId, 500, `handler error: ${error.stack ?? error.message}`),
        onJobFailed: (jobId, reason, detail) => this.#onJobFailed(jobId, reason, detail),
        onWorkerExit: (index, code, error) =>
          this.#log(
            'warn',
            `worker ${index} exited (code ${code})${error ? `: ${error.message}` : ''}; restarting it`,
          ),
      })
      this.#pool = pool
      await pool.start()
    }
    const transportOptions: Partial<TransportOptions> & Pick<TransportOptions, 'onRequest'> = {
      onRequest: this.#pool !== null ? this.#dispatch : this.#runInline,
      onClientError: (error, address) =>
        this.#log('debug', `bad request from ${address}: ${error.code ?? ''} ${error.message}`),
    }
    for (const key of Object.keys(
      DEFAULT_TRANSPORT_OPTIONS,
    ) as (keyof typeof DEFAULT_TRANSPORT_OPTIONS)[]) {
      const value = (o as Record<string, unknown>)[key]
      if (typeof value === 'number') (transportOptions as Record<string, unknown>)[key] = value
    }
    this.#transport = new NodeTransport(transportOptions)
    try {
      await this.#transport.listen(port, host)
    } catch (err) {
      await this.#pool?.close({ timeout: 1000 })
      throw err
    }
  }

  /** IO thread hot path: hand a complete request to the pool. */
  readonly #dispatch = (req: TransportRequest, res: ResponseWriter): void => {
    const payload: JobPayload = [
      req.method,
      req.target,
      req.versionMinor,
      req.headers,
      req.body,
      req.remoteAddress,
    ]
    // Bodies are copied, not transferred: a transferred job cannot be re-sent to an idle
    // worker, and work conservation matters more than one memcpy.
    const id = this.#pool!.submit(payload)
    this.#pending.set(id, res)
  }

  readonly #runInline = (req: TransportRequest, res: ResponseWriter): void => {
    const settings: ResponseSettings = { compression: this.#compression }
    const request = new Request(
      req.method,
      req.target,
      req.versionMinor,
      req.headers,
      req.body,
      req.remoteAddress,
      (status, headers, body) => {
        if (!res.closed) res.end(status, headers, body)
      },
      settings,
    )
    void runHandler(this.#inline!, request, this.#log)
  }

  #onWorkerMessage(message: WorkerMessage, jobId: number | null): void {
    if (message[0] === 'r') {
      if (jobId === null) return
      const res = this.#pending.get(jobId)
      if (res === undefined) return
      this.#pending.delete(jobId)
      if (!res.closed) res.end(message[1], message[2], message[3])
    } else if (message[0] === 'l') {
      this.#log(message[1], message[2])
    }
  }

  #fail(jobId: number, status: number, why: string, close = false): void {
    const res = this.#pending.get(jobId)
    if (res === undefined) return
    this.#pending.delete(jobId)
    this.#log(status >= 500 ? 'error' : 'warn', why)
    if (!res.closed && !res.ended)
      res.end(status, TEXT, enc.encode(`${statusText(status)}\n`), close)
  }

  #onJobFailed(
    jobId: number,
    reason: 'worker-died' | 'timeout',
    detail: SerializedError | undefined,
  ): void {
    if (reason === 'timeout')
      this.#fail(jobId, 504, `handler timed out after ${this.#options.handlerTimeout ?? 30_000} ms`)
    else
      this.#fail(
        jobId,
        503,
        `worker died while handling a request${detail ? `: ${detail.message}` : ''}`,
        true,
      )
  }

  /**
   * Graceful shutdown: stop accepting, answer every request already received (with
   * `Connection: close`), close idle keep-alive connections, then stop the workers.
   */
  close(): Promise<void> {
    if (this.#inert) return Promise.resolve()
    return (this.#closing ??= (async () => {
      await this.#listening?.catch(() => {})
      await this.#transport?.close()
      await this.#pool?.close()
    })())
  }
}

function statusText(status: number): string {
  return status === 503
    ? 'Service Unavailable'
    : status === 504
      ? 'Gateway Timeout'
      : 'Internal Server Error'
}

/**
 * Creates a server.
 *
 * *Single-file form*: `createServer(handlerOrRouter, options)`. The script that calls it is
 * loaded again in every worker, where this call registers the handler and `listen()` does
 * nothing — so top-level code runs once on the IO thread and once per worker.
 *
 * *App-module form*: `createServer({ app: new URL('./app.js', import.meta.url) })`, where the
 * module default-exports a handler or a Router. The caller's code runs only on the IO thread.
 *
 * @example
 * ```ts
 * import { Router, createServer } from '@mummy/server'
 * const router = new Router()
 * router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!'))
 * const server = createServer(router)
 * await server.listen(8080)
 * ```
 */
export function createServer(handler: HandlerLike, options?: ServerOptions): Server
export function createServer(options: ServerOptions & { app: string | URL }): Server
export function createServer(
  first: HandlerLike | (ServerOptions & { app: string | URL }),
  second?: ServerOptions,
): Server {
  const isOptions =
    typeof first === 'object' &&
    first !== null &&
    'app' in first &&
    typeof (first as { handle?: unknown }).handle !== 'function'
  const options: ServerOptions = isOptions ? (first as ServerOptions) : (second ?? {})
  const handler = isOptions ? null : toHandler(first, 'the handler passed to createServer')
  if (isPoolWorker()) {
    if (handler !== null) registerWorkerHandler(handler)
    return new Server(handler, options, true)
  }
  return new Server(handler, options, false)
}

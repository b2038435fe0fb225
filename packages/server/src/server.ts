import os from 'node:os'
import { pathToFileURL } from 'node:url'
import type { ResourceLimits } from 'node:worker_threads'
import { MummyError } from '@mummy/errors'
import {
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_TRANSPORT_OPTIONS,
  DEFAULT_WEBSOCKET_SETTINGS,
  NodeTransport,
  UwsTransport,
  loadUws,
  type Transport,
  type ResponseWriter,
  type TransportOptions,
  type TransportRequest,
  type SendStatus,
  type TransportStream,
  type TransportWebSocket,
  type WebSocketEvents,
  type WebSocketSettings,
} from '@mummy/io-loop'
import { PerMessageDeflate, type DeflateOptions, type DeflateParams } from '@mummy/websocket'
import { WorkerPool, isPoolWorker, type SerializedError } from '@mummy/workers'
import { DEFAULT_COMPRESSION, type CompressionOptions } from './compression.js'
import { runHandler, toHandler, type Handler, type HandlerLike } from './handler.js'
import { consoleLogHandler, describeError, type LogHandler } from './log.js'
import {
  JOB_HTTP,
  JOB_WS,
  JOB_SSE,
  type SseJob,
  StatusTable,
  type HttpJob,
  type WorkerConfig,
  type WorkerMessage,
  type WsEvent,
  type WsJob,
} from './protocol.js'
import { listenArgumentError, validateOptions } from './options.js'
import { registerWorkerHandler } from './registry.js'
import {
  WebSocket,
  addWebSocketChannel,
  removeWebSocketChannel,
  toMessage,
  withChannel,
  type Channel,
  type WebSocketHandler,
} from './websocket.js'
import { Request } from './request.js'
import { SseStream, type SseEvent, type SseHandler } from './sse.js'
import {
  isDiskSink,
  removeFiles,
  resolveUploads,
  sweepTus,
  tusSink,
  uploadSink,
  type DiskSink,
  type TusPatchResult,
  type UploadOptions,
  type UploadResult,
  type UploadSettings,
} from '@mummy/uploads'
import { mkdir } from 'node:fs/promises'

/** What a body sink hands over with its request. */
type BodyResult = UploadResult | TusPatchResult
import { encodeEvent } from '@mummy/sse'

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
  /**
   * ms `close()` waits for requests it had accepted to be answered; at this deadline every one
   * still unanswered gets `503` with `Connection: close` (a stream still under way, and a
   * WebSocket, are cut then). Default 10 s. `close({ timeout })` overrides it for one call.
   */
  closeTimeout?: number
  /** Response compression: `true`/`false` or settings. Default on (gzip, deflate; ≥ 860 bytes; level 6). */
  compression?: boolean | Partial<CompressionOptions>
  /** Where log lines go. Default: `consoleLogHandler('info')` (stderr). */
  logHandler?: LogHandler
  /**
   * Transport: `'node'` (node:net + `@mummy/parser`: the conformant one), `'uws'`
   * (uWebSockets.js; fails with `ERR_MUMMY_TRANSPORT_UNAVAILABLE` where its native build does
   * not load) or `'auto'` (uWebSockets.js where it loads, else node). Default `'node'`. See
   * the `@mummy/io-loop` README for what uWebSockets.js decides differently.
   */
  transport?: 'node' | 'uws' | 'auto'
  /** Per-worker V8 limits; a worker exceeding them dies, its requests get 503, it is replaced. */
  resourceLimits?: ResourceLimits
  /** Receives WebSocket events (single-file form; an app module exports `websocketHandler`). */
  websocketHandler?: WebSocketHandler
  /** Largest WebSocket message, after reassembly and inflation (close 1009 above). Default 64 KiB. */
  maxMessageLen?: number
  /** ms without a frame from a WebSocket peer before it is closed (pinged at half). `0` = never. Default 120 s. */
  idleTimeout?: number
  /** Unsent bytes per WebSocket above which sends are refused. Default 1 MiB. */
  maxBackpressure?: number
  /** Over `maxBackpressure`: `'close'` the connection with 1008 (default), or `'drop'` the message. */
  backpressure?: 'close' | 'drop'
  /** permessage-deflate for WebSockets: off by default; `true` or parameters to offer it. */
  websocketCompression?: boolean | DeflateOptions
  /** Receives the end of event streams (single-file form; an app module exports `sseHandler`). */
  sseHandler?: SseHandler
  /**
   * Stream `multipart/form-data` request bodies to disk as they arrive: handlers get
   * `request.files` (paths) and `request.fields`. `true` for the defaults, or limits and the
   * folder. Off by default (such bodies are then ordinary bodies, limited by `maxBodyLen`).
   */
  uploads?: boolean | UploadOptions
  /**
   * ms without an event after which an open event stream gets a comment, so that proxies
   * keep it and a client that left is noticed. `0` = never. Default 15 s.
   */
  sseHeartbeat?: number
}

/** An open event stream on the IO thread. */
interface SseRecord {
  readonly stream: TransportStream
  /** Topics it is subscribed to. */
  readonly topics: Set<string>
  /** When it was last written to (ms). */
  lastWrite: number
}

const HEARTBEAT = Buffer.from(':\n', 'latin1')

/** A WebSocket on the IO thread, from the moment its request was dispatched. */
interface WsRecord {
  /** The request's writer until the upgrade is accepted. */
  res: ResponseWriter | null
  conn: TransportWebSocket | null
  /** Commands that arrived before the upgrade did (another worker was faster). */
  early: WorkerMessage[] | null
  /** Event jobs submitted and not finished: reading pauses above a bound. */
  pending: number
  paused: boolean
  closed: boolean
  /** Events waiting for the connection's job in the pool to finish. */
  queue: WsEvent[]
  /** A job of this connection is in the pool. */
  inPool: boolean
  /** Inline mode: the promise chain that keeps this connection's events in order. */
  chain?: Promise<void>
}

/** Events one WebSocket may have queued before its socket stops being read. */
const MAX_PENDING_EVENTS = 1024
/** Most events handed to a worker in one job. */
const MAX_EVENTS_PER_JOB = 256

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
  #transport: Transport | null = null
  #pool: WorkerPool | null = null
  #pending = new Map<number, ResponseWriter>()
  /** Job id → WebSocket id, for upgrade-capable requests. */
  #upgradeJobs = new Map<number, number>()
  /** Job id → [WebSocket id, number of events], for WebSocket event jobs. */
  #eventJobs = new Map<number, [number, number]>()
  readonly #table = new StatusTable()
  readonly #sockets = new Map<number, WsRecord>()
  /** Open streamed responses by id. */
  readonly #streams = new Map<number, TransportStream>()
  /** Open event streams by id. */
  readonly #sse = new Map<number, SseRecord>()
  /** Topic → event streams subscribed to it. */
  readonly #sseTopics = new Map<string, Set<number>>()
  #heartbeat: NodeJS.Timeout | null = null
  /** Removes expired tus uploads now and then. */
  #sweeper: NodeJS.Timeout | null = null
  #uploads: UploadSettings | null = null
  #inlineSse: SseHandler | null = null
  /** Job id → files of the upload it carries (deleted when the job ends). */
  readonly #uploadJobs = new Map<number, string[]>()
  /** Writes that reached a stream before its head did (posted by another worker), by id. */
  readonly #earlyStream = new Map<number, WorkerMessage[]>()
  #wsSettings: WebSocketSettings | null = null
  /** Unsent bytes above which a streamed response's connection is closed. */
  #streamLimit = DEFAULT_WEBSOCKET_SETTINGS.maxBackpressure
  #inline: Handler | null = null
  /** Where handles used on the IO thread for this server post (set by listen). */
  #channel: Channel | null = null
  #inlineWs: WebSocketHandler | null = null
  #listening: Promise<void> | null = null
  #closing: Promise<void> | null = null
  #poolClosing = false

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

  /** The transport in use once listening (`'node'` or `'uws'`; `null` before `listen`). */
  get transport(): 'node' | 'uws' | null {
    const t = this.#transport
    return t === null ? null : t instanceof UwsTransport ? 'uws' : 'node'
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
    const invalid = listenArgumentError(port, host)
    if (invalid !== null) return Promise.reject(invalid)
    return (this.#listening ??= this.#start(port, host))
  }

  async #start(port: number, host: string | undefined): Promise<void> {
    const o = this.#options
    const uploads = (this.#uploads = resolveUploads(o.uploads))
    const workers = o.workers ?? defaultWorkers()
    if (workers === 0) {
      const app =
        o.app !== undefined
          ? ((await import(toURLString(o.app))) as Record<string, unknown>)
          : undefined
      this.#inline =
        app !== undefined ? toHandler(app.default, 'the app module default export') : this.#handler
      const ws = app !== undefined ? app.websocketHandler : o.websocketHandler
      if (ws !== undefined && typeof ws !== 'function')
        throw new MummyError('ERR_MUMMY_INVALID_HANDLER', 'websocketHandler must be a function')
      this.#inlineWs = (ws as WebSocketHandler | undefined) ?? null
      const sse = app !== undefined ? app.sseHandler : o.sseHandler
      if (sse !== undefined && typeof sse !== 'function')
        throw new MummyError('ERR_MUMMY_INVALID_HANDLER', 'sseHandler must be a function')
      this.#inlineSse = (sse as SseHandler | undefined) ?? null
      if (this.#inline === null)
        throw new MummyError('ERR_MUMMY_INVALID_HANDLER', 'no handler given')
    } else {
      const config: WorkerConfig = {
        mode: o.app !== undefined ? 'app' : 'script',
        module: toURLString(o.app ?? o.module ?? process.argv[1] ?? ''),
        compression: this.#compression,
        websocket: {
          maxBackpressure: o.maxBackpressure ?? DEFAULT_WEBSOCKET_SETTINGS.maxBackpressure,
          backpressurePolicy: o.backpressure ?? DEFAULT_WEBSOCKET_SETTINGS.backpressurePolicy,
          compression: resolveWsCompression(o.websocketCompression),
          status: this.#table.buffer,
        },
        tus: uploads?.tus ?? null,
      }
      const pool = new WorkerPool({
        size: workers,
        workerURL: new URL('./worker-main.js', import.meta.url),
        workerData: config,
        concurrency: o.concurrency ?? 1,
        jobTimeout: o.handlerTimeout ?? 30_000,
        ...(o.resourceLimits === undefined ? {} : { resourceLimits: o.resourceLimits }),
        onMessage: (message, jobId) => this.#onWorkerMessage(message as WorkerMessage, jobId),
        onJobDone: (jobId) => {
          this.#jobEnded(jobId)
          this.#fail(jobId, 500, 'the handler finished but its response was lost')
        },
        onJobError: (jobId, error) => {
          this.#jobEnded(jobId)
          this.#fail(jobId, 500, `handler error: ${error.stack ?? error.message}`)
        },
        onJobFailed: (jobId, reason, detail) => {
          this.#jobEnded(jobId)
          this.#onJobFailed(jobId, reason, detail)
        },
        onWorkerExit: (index, code, error) =>
          this.#poolClosing ||
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
    if (uploads !== null) {
      await mkdir(uploads.dir, { recursive: true })
      transportOptions.maxStreamedBodyLen = uploads.maxSize
      const tus = uploads.tus
      if (tus === null)
        transportOptions.onBodyStart = (head, res, control) =>
          uploadSink(head.headers, uploads, res, control, head.contentLength)
      else {
        await mkdir(tus.dir, { recursive: true })
        transportOptions.maxStreamedBodyLen = Math.max(uploads.maxSize, tus.maxSize)
        transportOptions.onBodyStart = (head, res, control) =>
          tusSink(head, tus, res, control) ??
          uploadSink(head.headers, uploads, res, control, head.contentLength)
        if (tus.expires > 0) {
          const sweep = (): void =>
            void sweepTus(tus).catch((error: unknown) =>
              this.#log('warn', `tus: sweeping expired uploads failed: ${describeError(error)}`),
            )
          sweep()
          this.#sweeper = setInterval(sweep, Math.min(tus.expires, 60 * 60 * 1000))
          this.#sweeper.unref()
        }
      }
    }
    for (const key of Object.keys(
      DEFAULT_TRANSPORT_OPTIONS,
    ) as (keyof typeof DEFAULT_TRANSPORT_OPTIONS)[]) {
      const value = (o as Record<string, unknown>)[key]
      if (typeof value === 'number') (transportOptions as Record<string, unknown>)[key] = value
    }
    this.#wsSettings = {
      maxMessageLen: o.maxMessageLen ?? DEFAULT_WEBSOCKET_SETTINGS.maxMessageLen,
      idleTimeout: o.idleTimeout ?? DEFAULT_WEBSOCKET_SETTINGS.idleTimeout,
      maxBackpressure: o.maxBackpressure ?? DEFAULT_WEBSOCKET_SETTINGS.maxBackpressure,
      backpressurePolicy: o.backpressure ?? DEFAULT_WEBSOCKET_SETTINGS.backpressurePolicy,
      deflate: null,
    }
    this.#streamLimit = this.#wsSettings.maxBackpressure
    // Handles used on the IO thread (inline handlers, publish()) post to this server.
    this.#channel = {
      post: (message) => this.#onWorkerMessage(message as WorkerMessage, null),
      table: this.#table,
      maxBackpressure: this.#wsSettings.maxBackpressure,
      policy: this.#wsSettings.backpressurePolicy,
    }
    addWebSocketChannel(this.#channel)
    const kind = o.transport ?? 'node'
    this.#transport =
      kind === 'uws' || (kind === 'auto' && loadUws().available)
        ? new UwsTransport({
            ...transportOptions,
            websocket: this.#wsSettings,
          })
        : new NodeTransport(transportOptions)
    try {
      await this.#transport.listen(port, host)
    } catch (err) {
      // Reported once, by the rejection: the workers' exits are no news.
      removeWebSocketChannel(this.#channel)
      this.#poolClosing = true
      await this.#pool?.close({ timeout: 1000 })
      throw err
    }
    const heartbeat = o.sseHeartbeat ?? 15_000
    if (heartbeat > 0) {
      this.#heartbeat = setInterval(() => this.#beat(heartbeat), Math.max(100, heartbeat / 4))
      this.#heartbeat.unref()
    }
  }

  /**
   * A body that went to a sink (an upload, a tus PATCH): hand the request over once the sink
   * is done with it, or drop it if the sink refused it (it answered) or the client left.
   */
  #afterBody(
    req: TransportRequest,
    res: ResponseWriter,
    then: (req: TransportRequest, res: ResponseWriter, result: BodyResult) => void,
  ): void {
    void (req.sink as DiskSink).done.then((result: BodyResult | null) => {
      if (result === null) return
      if (res.closed) {
        if ('files' in result) removeFiles(result.files.map((f) => f.path))
        return
      }
      then(req, res, result)
    })
  }

  /** IO thread hot path: hand a complete request to the pool. */
  readonly #dispatch = (
    req: TransportRequest,
    res: ResponseWriter,
    result: BodyResult | null = null,
  ): void => {
    if (result === null && isDiskSink(req.sink)) {
      this.#afterBody(req, res, this.#dispatch)
      return
    }
    const upload = result !== null && 'files' in result ? result : null
    const wsId = req.upgrade ? this.#reserveSocket(res) : 0
    const payload: HttpJob = [
      JOB_HTTP,
      req.method,
      req.target,
      req.versionMinor,
      req.headers,
      req.body,
      req.remoteAddress,
      wsId,
      upload?.files ?? null,
      upload?.fields ?? null,
      result !== null && 'offset' in result ? result : null,
    ]
    // Bodies are copied, not transferred: a transferred job cannot be re-sent to an idle
    // worker, and work conservation matters more than one memcpy.
    const id = this.#pool!.submit(payload)
    this.#pending.set(id, res)
    if (upload !== null && upload.files.length > 0)
      this.#uploadJobs.set(
        id,
        upload.files.map((f) => f.path),
      )
    if (wsId !== 0) this.#upgradeJobs.set(id, wsId)
  }

  readonly #runInline = (
    req: TransportRequest,
    res: ResponseWriter,
    result: BodyResult | null = null,
  ): void => {
    if (result === null && isDiskSink(req.sink)) {
      this.#afterBody(req, res, this.#runInline)
      return
    }
    const upload = result !== null && 'files' in result ? result : null
    const wsId = req.upgrade ? this.#reserveSocket(res) : 0
    const request = new Request({
      method: req.method,
      uri: req.target,
      versionMinor: req.versionMinor,
      headers: req.headers,
      body: req.body,
      remoteAddress: req.remoteAddress,
      wsId,
      files: upload?.files ?? null,
      fields: upload?.fields ?? null,
      tusPatch: result !== null && 'offset' in result ? result : null,
      settings: {
        compression: this.#compression,
        websocketCompression: resolveWsCompression(this.#options.websocketCompression),
        tus: this.#uploads?.tus ?? null,
      },
      sink: (status, headers, body) => {
        if (wsId !== 0 && this.#sockets.get(wsId)?.conn === null) this.#forgetSocket(wsId)
        if (!res.closed && !res.ended) res.end(status, headers, body)
      },
      upgrade: (id, head, deflate) => this.#acceptUpgrade(id, head, deflate),
      stream: (status, headers, sse, length) => {
        const id = this.#table.claim()
        if (id !== 0) {
          if (wsId !== 0 && this.#sockets.get(wsId)?.conn === null) this.#forgetSocket(wsId)
          this.#openStream(res, id, status, headers, sse, length)
        }
        return id
      },
    })
    const handled = withChannel(this.#channel!, () => runHandler(this.#inline!, request, this.#log))
    if (upload !== null && upload.files.length > 0) {
      const paths = upload.files.map((f) => f.path)
      void Promise.resolve(handled).finally(() => removeFiles(paths))
    }
  }

  /** Inline mode: a WebSocket event runs on this thread, in order per connection. */
  #runInlineEvent(record: WsRecord, wsId: number, event: WsEvent): void {
    const handler = this.#inlineWs
    if (handler === null) return
    const run = (): Promise<void> | void =>
      withChannel(this.#channel!, () => handler(new WebSocket(wsId), event[0], toMessage(event)))
    const fail = (error: unknown): void =>
      this.#log('error', `websocketHandler (${event[0]}) failed: ${describeError(error)}`)
    record.chain = (record.chain ?? Promise.resolve()).then(run).catch(fail)
  }

  #onWorkerMessage(message: WorkerMessage, jobId: number | null): void {
    switch (message[0]) {
      case 'r': {
        if (jobId === null) return
        const res = this.#pending.get(jobId)
        if (res === undefined) return
        this.#pending.delete(jobId)
        this.#refuseUpgrade(jobId)
        // (A body sink may have answered meanwhile, say a disk error after the body ended.)
        if (!res.closed && !res.ended) res.end(message[1], message[2], message[3])
        return
      }
      case 'u':
        if (jobId !== null) {
          this.#pending.delete(jobId)
          this.#upgradeJobs.delete(jobId)
        }
        this.#acceptUpgrade(message[1], message[2], message[3])
        return
      case 'h': {
        if (jobId === null) return
        const res = this.#pending.get(jobId)
        this.#pending.delete(jobId)
        this.#refuseUpgrade(jobId)
        this.#openStream(res, message[1], message[2], message[3], message[4], message[5])
        return
      }
      case 'w':
      case 'e':
      case 'x':
      case 'T':
      case 'V':
        this.#streamCommand(message)
        return
      case 'P':
        this.#publishSse(message[1], message[2])
        return
      case 'l':
        this.#log(message[1], message[2])
        return
      case 'p': {
        const except =
          message[4] === 0 ? undefined : (this.#sockets.get(message[4])?.conn ?? undefined)
        this.#publish(message[1], message[2], message[3], except)
        return
      }
      default:
        this.#wsCommand(message)
    }
  }

  /** Starts streamed response `id` on `res` (or releases the id when the client is gone). */
  #openStream(
    res: ResponseWriter | undefined,
    id: number,
    status: number,
    headers: string[],
    sse: boolean,
    length: number,
  ): void {
    if (res === undefined || res.closed || res.ended) {
      this.#table.release(id)
      this.#earlyStream.delete(id)
      if (sse) this.#sseClosed(id)
      return
    }
    const stream = res.stream(
      status,
      headers,
      {
        onDrain: () => this.#table.setBuffered(id, 0),
        onClose: () => {
          this.#streams.delete(id)
          this.#table.release(id)
          if (sse) this.#sseClosed(id)
        },
      },
      false,
      length,
    )
    if (!stream.closed) {
      this.#streams.set(id, stream)
      if (sse) this.#sse.set(id, { stream, topics: new Set(), lastWrite: Date.now() })
    }
    const early = this.#earlyStream.get(id)
    if (early !== undefined) {
      this.#earlyStream.delete(id)
      for (const message of early) this.#streamCommand(message)
    }
  }

  /** A command for a streamed response: write, end, drop (`x`), (un)subscribe an event stream. */
  #streamCommand(message: WorkerMessage): void {
    const id = message[1] as number
    const stream = this.#streams.get(id)
    if (stream === undefined) {
      if (this.#table.isOpen(id)) {
        // Claimed, and its head is still on its way from the worker that opened it.
        const early = this.#earlyStream.get(id)
        if (early !== undefined) early.push(message)
        else this.#earlyStream.set(id, [message])
      } else if (message[0] === 'w') this.#table.taken(id, (message[2] as Uint8Array).byteLength)
      return
    }
    switch (message[0]) {
      case 'e':
        stream.end()
        return
      case 'x':
        this.#log('debug', `streamed response ${id}: over maxBackpressure, closing the connection`)
        stream.abort()
        return
      case 'T':
      case 'V':
        this.#sseTopic(message[0], id, message[2] as string)
        return
      case 'w': {
        const bytes = message[2] as Uint8Array
        this.#table.taken(id, bytes.byteLength)
        this.#writeStream(id, stream, bytes)
      }
    }
  }

  /**
   * Writes to stream `id`, held to the end of this IO callback; a reader more than
   * `maxBackpressure` behind loses the connection instead (a body cannot skip bytes).
   */
  #writeStream(id: number, stream: TransportStream, bytes: Uint8Array): SendStatus {
    if (stream.bufferedAmount > this.#streamLimit) {
      this.#log('debug', `streamed response ${id}: over maxBackpressure, closing the connection`)
      stream.abort()
      return 'dropped'
    }
    stream.hold()
    const status = stream.write(bytes)
    this.#table.setBuffered(id, stream.bufferedAmount)
    const record = this.#sse.get(id)
    if (record !== undefined) record.lastWrite = Date.now()
    return status
  }

  /** Subscribes (`T`) or unsubscribes (`V`) open event stream `id` to `topic`. */
  #sseTopic(op: 'T' | 'V', id: number, topic: string): void {
    const record = this.#sse.get(id)
    if (record === undefined) return
    let set = this.#sseTopics.get(topic)
    if (op === 'T') {
      if (set === undefined) this.#sseTopics.set(topic, (set = new Set()))
      set.add(id)
      record.topics.add(topic)
    } else if (set !== undefined) {
      set.delete(id)
      record.topics.delete(topic)
      if (set.size === 0) this.#sseTopics.delete(topic)
    }
  }

  /** An event stream is over: forget it, and tell the app's `sseHandler` on a worker. */
  #sseClosed(id: number): void {
    const record = this.#sse.get(id)
    if (record !== undefined) {
      for (const topic of [...record.topics]) this.#sseTopic('V', id, topic)
      this.#sse.delete(id)
    }
    if (this.#pool !== null) {
      if (!this.#poolClosing) this.#pool.submit([JOB_SSE, id, 'close'] satisfies SseJob, id)
      return
    }
    const handler = this.#inlineSse
    if (handler === null) return
    void (async () => {
      try {
        await withChannel(this.#channel!, () => handler(new SseStream(id), 'close'))
      } catch (error) {
        this.#log('error', `sseHandler (close) failed: ${describeError(error)}`)
      }
    })()
  }

  /** Writes a comment to every event stream idle for `after` ms. */
  #beat(after: number): void {
    const now = Date.now()
    for (const [id, record] of this.#sse)
      if (now - record.lastWrite >= after) this.#writeStream(id, record.stream, HEARTBEAT)
  }

  /** Publishes to WebSockets (framed once) and, for text, to event streams (encoded once). */
  #publish(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    except?: TransportWebSocket,
  ): number {
    const delivered = this.#transport?.publish(topic, kind, data, except) ?? 0
    if (kind !== 'text' || !this.#sseTopics.has(topic)) return delivered
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString()
    return delivered + this.#publishSse(topic, Buffer.from(encodeEvent({ data: text })))
  }

  /** Writes an encoded event to every event stream subscribed to `topic`; returns how many. */
  #publishSse(topic: string, event: Uint8Array): number {
    const ids = this.#sseTopics.get(topic)
    if (ids === undefined) return 0
    let delivered = 0
    for (const id of ids) {
      const record = this.#sse.get(id)
      if (record !== undefined && this.#writeStream(id, record.stream, event) !== 'dropped')
        delivered++
    }
    return delivered
  }

  /** A command for one WebSocket: send, close, subscribe, unsubscribe. */
  #wsCommand(message: WorkerMessage): void {
    const record = this.#sockets.get(message[1] as number)
    if (record === undefined || record.closed) return
    const conn = record.conn
    if (conn === null) {
      // The upgrade is still on its way from the worker that accepted it: keep the order.
      ;(record.early ??= []).push(message)
      return
    }
    switch (message[0]) {
      case 's':
        this.#table.taken(conn.id, message[3].byteLength)
        conn.send(message[2], message[3])
        this.#table.setBuffered(conn.id, conn.bufferedAmount)
        break
      case 'c':
        conn.close(message[2], message[3])
        break
      case 'S':
        this.#transport!.subscribe(conn, message[2])
        break
      case 'U':
        this.#transport!.unsubscribe(conn, message[2])
        break
    }
  }

  #acceptUpgrade(wsId: number, head: string, deflate: DeflateParams | null): void {
    const record = this.#sockets.get(wsId)
    if (record === undefined || record.res === null) return
    const res = record.res
    record.res = null
    const settings: WebSocketSettings = {
      ...this.#wsSettings!,
      deflate:
        deflate === null
          ? null
          : new PerMessageDeflate(deflate, { maxMessageLen: this.#wsSettings!.maxMessageLen }),
    }
    // (Answered meanwhile: a 503 from close() at its deadline.)
    const conn = res.closed || res.ended ? null : res.upgrade(head, wsId, settings, this.#wsEvents)
    if (conn === null) {
      this.#forgetSocket(wsId)
      return
    }
    record.conn = conn
    const early = record.early
    record.early = null
    if (early !== null) for (const m of early) this.#wsCommand(m)
  }

  /** The request was answered without an upgrade: its WebSocket id will never be used. */
  #refuseUpgrade(jobId: number): void {
    const wsId = this.#upgradeJobs.get(jobId)
    if (wsId === undefined) return
    this.#upgradeJobs.delete(jobId)
    const record = this.#sockets.get(wsId)
    if (record !== undefined && record.conn === null) this.#forgetSocket(wsId)
  }

  /** An id for a request that may become a WebSocket; sends to it queue until it does. */
  #reserveSocket(res: ResponseWriter): number {
    const wsId = this.#table.allocate()
    const record: WsRecord = {
      res,
      conn: null,
      early: null,
      pending: 0,
      paused: false,
      closed: false,
      queue: [],
      inPool: false,
    }
    this.#sockets.set(wsId, record)
    return wsId
  }

  #forgetSocket(wsId: number): void {
    this.#sockets.delete(wsId)
    this.#table.release(wsId)
  }

  readonly #wsEvents: WebSocketEvents = {
    onOpen: (ws) => this.#submitEvent(ws.id, ['open']),
    onMessage: (ws, kind, data) => this.#submitEvent(ws.id, ['message', kind, exact(data)]),
    onError: (ws, code, message) => this.#submitEvent(ws.id, ['error', code, message]),
    onClose: (ws, code, reason) => {
      this.#table.release(ws.id)
      const record = this.#sockets.get(ws.id)
      if (record !== undefined) record.closed = true
      this.#submitEvent(ws.id, ['close', code, reason])
    },
    onDrain: (ws) => this.#table.setBuffered(ws.id, ws.bufferedAmount),
  }

  #submitEvent(wsId: number, event: WsEvent): void {
    const record = this.#sockets.get(wsId)
    if (record === undefined) return
    if (this.#pool === null) {
      this.#runInlineEvent(record, wsId, event)
      if (event[0] === 'close') this.#sockets.delete(wsId)
      return
    }
    record.queue.push(event)
    record.pending++
    if (!record.paused && record.pending > MAX_PENDING_EVENTS && record.conn !== null) {
      record.paused = true
      record.conn.pause()
    }
    if (!record.inPool) this.#submitQueued(wsId, record)
  }

  /** Hands the connection's queued events to the pool as one job. */
  #submitQueued(wsId: number, record: WsRecord): void {
    // The pool is closing: events still queued behind a running one are not delivered.
    if (this.#poolClosing) return
    const events =
      record.queue.length <= MAX_EVENTS_PER_JOB
        ? record.queue
        : record.queue.slice(0, MAX_EVENTS_PER_JOB)
    record.queue =
      record.queue.length <= MAX_EVENTS_PER_JOB ? [] : record.queue.slice(MAX_EVENTS_PER_JOB)
    const job: WsJob = [JOB_WS, wsId, events]
    const jobId = this.#pool!.submit(job, wsId)
    this.#eventJobs.set(jobId, [wsId, events.length])
    record.inPool = true
  }

  /** Bookkeeping when any job ends: uploads are deleted, WebSocket event queues drain, closed sockets are forgotten. */
  #jobEnded(jobId: number): void {
    const uploaded = this.#uploadJobs.get(jobId)
    if (uploaded !== undefined) {
      this.#uploadJobs.delete(jobId)
      removeFiles(uploaded)
    }
    if (this.#upgradeJobs.has(jobId)) {
      // An upgrade-capable request whose handler ended without upgrading: it gets an answer
      // (or a 500/503) through #fail, and its WebSocket id is never used.
      this.#refuseUpgrade(jobId)
      return
    }
    const entry = this.#eventJobs.get(jobId)
    if (entry === undefined) return
    this.#eventJobs.delete(jobId)
    const [wsId, count] = entry
    const record = this.#sockets.get(wsId)
    if (record === undefined) return
    record.pending -= count
    record.inPool = false
    if (record.paused && record.pending <= MAX_PENDING_EVENTS / 4) {
      record.paused = false
      record.conn?.resume()
    }
    if (record.queue.length > 0) this.#submitQueued(wsId, record)
    else if (record.closed) this.#sockets.delete(wsId)
  }

  /**
   * Publishes to every WebSocket subscribed to `topic`, from the IO thread. (Workers use the
   * `publish` function or `ws.publish`.) Returns the number of subscribers it went to.
   */
  publish(
    topic: string,
    data: string | Uint8Array,
    kind: 'text' | 'binary' = typeof data === 'string' ? 'text' : 'binary',
  ): number {
    return this.#publish(topic, kind, typeof data === 'string' ? Buffer.from(data) : data)
  }

  /**
   * Sends `event` to every event stream subscribed to `topic`, from the IO thread (workers
   * use the `publishEvent` function). Returns the number of streams it went to.
   */
  publishEvent(topic: string, event: SseEvent): number {
    return this.#publishSse(topic, Buffer.from(encodeEvent(event)))
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
    else if (detail?.code === 'ERR_MUMMY_POOL_CLOSED')
      this.#fail(jobId, 503, 'request not started by the close() deadline', true)
    else
      this.#fail(
        jobId,
        503,
        `worker died while handling a request${detail ? `: ${detail.message}` : ''}`,
        true,
      )
  }

  /**
   * Graceful shutdown: stop accepting, answer every request already received (the last answer
   * on each connection with `Connection: close`), close idle keep-alive connections, end event
   * streams and close WebSockets (1001), then stop the workers. At the deadline (`timeout`, else
   * the `closeTimeout` option, default 10 s) every request still unanswered is answered `503`
   * with `Connection: close`: never silence. Workers get what is left of the deadline (at least
   * 1 s) to finish work they do after answering.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void server.close({ timeout: 30_000 }))
   * ```
   */
  close(options: { timeout?: number } = {}): Promise<void> {
    if (this.#inert) return Promise.resolve()
    return (this.#closing ??= (async () => {
      const timeout = options.timeout ?? this.#options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT
      if (!Number.isFinite(timeout) || timeout < 0)
        throw new MummyError(
          'ERR_MUMMY_INVALID_OPTION',
          'close timeout must be a number of ms >= 0',
        )
      const started = Date.now()
      await this.#listening?.catch(() => {})
      if (this.#heartbeat !== null) clearInterval(this.#heartbeat)
      if (this.#sweeper !== null) clearInterval(this.#sweeper)
      // Event streams never finish on their own: end them, their clients reconnect elsewhere.
      for (const record of this.#sse.values()) record.stream.end()
      // At the deadline, requests no worker has started yet are withdrawn (answered 503: they
      // must not run after being answered "not done"); the transport answers the rest.
      const deadline = setTimeout(() => this.#pool?.withdrawUnstarted(), timeout)
      deadline.unref()
      await this.#transport?.close(timeout)
      clearTimeout(deadline)
      this.#poolClosing = true
      await this.#pool?.close({ timeout: Math.max(1000, timeout - (Date.now() - started)) })
      if (this.#channel !== null) removeWebSocketChannel(this.#channel)
    })())
  }
}

function resolveWsCompression(
  value: ServerOptions['websocketCompression'],
): false | DeflateOptions {
  if (value === undefined || value === false) return false
  return value === true ? {} : value
}

/** A copy that owns exactly its bytes (a view would clone its whole backing buffer). */
function exact(data: Buffer): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    ? data
    : new Uint8Array(data)
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
  validateOptions(options)
  const handler = isOptions ? null : toHandler(first, 'the handler passed to createServer')
  if (isPoolWorker()) {
    if (handler !== null)
      registerWorkerHandler(handler, options.websocketHandler ?? null, options.sseHandler ?? null)
    return new Server(handler, options, true)
  }
  return new Server(handler, options, false)
}

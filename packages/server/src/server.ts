import { MummyError } from '@mummy/errors'
import type {
  ListenAddress,
  ListenTarget,
  ResponseWriter,
  Transport,
  TransportOptions,
  TransportRequest,
} from '@mummy/io-loop'
import {
  isDiskSink,
  removeFiles,
  type DiskSink,
  type TusPatchResult,
  type UploadResult,
} from '@mummy/uploads'
import { loggedWriter } from './access-log.js'
import { bodySinks, type BodySinks } from './body-sinks.js'
import { dispatchCommand, executorEvents, type CommandTargets } from './commands.js'
import { createExecutor, type Executor, type ExecutorEvents } from './executor.js'
import type { Handler } from './handler.js'
import { JobTable } from './jobs.js'
import { listenTargets, type ServerOptions } from './options.js'
import { JOB_HTTP, StatusTable, transferList } from './protocol.js'
import { Topics } from './pubsub.js'
import { reachedListen } from './registry.js'
import { createTransport } from './transports.js'
import { IdSubscriptions } from './ws-ids.js'
import { resolveSettings, type ServerSettings } from './settings.js'
import type { SseEvent } from './sse.js'
import { SseHub } from './sse-hub.js'
import { StreamHub } from './streams.js'
import { addWebSocketChannel, removeWebSocketChannel, type Channel } from './websocket.js'
import { WebSocketHub } from './ws-hub.js'

/** Request bodies from this size on are moved to their worker, not cloned. */
const MOVE_BODY_FROM = 16 * 1024

/** What a body sink hands over with its request. */
type BodyResult = UploadResult | TusPatchResult

/** Repeats of a shutdown signal within this many ms are the same signal (forwarded twice). */
const SIGNAL_REPEAT_MS = 500

/**
 * A server: one IO thread (this one) that owns the sockets, and an executor — a pool of
 * worker threads, or this thread in inline mode — that runs the handlers. It wires its
 * owners together: the job table, the WebSocket, stream and event-stream hubs, and the one
 * dispatcher of worker messages. Create it with {@link createServer}.
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
  readonly #settings: ServerSettings
  readonly #inert: boolean
  readonly #table = new StatusTable()
  readonly #jobs: JobTable
  readonly #sockets: WebSocketHub
  readonly #sse: SseHub
  readonly #streams: StreamHub
  readonly #topics: Topics
  readonly #targets: CommandTargets
  readonly #events: ExecutorEvents
  /** Where handles used on the IO thread for this server post. */
  readonly #channel: Channel
  #executor: Executor | null = null
  #transport: Transport | null = null
  #sinks: BodySinks | null = null
  #listening: Promise<void> | null = null
  #closing: Promise<void> | null = null
  /** When the first shutdown signal came (0: none yet). */
  #signalledAt = 0

  /** @internal Use {@link createServer}. */
  constructor(handler: Handler | null, options: ServerOptions, inert: boolean) {
    this.#handler = handler
    this.#options = options
    this.#inert = inert
    const s = (this.#settings = resolveSettings(options))
    const executor = (): Executor => this.#executor!
    this.#jobs = new JobTable(s.log, s.handlerTimeout)
    this.#sockets = new WebSocketHub(this.#table, s.websocket, executor)
    this.#sse = new SseHub(executor)
    this.#streams = new StreamHub(this.#table, s.log, s.websocket.maxBackpressure, this.#sse)
    this.#sse.attach(this.#streams)
    const transport = (): Transport | null => this.#transport
    const ids = new IdSubscriptions(transport, s.pubsub)
    this.#topics = new Topics(s.pubsub, transport, this.#sse, ids, s.log)
    this.#sockets.topics(this.#topics)
    this.#sse.bridge(this.#topics)
    this.#targets = {
      jobs: this.#jobs,
      sockets: this.#sockets,
      streams: this.#streams,
      sse: this.#sse,
      log: s.log,
      publish: (m) =>
        this.#topics.publish(
          m[1],
          m[2],
          m[3],
          m[4] === 0 ? undefined : this.#sockets.connection(m[4]),
        ),
      publishEvent: (m) => this.#topics.publishEvent(m[1], m[2]),
    }
    this.#events = executorEvents(this.#targets)
    this.#channel = {
      post: (message) => dispatchCommand(this.#targets, message as never, null),
      table: this.#table,
      maxBackpressure: s.websocket.maxBackpressure,
      policy: s.websocket.backpressurePolicy,
    }
  }

  /** The bound port (the ephemeral one when listening on 0), or 0 before `listen` resolves. */
  get port(): number {
    return this.#transport?.port ?? 0
  }

  /** The transport in use once listening (`'node'` or `'uws'`; `null` before `listen`). */
  get transport(): 'node' | 'uws' | null {
    const t = this.#transport
    return t === null ? null : (t.name as 'node' | 'uws')
  }

  /** Number of worker threads (0 in inline mode). */
  get workers(): number {
    return this.#executor?.size ?? 0
  }

  /**
   * Starts the workers, then listens. Resolves once requests are being accepted. In a worker
   * thread (the single-file form loads the script again in each) it never resolves: the
   * script's loading stops there, so code after `await server.listen()` runs on the IO thread
   * only.
   *
   * `listen(port = 8080, host?)` listens on a TCP port (`host`: an IPv4 or IPv6 address or a
   * name; all IPv4 interfaces when absent). `listen(target)` and `listen([target, …])` take
   * `{ port, host? }` and `{ path }` (a unix domain socket) targets, several at once; with the
   * `tls` option every listener speaks TLS. {@link addresses} says where it listens.
   * Arguments are checked first: `ERR_MUMMY_INVALID_OPTION`; a target that cannot be bound
   * rejects with `ERR_MUMMY_LISTEN` (nothing is left listening).
   *
   * @example
   * ```ts
   * await server.listen([{ port: 8443, host: '::' }, { path: '/run/app.sock' }])
   * ```
   */
  listen(port?: number, host?: string): Promise<void>
  listen(target: ListenTarget | readonly ListenTarget[]): Promise<void>
  listen(first?: number | ListenTarget | readonly ListenTarget[], host?: string): Promise<void> {
    // In a worker, the script's copy stops here: what follows `await listen()` runs only on
    // the IO thread.
    if (this.#inert) return reachedListen()
    const checked = listenTargets(first, host)
    if (checked instanceof MummyError) return Promise.reject(checked)
    return (this.#listening ??= this.#start(checked.targets))
  }

  /** Where the server listens (after `listen` resolved), in the order the targets were given. */
  get addresses(): readonly ListenAddress[] {
    return this.#transport?.addresses ?? []
  }

  /**
   * The URL of the first TCP listener (`http://127.0.0.1:8080`, `https://[::1]:8443`; an
   * unspecified address shows as `localhost`), or `''` when there is none yet.
   */
  get url(): string {
    for (const a of this.addresses) {
      if (!('port' in a)) continue
      const any = a.address === '0.0.0.0' || a.address === '::'
      const host = any ? 'localhost' : a.family === 'IPv6' ? `[${a.address}]` : a.address
      return `${a.tls ? 'https' : 'http'}://${host}:${a.port}`
    }
    return ''
  }

  async #start(targets: readonly ListenTarget[]): Promise<void> {
    const s = this.#settings
    const executor = (this.#executor = createExecutor({
      settings: s,
      options: this.#options,
      handler: this.#handler,
      table: this.#table,
      channel: this.#channel,
      events: this.#events,
      quiet: () => this.#sockets.closing,
    }))
    await executor.start()
    this.#sinks = s.uploads === null ? null : await bodySinks(s.uploads, s.log)
    const options: Partial<TransportOptions> & Pick<TransportOptions, 'onRequest'> = {
      ...s.limits,
      ...this.#sinks?.transport,
      ...(s.tls === undefined ? {} : { tls: s.tls }),
      onRequest: this.#onRequest,
      onClientError: (error, address) =>
        s.log('debug', `bad request from ${address}: ${error.code ?? ''} ${error.message}`),
    }
    try {
      const transport = (this.#transport = await createTransport(s.transport, options, s.websocket))
      this.#sockets.attach(transport)
      addWebSocketChannel(this.#channel)
      await this.#topics.start()
      for (const target of targets) await transport.listenOn(target)
    } catch (err) {
      // Reported once, by the rejection: the workers' exits are no news.
      await this.#transport?.close(0)
      removeWebSocketChannel(this.#channel)
      void this.#topics.close()
      this.#sinks?.stop()
      this.#stopping()
      await executor.close({ timeout: 1000 })
      throw err
    }
    this.#sse.startHeartbeat(s.sseHeartbeat)
    for (const signal of s.shutdownSignals) process.on(signal, this.#onSignal)
  }

  /**
   * A shutdown signal: close, then end the process; a second one ends it at once. Signals
   * within 500 ms of the first count as the same one: a package manager's `run` forwards the
   * terminal's Ctrl-C to its child, which then gets it twice.
   */
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    const log = this.#settings.log
    if (this.#signalledAt !== 0) {
      if (Date.now() - this.#signalledAt < SIGNAL_REPEAT_MS) return
      log('warn', `${signal} again while closing: exiting now`)
      process.exit(1)
    }
    this.#signalledAt = Date.now()
    log('info', `${signal}: closing (requests in flight are answered first)`)
    this.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log('error', `closing on ${signal} failed: ${String(error)}`)
        process.exit(1)
      },
    )
  }

  /** IO thread hot path: hand a complete request to the executor. */
  readonly #onRequest = (
    req: TransportRequest,
    res: ResponseWriter,
    result: BodyResult | null = null,
  ): void => {
    const accessLog = this.#settings.accessLog
    if (accessLog !== null && result === null) res = loggedWriter(req, res, accessLog)
    if (result === null && isDiskSink(req.sink)) {
      // The body went to a sink (an upload, a tus PATCH): hand the request over once the sink
      // is done with it, or drop it if the sink refused it (it answered) or the client left.
      void (req.sink as DiskSink).done.then((done: BodyResult | null) => {
        if (done === null) return
        if (!res.closed) this.#onRequest(req, res, done)
        else if ('files' in done) removeFiles(done.files.map((f) => f.path))
      })
      return
    }
    const upload = result !== null && 'files' in result ? result : null
    const wsId = req.upgrade ? this.#sockets.reserve(res) : 0
    // A large body is moved to its worker: it was copied once already, out of the socket's
    // buffers, into a buffer of its own. A small one is cloned, which costs less than what
    // moving costs (a moved job waits for a free worker instead of queueing in one).
    const body = req.body
    const id = this.#executor!.submit(
      [
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
      ],
      undefined,
      body.byteLength >= MOVE_BODY_FROM ? transferList(body) : undefined,
    )
    this.#jobs.add(id, res, wsId, upload === null ? null : upload.files.map((f) => f.path))
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
    return this.#topics.publish(topic, kind, typeof data === 'string' ? Buffer.from(data) : data)
  }

  /**
   * Sends `event` to every event stream subscribed to `topic`, from the IO thread (workers
   * use the `publishEvent` function). Returns the number of streams it went to.
   */
  publishEvent(topic: string, event: SseEvent): number {
    return this.#topics.publishEvent(topic, event)
  }

  /** The executor is closing: no more event jobs. */
  #stopping(): void {
    this.#sockets.closing = true
    this.#sse.closing = true
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
      const timeout = options.timeout ?? this.#settings.closeTimeout
      if (!Number.isFinite(timeout) || timeout < 0)
        throw new MummyError(
          'ERR_MUMMY_INVALID_OPTION',
          'close timeout must be a number of ms >= 0',
        )
      const started = Date.now()
      await this.#listening?.catch(() => {})
      // (Still listening for a second signal while closing: it exits at once.)
      this.#sse.stop()
      this.#sinks?.stop()
      // Event streams never finish on their own: end them, their clients reconnect elsewhere.
      this.#streams.endAll(true)
      // At the deadline, requests no worker has started yet are withdrawn (answered 503: they
      // must not run after being answered "not done"); the transport answers the rest.
      const deadline = setTimeout(() => this.#executor?.withdrawUnstarted(), timeout)
      deadline.unref()
      await this.#transport?.close(timeout)
      clearTimeout(deadline)
      this.#stopping()
      await this.#executor?.close({ timeout: Math.max(1000, timeout - (Date.now() - started)) })
      removeWebSocketChannel(this.#channel)
      await this.#topics.close()
      for (const signal of this.#settings.shutdownSignals) process.off(signal, this.#onSignal)
    })())
  }
}

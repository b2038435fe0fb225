/**
 * The options of `createServer`, checked when they are given: every key known, every value of
 * the right type and range. A mistake is reported at once, naming the option and the value
 * received, instead of being ignored or found at `listen()`.
 */
import type { ResourceLimits } from 'node:worker_threads'
import { MummyError } from '@mummy/errors'
import type { ListenTarget, TlsOptions } from '@mummy/io-loop'
import type { UploadOptions } from '@mummy/uploads'
import type { DeflateOptions } from '@mummy/websocket'
import type { AccessLogOption } from './access-log.js'
import type { CompressionOptions } from './compression.js'
import type { LogHandler } from './log.js'
import type { PubSubEngine } from './pubsub.js'
import type { SseHandler } from './sse.js'
import type { WebSocketHandler } from './websocket.js'

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
   * (uWebSockets.js, from the `@mummy/uws` package: `listen()` fails with
   * `ERR_MUMMY_TRANSPORT_UNAVAILABLE` where that package is not installed or its native build
   * does not load) or `'auto'` (uWebSockets.js where it is installed and loads, else node).
   * Default `'node'`. See the `@mummy/uws` README for what uWebSockets.js decides differently.
   */
  transport?: 'node' | 'uws' | 'auto'
  /**
   * Per-worker V8 limits; a worker exceeding them dies, its requests get 503, it is replaced.
   * Unless `maxYoungGenerationSizeMb` is set, a pool of more than five workers gives each
   * `256 MB / workers` of young generation (at least 3 MB) rather than V8's 48 MB per thread.
   */
  resourceLimits?: ResourceLimits
  /**
   * Whether V8 may optimize code sooner, for the whole process (its `--interrupt-budget`, set to
   * 8 KiB of bytecode from 66 KiB). V8 counts per thread, and each of N workers runs 1/N of the
   * requests, so a handler's code reaches the optimizing compiler N times later in a big pool
   * than on one thread: with 100 blocking workers at ~50 requests/s each, the request path
   * stayed in baseline code; optimizing sooner took `sleep10` (after warm-up, 2 cores) from 274
   * to 248 µs of CPU and from 5,077 to 5,455 requests/s. `'auto'` (default): on for pools of 16 or more workers, unless the
   * process was started with its own `--interrupt-budget`; `true`: on; `false`: V8's defaults.
   */
  eagerOptimization?: boolean | 'auto'
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
  /**
   * Topics across instances: an engine shared by every instance of the app, such as
   * `redisPubSub({ url })` from `@mummy/redis`. With it, `publish` and `publishEvent` from any
   * instance reach the topic's WebSockets and event streams on every instance (each delivered
   * once), and an event stream resumes with `Last-Event-ID` on any instance where the topic
   * keeps history. Without it (the default), topics are this process's own.
   */
  pubsub?: PubSubEngine
  /**
   * TLS on every listener (HTTPS and WSS): `{ key, cert }` in PEM (text or bytes), optionally
   * `ca` and `passphrase`. On both transports. None by default.
   */
  tls?: TlsOptions
  /**
   * Graceful shutdown on signals: `true` for `SIGINT` and `SIGTERM`, or a list of signals. On
   * the first, the server closes (`close()`: requests in flight are answered, up to
   * `closeTimeout`) and then the process exits with code 0; a second one (0.5 s or more after
   * the first: a package manager's `run` forwards Ctrl-C, so the same keypress arrives twice)
   * exits at once with code 1. Default: none (the process's own signal handling is left alone).
   */
  shutdownSignals?: boolean | readonly NodeJS.Signals[]
  /**
   * One line per answered request, written by the IO thread when the answer is complete:
   * `true` or `'combined'` (Combined Log Format), `'common'`, `'json'` (JSON lines), to
   * standard output; or a function receiving each `AccessLogEntry`. Default: off.
   */
  accessLog?: AccessLogOption
}

type Check = (value: unknown) => string | null

const integer =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? null : `an integer >= ${min}`
const ms =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min
      ? null
      : min > 0
        ? 'a number of ms > 0'
        : 'a number of ms >= 0'
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? null : values.map((x) => `'${x}'`).join(' or ')
const fn: Check = (v) => (typeof v === 'function' ? null : 'a function')
const url: Check = (v) => (typeof v === 'string' || v instanceof URL ? null : 'a string or a URL')
const object: Check = (v) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'an object'
const flagOrObject: Check = (v) =>
  typeof v === 'boolean' ? null : object(v) && 'true, false or an object'

/** Every option `createServer` takes, with what its value must be. */
const CHECKS: Readonly<Record<string, Check>> = {
  workers: integer(0),
  app: url,
  module: url,
  concurrency: integer(1),
  maxHeadersLen: integer(1),
  maxBodyLen: integer(0),
  headersTimeout: ms(1),
  requestTimeout: ms(1),
  keepAliveTimeout: ms(1),
  sendTimeout: ms(1),
  handlerTimeout: ms(0),
  closeTimeout: ms(0),
  compression: flagOrObject,
  logHandler: fn,
  transport: oneOf('node', 'uws', 'auto'),
  resourceLimits: object,
  eagerOptimization: (v) =>
    typeof v === 'boolean' || v === 'auto' ? null : "true, false or 'auto'",
  websocketHandler: fn,
  maxMessageLen: integer(1),
  idleTimeout: ms(0),
  maxBackpressure: integer(1),
  backpressure: oneOf('close', 'drop'),
  websocketCompression: flagOrObject,
  sseHandler: fn,
  uploads: flagOrObject,
  sseHeartbeat: ms(0),
  pubsub: (v) =>
    typeof v === 'object' &&
    v !== null &&
    ['start', 'subscribe', 'unsubscribe', 'publish', 'keepsHistory', 'history', 'close'].every(
      (k) => typeof (v as Record<string, unknown>)[k] === 'function',
    )
      ? null
      : 'a pub/sub engine (such as redisPubSub() from @mummy/redis)',
  accessLog: (v) =>
    typeof v === 'boolean' ||
    typeof v === 'function' ||
    v === 'common' ||
    v === 'combined' ||
    v === 'json'
      ? null
      : "true, false, 'common', 'combined', 'json' or a function",
  shutdownSignals: (v) =>
    typeof v === 'boolean' ||
    (Array.isArray(v) &&
      v.length > 0 &&
      v.every((x) => typeof x === 'string' && /^SIG[A-Z0-9]+$/.test(x)))
      ? null
      : "true, false or a list of signal names such as ['SIGTERM']",
  tls: (v) => {
    const pem = (x: unknown): boolean => typeof x === 'string' || x instanceof Uint8Array
    if (typeof v !== 'object' || v === null) return 'an object { key, cert, ca?, passphrase? }'
    const o = v as Record<string, unknown>
    const unknown = Object.keys(o).find((k) => !['key', 'cert', 'ca', 'passphrase'].includes(k))
    return pem(o.key) &&
      pem(o.cert) &&
      (o.ca === undefined || pem(o.ca)) &&
      (o.passphrase === undefined || typeof o.passphrase === 'string') &&
      unknown === undefined
      ? null
      : 'an object { key, cert, ca?, passphrase? } with PEM strings or bytes'
  },
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(
        (prev[j] as number) + 1,
        (next[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
    prev = next
  }
  return prev[b.length] as number
}

/** The known option closest to `key`, if it is close enough to be a misspelling. */
function suggest(key: string): string | null {
  let best: string | null = null
  let bestDistance = Infinity
  for (const known of Object.keys(CHECKS)) {
    const d = known.toLowerCase() === key.toLowerCase() ? 0 : distance(known, key)
    if (d < bestDistance) {
      best = known
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : null
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object' && value !== null)
    return Array.isArray(value) ? 'an array' : 'an object'
  return String(value)
}

/**
 * Checks the options given to `createServer`. Throws `ERR_MUMMY_INVALID_OPTION` (a
 * `MummyError`) naming the first option that is unknown (with the closest known name) or whose
 * value is not what it must be, and the value received. `undefined` values are ignored (the
 * default applies).
 *
 * @example
 * ```ts
 * validateOptions({ workers: 'four' })
 * // MummyError ERR_MUMMY_INVALID_OPTION: option workers must be an integer >= 0, got "four"
 * ```
 */
export function validateOptions(options: unknown): void {
  if (object(options) !== null)
    throw new MummyError(
      'ERR_MUMMY_INVALID_OPTION',
      `options must be an object, got ${show(options)}`,
    )
  for (const [key, value] of Object.entries(options as Record<string, unknown>)) {
    if (value === undefined) continue
    const check = CHECKS[key]
    if (check === undefined) {
      const near = suggest(key)
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `unknown option ${key}${near === null ? '' : ` (did you mean ${near}?)`}`,
      )
    }
    const expected = check(value)
    if (expected !== null)
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `option ${key} must be ${expected}, got ${show(value)}`,
      )
  }
}

/**
 * Checks `listen(port, host)`'s arguments: a port is an integer 0–65535 (0: any free port), a
 * host a non-empty string. Returns the `ERR_MUMMY_INVALID_OPTION` error to reject with, or null.
 *
 * @example
 * ```ts
 * listenArgumentError('8080', undefined)?.message // 'listen() port must be an integer 0…65535, got "8080"'
 * ```
 */
export function listenArgumentError(port: unknown, host: unknown): MummyError | null {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
    return new MummyError(
      'ERR_MUMMY_INVALID_OPTION',
      `listen() port must be an integer 0…65535, got ${show(port)}`,
    )
  if (host !== undefined && (typeof host !== 'string' || host === ''))
    return new MummyError(
      'ERR_MUMMY_INVALID_OPTION',
      `listen() host must be a non-empty string, got ${show(host)}`,
    )
  return null
}

/**
 * The listen targets `listen()` was given — `(port?, host?)`, one target, or a list of them —
 * or the `ERR_MUMMY_INVALID_OPTION` error to reject with.
 */
export function listenTargets(
  first: unknown,
  host: unknown,
): { targets: ListenTarget[] } | MummyError {
  if (first === undefined || typeof first !== 'object' || first === null) {
    const port = first ?? 8080
    return (
      listenArgumentError(port, host) ?? {
        targets: [
          host === undefined
            ? { port: port as number }
            : { port: port as number, host: host as string },
        ],
      }
    )
  }
  const list: unknown[] = Array.isArray(first) ? first : [first]
  if (list.length === 0)
    return new MummyError('ERR_MUMMY_INVALID_OPTION', 'listen() needs at least one target')
  const targets: ListenTarget[] = []
  for (const item of list) {
    const t = item as Record<string, unknown>
    if (typeof item !== 'object' || item === null)
      return new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `listen() target must be { port, host? } or { path }, got ${show(item)}`,
      )
    if ('path' in t) {
      if (typeof t.path !== 'string' || t.path === '' || Object.keys(t).length !== 1)
        return new MummyError(
          'ERR_MUMMY_INVALID_OPTION',
          `listen() target { path } needs a non-empty path and nothing else, got ${show(item)}`,
        )
      targets.push({ path: t.path })
      continue
    }
    const extra = Object.keys(t).find((k) => k !== 'port' && k !== 'host')
    if (extra !== undefined)
      return new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `listen() target has an unknown key ${extra} (a target is { port, host? } or { path })`,
      )
    const invalid = listenArgumentError(t.port, t.host)
    if (invalid !== null) return invalid
    targets.push(
      t.host === undefined
        ? { port: t.port as number }
        : { port: t.port as number, host: t.host as string },
    )
  }
  return { targets }
}

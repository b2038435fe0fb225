import { MummyError } from '@mummy/errors'
import {
  compressBody,
  isCompressibleType,
  negotiateEncoding,
  type CompressionOptions,
} from './compression.js'
import { parseCookie } from 'cookie'
import { Headers, asciiLower } from './headers.js'
import {
  acceptKey,
  buildUpgradeResponse,
  checkUpgradeRequest,
  chooseSubprotocol,
  negotiateDeflate,
  type DeflateOptions,
  type DeflateParams,
} from '@mummy/websocket'
import { WebSocket, currentChannel } from './websocket.js'
import { ResponseStream } from './stream.js'
import { SseStream } from './sse.js'
// Types only: `import { type … }` would still load the package in every pool worker.
import type {
  tusAnswer,
  TusPatchResult,
  TusSettings,
  TusUpload,
  UploadedFile,
} from '@mummy/uploads'
import { SSE_HEADERS, lastEventId } from '@mummy/sse'
import fs from 'node:fs'
import path from 'node:path'
import {
  attachment,
  contentTypeOf,
  evaluatePreconditions,
  fileETag,
  ifRangeHolds,
  lastModified,
  parseRange,
} from './file.js'

/**
 * Flat headers `base` with `over` on top: a name in `over` replaces every header of that name
 * in `base`. Both are flat and validated ({@link flattenHeaders}).
 */
function overlay(base: string[], over: string[]): string[] {
  if (over.length === 0) return base
  const names = new Set<string>()
  for (let i = 0; i < over.length; i += 2) names.add(asciiLower(over[i]!))
  const out: string[] = []
  for (let i = 0; i + 1 < base.length; i += 2)
    if (!names.has(asciiLower(base[i]!))) out.push(base[i]!, base[i + 1]!)
  return out.concat(over)
}

/** Flat headers as `[name, value]` pairs (a {@link HeadersInit}). */
function pairsOf(flat: string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!])
  return out
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'ELOOP'
}

/** Headers a handler may pass to {@link Request.respond}. */
export type HeadersInit =
  | Record<string, string | number | readonly string[]>
  | Iterable<readonly [string, string]>
  | Headers

/** A response body: text (sent as UTF-8) or bytes. */
export type Body = string | Uint8Array

/**
 * Where a finished response goes: a worker posts it to the IO thread, the inline mode writes
 * it directly. `headers` is validated and flat; `body` is final (compressed when chosen).
 */
export type ResponseSink = (
  status: number,
  headers: string[],
  body: Uint8Array,
  /** `body` was made here (encoded or compressed): it may be moved. Else it is the caller's. */
  owned: boolean,
) => void

const EMPTY = new Uint8Array(0)
/** Encodes into a buffer of exactly the text's size (never a pooled slab), so it can be transferred. */
const ENCODER = new TextEncoder()
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/
/** Framing headers the server owns: a handler's values for them are ignored. */
/** `files` of a request without uploads (shared: it is frozen). */
const NO_FILES: readonly UploadedFile[] = Object.freeze([])
const MANAGED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date'])

/**
 * Validates and flattens response headers into `[name, value, …]`. Throws
 * `ERR_MUMMY_INVALID_HEADER` for a name that is not a token or a value with CR, LF, NUL or
 * characters above U+00FF (response splitting). Framing headers (`Content-Length`,
 * `Transfer-Encoding`, `Connection`, `Keep-Alive`, `Date`) are set by the server and dropped.
 *
 * @example
 * ```ts
 * flattenHeaders({ 'Content-Type': 'text/plain', 'Set-Cookie': ['a=1', 'b=2'] })
 * // ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']
 * ```
 */
export function flattenHeaders(init: HeadersInit | undefined): string[] {
  const out: string[] = []
  if (init === undefined) return out
  if (init instanceof Headers) {
    for (const [name, value] of init) addHeader(out, name, value)
  } else if (Symbol.iterator in init) {
    for (const pair of init as Iterable<readonly [string, string]>) addHeader(out, pair[0], pair[1])
  } else {
    for (const name of Object.keys(init)) {
      const value = (init as Record<string, string | number | readonly string[]>)[name]!
      if (typeof value === 'object') for (const v of value) addHeader(out, name, v)
      else addHeader(out, name, value)
    }
  }
  return out
}

/** Validates one response header and appends it to `out` (framing headers are dropped). */
function addHeader(out: string[], name: string, value: string | number): void {
  const v = typeof value === 'number' ? String(value) : value
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new MummyError(
      'ERR_MUMMY_INVALID_HEADER',
      `invalid response header name: ${JSON.stringify(name)}`,
    )
  }
  if (typeof v !== 'string' || BAD_VALUE.test(v)) {
    throw new MummyError('ERR_MUMMY_INVALID_HEADER', `invalid value for response header ${name}`)
  }
  if (MANAGED.has(asciiLower(name))) return
  out.push(name, v.trim())
}

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!])
  return out
}

function findHeader(flat: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2)
    if (asciiLower(flat[i]!) === lowerName) return flat[i + 1]
  return undefined
}

/** Decodes a request-target into its path: the part before `?`/`#`, percent-decoded. */
function targetPath(uri: string): string {
  let start = 0
  if (uri.charCodeAt(0) !== 47 /* / */) {
    // absolute-form: skip "scheme://authority"
    const scheme = uri.indexOf('://')
    if (scheme === -1) return uri
    const slash = uri.indexOf('/', scheme + 3)
    if (slash === -1) return '/'
    start = slash
  }
  let end = uri.length
  for (let i = start; i < uri.length; i++) {
    const c = uri.charCodeAt(i)
    if (c === 63 /* ? */ || c === 35 /* # */) {
      end = i
      break
    }
  }
  const raw = uri.slice(start, end)
  if (raw.indexOf('%') === -1) return raw
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** Settings that shape every response. */
export interface ResponseSettings {
  /** Compression options (threshold, level, codings). */
  compression: CompressionOptions
  /** permessage-deflate offered on WebSocket upgrades by default (`false` = off). */
  websocketCompression: false | DeflateOptions
  /** tus uploads (`uploads.tus`), or `null` when off. */
  tus: TusSettings | null
  /**
   * `@mummy/uploads`' tus answerer when `tus` is on, else `null`. (Passed in, so a worker of a
   * server without tus never loads the uploads package.)
   */
  tusAnswer: typeof tusAnswer | null
}

/**
 * Where a streamed response starts: status and validated headers. Returns the stream's id
 * (claimed in the shared status table), or 0 when none is free.
 */
export type StreamSink = (
  status: number,
  headers: string[],
  sse: boolean,
  /** The body's exact length when known, else -1. */
  length: number,
) => number

/** Where an accepted WebSocket upgrade goes: the 101 head and the agreed deflate parameters. */
export type UpgradeSink = (wsId: number, head: string, deflate: DeflateParams | null) => void

/** Options of {@link Request.upgradeToWebSocket}. */
export interface UpgradeOptions {
  /** Subprotocols this endpoint speaks, in preference order; the first one the client offered is chosen. */
  protocols?: readonly string[]
  /** Extra headers on the `101 Switching Protocols` response (e.g. `Set-Cookie`). */
  headers?: HeadersInit
  /** permessage-deflate for this connection: overrides the server's `websocketCompression`. */
  compression?: boolean | DeflateOptions
}

/** Everything a {@link Request} is built from. @internal */
export interface RequestInit {
  method: string
  uri: string
  versionMinor: 0 | 1
  headers: readonly string[]
  body: Buffer
  remoteAddress: string
  sink: ResponseSink
  settings: ResponseSettings
  /** Non-zero when the request may become a WebSocket. */
  wsId: number
  upgrade: UpgradeSink | null
  /** Starts a streamed response. */
  stream: StreamSink
  /** Files of an upload (`uploads` option), or `null`. */
  files?: UploadedFile[] | null
  /** Fields of an upload, in order, or `null`. */
  fields?: [string, string][] | null
  /** What the IO thread wrote of a tus PATCH body, or `null`. */
  tusPatch?: TusPatchResult | null
}

/**
 * An HTTP request, as a handler sees it. Created by the server in the worker that runs the
 * handler; answer it exactly once with {@link Request.respond}.
 *
 * @example
 * ```ts
 * router.post('/echo', (request) => {
 *   request.respond(200, { 'Content-Type': request.headers.get('content-type') ?? 'application/octet-stream' }, request.body)
 * })
 * ```
 */
export class Request {
  /** Method as received, e.g. `GET`. */
  readonly method: string
  /** The raw request-target, e.g. `/search?q=a%20b`. */
  readonly uri: string
  /** Request headers (case-insensitive, multi-value). */
  readonly headers: Headers
  /** The whole request body (empty when none was sent). */
  readonly body: Buffer
  /** Address of the peer, e.g. `127.0.0.1`. */
  readonly remoteAddress: string
  /** HTTP version of the request. */
  readonly httpVersion: '1.0' | '1.1'
  /** Path parameters captured by the router (`:name` / `@name`). */
  pathParams: Record<string, string> = Object.create(null) as Record<string, string>
  #path: string | undefined
  #query: URLSearchParams | undefined
  #cookies: Record<string, string> | undefined
  #responded = false
  readonly #sink: ResponseSink
  readonly #settings: ResponseSettings

  readonly #versionMinor: 0 | 1
  readonly #wsId: number
  readonly #upgrade: UpgradeSink | null
  readonly #stream: StreamSink
  readonly #fieldPairs: [string, string][] | null
  readonly #tusPatch: TusPatchResult | null
  #fields: URLSearchParams | undefined
  /**
   * The files of an upload (a `multipart/form-data` request while the `uploads` option is
   * on), already on disk: `{ field, filename, contentType, path, size }`. They are deleted
   * when the handler is done; move one (`fs.renameSync(file.path, …)`) to keep it. Empty for
   * other requests.
   */
  readonly files: readonly UploadedFile[]

  /** @internal Built by the server; handlers receive it. */
  constructor(init: RequestInit) {
    this.method = init.method
    this.uri = init.uri
    this.#versionMinor = init.versionMinor
    this.httpVersion = init.versionMinor === 0 ? '1.0' : '1.1'
    this.headers = new Headers(init.headers)
    this.body = init.body
    this.remoteAddress = init.remoteAddress
    this.#sink = init.sink
    this.#settings = init.settings
    this.#wsId = init.wsId
    this.#upgrade = init.upgrade
    this.#stream = init.stream
    this.files = init.files ?? NO_FILES
    this.#fieldPairs = init.fields ?? null
    this.#tusPatch = init.tusPatch ?? null
  }

  /** The percent-decoded path, without the query string, e.g. `/search`. */
  get path(): string {
    return (this.#path ??= targetPath(this.uri))
  }

  /** The query string's parameters. */
  get query(): URLSearchParams {
    if (this.#query === undefined) {
      const q = this.uri.indexOf('?')
      const h = this.uri.indexOf('#', q)
      this.#query = new URLSearchParams(
        q === -1 ? '' : this.uri.slice(q + 1, h === -1 ? undefined : h),
      )
    }
    return this.#query
  }

  /**
   * The fields (parts without a file name) of an upload, in order; empty for other requests
   * (a urlencoded form is in `body`: `new URLSearchParams(request.text())`).
   */
  get fields(): URLSearchParams {
    return (this.#fields ??= new URLSearchParams(this.#fieldPairs ?? []))
  }

  /** `true` once a response was sent. */
  get responded(): boolean {
    return this.#responded
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return this.body.toString('utf8')
  }

  /**
   * The body parsed as JSON. Bad JSON throws a `MummyError` `ERR_MUMMY_INVALID_JSON` with
   * status 400: left uncaught, it answers the request `400 Bad Request` (the client's error),
   * not 500.
   *
   * @example
   * ```ts
   * const { name } = request.json<{ name: string }>()
   * ```
   */
  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text()) as T
    } catch (cause) {
      throw new MummyError(
        'ERR_MUMMY_INVALID_JSON',
        `request body is not valid JSON: ${(cause as Error).message}`,
        {
          status: 400,
          cause,
        },
      )
    }
  }

  /**
   * The body as an `application/x-www-form-urlencoded` form (an HTML form's default). A request
   * with another `Content-Type` throws a `MummyError` `ERR_MUMMY_UNSUPPORTED_MEDIA_TYPE` with
   * status 415 (left uncaught: `415 Unsupported Media Type`). Multipart forms are uploads (the
   * `uploads` option: `request.fields`, `request.files`).
   *
   * @example
   * ```ts
   * const name = request.form().get('name') ?? 'anonymous'
   * ```
   */
  form(): URLSearchParams {
    const type = this.headers.get('content-type') ?? ''
    const essence = asciiLower(type.split(';')[0]!.trim())
    if (essence !== 'application/x-www-form-urlencoded')
      throw new MummyError(
        'ERR_MUMMY_UNSUPPORTED_MEDIA_TYPE',
        `expected an application/x-www-form-urlencoded body, got ${JSON.stringify(type)}`,
        { status: 415 },
      )
    return new URLSearchParams(this.text())
  }

  /**
   * The request's cookies (the `Cookie` header, parsed by the `cookie` package): name → value,
   * decoded; the first of repeated names wins. Set cookies with {@link serializeCookie}.
   */
  get cookies(): Readonly<Record<string, string>> {
    if (this.#cookies === undefined) {
      const out: Record<string, string> = Object.create(null) as Record<string, string>
      for (const header of this.headers.getAll('cookie')) {
        const parsed = parseCookie(header)
        for (const name of Object.keys(parsed)) {
          const value = parsed[name]
          if (value !== undefined && !(name in out)) out[name] = value
        }
      }
      this.#cookies = out
    }
    return this.#cookies
  }

  /**
   * Answers with `value` as JSON (`Content-Type: application/json; charset=utf-8`), compressed
   * like any answer. `headers` are added.
   *
   * @example
   * ```ts
   * request.respondJson(201, { id: 7 }, { Location: '/items/7' })
   * ```
   */
  respondJson(status: number, value: unknown, headers?: HeadersInit): void {
    const body = JSON.stringify(value) ?? 'null'
    const pairs = headers === undefined ? [] : pairsOf(flattenHeaders(headers))
    if (!pairs.some(([name]) => asciiLower(name) === 'content-type'))
      pairs.unshift(['Content-Type', 'application/json; charset=utf-8'])
    this.respond(status, pairs, body)
  }

  /**
   * Answers this request as a tus 1.0 resumable-upload endpoint (the `uploads.tus` option):
   * `OPTIONS` (what is supported), `POST` (creates an upload; its URL is this request's path
   * plus `/<id>`), `HEAD` (its offset), `PATCH` (its bytes were already appended on the IO
   * thread as they arrived; this answers the new offset) and `DELETE`. Route every method of
   * the endpoint and its children here, after any checks of your own (who may upload).
   *
   * Returns the upload when this request completed it (the last PATCH, or a POST of length 0),
   * else `null`: move `upload.path` to keep the file. Throws `ERR_MUMMY_TUS_DISABLED` when
   * `uploads.tus` is off. File work is synchronous: fine on a worker. `options.headers` are
   * added to the answer (for example CORS headers for browser clients; expose `Location`,
   * `Upload-Offset`, `Upload-Length`, `Upload-Expires`, `Tus-Resumable`).
   *
   * @example
   * ```ts
   * router.all('/files/**', (request) => {
   *   const upload = request.tus()
   *   if (upload !== null) fs.renameSync(upload.path, `/srv/media/${upload.id}`)
   * })
   * ```
   */
  tus(options: { headers?: HeadersInit } = {}): TusUpload | null {
    const settings = this.#settings.tus
    const tusAnswer = this.#settings.tusAnswer
    if (settings === null || tusAnswer === null)
      throw new MummyError(
        'ERR_MUMMY_TUS_DISABLED',
        'request.tus() needs the uploads.tus option of createServer',
      )
    const answer = tusAnswer(
      this.method,
      this.uri,
      (name) => this.headers.get(name),
      this.#tusPatch,
      settings,
    )
    // The protocol's headers win over the caller's.
    const headers = overlay(flattenHeaders(options.headers), flattenHeaders(answer.headers))
    this.respond(answer.status, pairsOf(headers), answer.body)
    return answer.upload
  }

  /**
   * Accepts this request as a WebSocket: checks the handshake (RFC 6455 §4.2), picks a
   * subprotocol from `options.protocols`, negotiates permessage-deflate when enabled, and
   * answers `101 Switching Protocols`. Returns the connection's handle at once: messages sent
   * before the connection is open are queued, not lost. Events then go to the
   * `websocketHandler` (`open` first) once this handler has returned (or its promise settled):
   * what it sends after upgrading goes out before any answer to the client's messages.
   *
   * A request that is not a valid upgrade is answered here — 405 (not GET), 426 with
   * `Sec-WebSocket-Version: 13` (wrong version), 400 (anything else, including `Upgrade: h2c`)
   * — and `ERR_MUMMY_WS_BAD_UPGRADE` is thrown (with that `status`), so the handler stops.
   *
   * @example
   * ```ts
   * router.get('/ws', (request) => {
   *   const ws = request.upgradeToWebSocket({ protocols: ['chat.v1'] })
   *   ws.send('Hello world from WebSocket!')
   * })
   * ```
   */
  upgradeToWebSocket(options: UpgradeOptions = {}): WebSocket {
    if (this.#responded)
      throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'this request was already responded to')
    const check = checkUpgradeRequest(this.method, this.#versionMinor, this.headers)
    if (!check.ok || this.#wsId === 0 || this.#upgrade === null) {
      const status = check.ok ? 400 : check.status
      const reason = check.ok ? 'the request did not ask to upgrade the connection' : check.reason
      this.respond(
        status,
        check.ok
          ? { 'Content-Type': 'text/plain; charset=utf-8' }
          : pairs(['Content-Type', 'text/plain; charset=utf-8', ...check.headers]),
        `${reason}\n`,
      )
      throw new MummyError('ERR_MUMMY_WS_BAD_UPGRADE', reason, { status })
    }
    const protocol =
      options.protocols === undefined
        ? null
        : chooseSubprotocol(this.headers.get('sec-websocket-protocol') ?? '', options.protocols)
    const wanted =
      options.compression === undefined
        ? this.#settings.websocketCompression
        : options.compression === true
          ? {}
          : options.compression
    const deflate =
      wanted === false
        ? null
        : negotiateDeflate(this.headers.get('sec-websocket-extensions'), wanted)
    let head = buildUpgradeResponse(acceptKey(check.key), protocol, deflate?.response ?? null)
    const extra = flattenHeaders(options.headers)
    if (extra.length > 0) {
      let lines = ''
      for (let i = 0; i < extra.length; i += 2) lines += `${extra[i]}: ${extra[i + 1]}\r\n`
      head = head.slice(0, -2) + lines + '\r\n'
    }
    this.#responded = true
    this.#upgrade(this.#wsId, head, deflate?.params ?? null)
    return new WebSocket(this.#wsId)
  }

  /**
   * Starts a streamed response: the status and headers now, the body in pieces through the
   * returned {@link ResponseStream} — from this handler, later, or from any other worker (pass
   * `stream.id`). HTTP/1.1 bodies are sent chunked; an HTTP/1.0 body ends by closing the
   * connection; `HEAD` gets the head alone. With `options.length` (the body's exact size,
   * when known) the head carries `Content-Length` instead (clients show progress; HEAD gets
   * it too): bytes written past it are dropped, and a stream that ends short closes the
   * connection. Streamed bodies are not compressed. The handler may return at once: the
   * response stays open until `stream.end()` or the client leaves. Throws as {@link respond}
   * does, `ERR_MUMMY_INVALID_OPTION` for a bad length, and `ERR_MUMMY_TOO_MANY_STREAMS` when
   * 131,072 responses are already streaming.
   *
   * @example
   * ```ts
   * const stream = request.respondStream(200, { 'Content-Type': 'text/plain' })
   * stream.write('first\n')
   * setTimeout(() => stream.end('last\n'), 1000)
   * ```
   */
  respondStream(
    status: number,
    headers?: HeadersInit,
    options: { length?: number } = {},
  ): ResponseStream {
    if (this.#responded)
      throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'this request was already responded to')
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new MummyError('ERR_MUMMY_INVALID_STATUS', `invalid response status: ${String(status)}`)
    }
    const length = options.length ?? -1
    if (length !== -1 && (!Number.isSafeInteger(length) || length < 0))
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `a stream's length must be an integer >= 0, got ${String(length)}`,
      )
    return new ResponseStream(this.#startStream(status, flattenHeaders(headers), false, length))
  }

  /**
   * Answers with a file from disk, streamed with bounded memory (the file may be any size),
   * with what clients and caches expect of a static file server:
   * - `Content-Length`, `Content-Type` (from the extension unless `options.contentType`),
   *   `ETag` (strong, from size and modification time), `Last-Modified`, `Accept-Ranges`;
   * - conditional requests (RFC 9110 §13): `If-None-Match` / `If-Modified-Since` → 304,
   *   `If-Match` / `If-Unmodified-Since` → 412;
   * - one byte range (`Range`, honouring `If-Range`) → 206 with `Content-Range`, or 416;
   *   several ranges get the whole file;
   * - `options.download`: `Content-Disposition: attachment` (`true`: the file's own name);
   * - `options.precompressed`: when the client accepts gzip and `<path>.gz` exists, that file
   *   is sent instead, with `Content-Encoding: gzip` (and `Vary: Accept-Encoding`, its own
   *   `ETag`); streamed bodies are otherwise never compressed;
   * - a path that is not a readable regular file → 404.
   *
   * Resolves once the body was handed over (or the client left). `options.headers` are
   * added (say `Cache-Control`). Never pass a client-given path unchecked: the path is used
   * as is.
   *
   * @example
   * ```ts
   * router.get('/media/:name', (request) =>
   *   request.respondFile(path.join(MEDIA, path.basename(request.pathParams.name)), {
   *     headers: { 'Cache-Control': 'public, max-age=3600' },
   *   }),
   * )
   * ```
   */
  async respondFile(
    file: string,
    options: {
      contentType?: string
      download?: boolean | string
      headers?: HeadersInit
      precompressed?: boolean
    } = {},
  ): Promise<void> {
    if (this.#responded)
      throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'this request was already responded to')
    let fd: number
    let stat: fs.Stats
    try {
      fd = fs.openSync(file, 'r')
    } catch (error) {
      if (isMissing(error)) return this.#notFound()
      throw error
    }
    let coding: 'gzip' | undefined
    if (options.precompressed === true) {
      const original = fd
      try {
        if (
          fs.fstatSync(original).isFile() &&
          negotiateEncoding(this.headers.get('accept-encoding'), ['gzip']) === 'gzip'
        ) {
          // The gzip file beside it, if there is one, stands in for it.
          const gz = fs.openSync(`${file}.gz`, 'r')
          if (fs.fstatSync(gz).isFile()) {
            fd = gz
            coding = 'gzip'
            fs.closeSync(original)
          } else fs.closeSync(gz)
        }
      } catch (error) {
        if (!isMissing(error)) {
          fs.closeSync(original)
          throw error
        }
      }
    }
    let handedOver = false
    try {
      stat = fs.fstatSync(fd)
      if (!stat.isFile()) return this.#notFound()
      const facts = { size: stat.size, mtimeMs: stat.mtimeMs, ...(coding && { coding }) }
      const header = (name: string): string | undefined => this.headers.get(name)
      const validators: [string, string][] = [
        ['ETag', fileETag(facts)],
        ['Last-Modified', lastModified(facts)],
      ]
      // Which file answers depends on Accept-Encoding: caches must know.
      if (options.precompressed === true) validators.push(['Vary', 'Accept-Encoding'])
      // The caller's headers replace defaults of the same name.
      const extra = flattenHeaders(options.headers)
      const get = this.method === 'GET' || this.method === 'HEAD'
      const precondition = get ? evaluatePreconditions(header, facts) : 'ok'
      if (precondition !== 'ok') {
        this.respond(precondition, pairsOf(overlay(flattenHeaders(validators), extra)))
        return
      }
      const defaults: [string, string][] = [
        ['Content-Type', options.contentType ?? contentTypeOf(file)],
        ['Accept-Ranges', 'bytes'],
        ...validators,
      ]
      if (coding !== undefined) defaults.push(['Content-Encoding', coding])
      if (options.download !== undefined && options.download !== false)
        defaults.push([
          'Content-Disposition',
          attachment(options.download === true ? path.basename(file) : options.download),
        ])
      const head = pairsOf(overlay(flattenHeaders(defaults), extra))
      let start = 0
      let end = stat.size - 1
      let status = 200
      if (this.method === 'GET' && ifRangeHolds(header('if-range'), facts)) {
        const range = parseRange(header('range'), stat.size)
        if (range.kind === 'unsatisfiable') {
          this.respond(
            416,
            [
              ['Content-Range', `bytes */${stat.size}`],
              ['Content-Type', 'text/plain; charset=utf-8'],
            ],
            'range not satisfiable\n',
          )
          return
        }
        if (range.kind === 'partial') {
          status = 206
          start = range.start
          end = range.end
          head.push(['Content-Range', `bytes ${start}-${end}/${stat.size}`])
        }
      }
      const length = end - start + 1
      const stream = this.respondStream(status, head, { length })
      if (this.method === 'HEAD' || length === 0) {
        stream.end()
        return
      }
      // The IO thread sends the file from this descriptor, and closes it: no piece of it goes
      // through this thread.
      currentChannel().post(['f', stream.id, fd, start, length])
      handedOver = true
    } finally {
      if (!handedOver) fs.closeSync(fd)
    }
  }

  #notFound(): void {
    this.respond(404, { 'Content-Type': 'text/plain; charset=utf-8' }, 'Not Found\n')
  }

  /**
   * Answers with an event stream (`text/event-stream`, `Cache-Control: no-cache`; headers
   * given here are added, or replace those of the same name) and returns its
   * {@link SseStream}: events from this handler, later, or any other worker (pass
   * `stream.id`); `stream.lastEventId` is the client's `Last-Event-ID` when it reconnected.
   * A comment is sent at once so the client sees the stream open; the server sends another
   * after `sseHeartbeat` ms without events. When the client leaves, the app's `sseHandler`
   * gets a `close` event. Throws as {@link respondStream} does.
   *
   * @example
   * ```ts
   * const stream = request.respondSSE()
   * stream.send({ event: 'greeting', data: 'hello' })
   * stream.subscribe('news')
   * ```
   */
  respondSSE(headers?: HeadersInit): SseStream {
    const flat = overlay(flattenHeaders(SSE_HEADERS), flattenHeaders(headers))
    const stream = new SseStream(
      this.#startStream(200, flat, true),
      lastEventId(this.headers.get('last-event-id')),
    )
    stream.comment()
    return stream
  }

  #startStream(status: number, flat: string[], sse: boolean, length = -1): number {
    if (this.#responded)
      throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'this request was already responded to')
    const id = this.#stream(status, flat, sse, length)
    if (id === 0) {
      throw new MummyError(
        'ERR_MUMMY_TOO_MANY_STREAMS',
        'no room for another streamed response (131,072 are open)',
      )
    }
    this.#responded = true
    return id
  }

  /**
   * Sends the response: `status` (200–599), headers, and a body (string → UTF-8). The server
   * adds `Date`, `Content-Length` and `Connection`; compresses with gzip/deflate when the
   * client accepts it and the body is large and of a compressible type (adding
   * `Content-Encoding` and `Vary: Accept-Encoding`); and drops the body for `HEAD`.
   * Throws `ERR_MUMMY_ALREADY_RESPONDED` on a second call and `ERR_MUMMY_INVALID_STATUS` /
   * `ERR_MUMMY_INVALID_HEADER` on bad input.
   *
   * @example
   * ```ts
   * request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({ ok: true }))
   * ```
   */
  respond(status: number, headers?: HeadersInit, body?: Body): void {
    if (this.#responded)
      throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'this request was already responded to')
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new MummyError('ERR_MUMMY_INVALID_STATUS', `invalid response status: ${String(status)}`)
    }
    const flat = flattenHeaders(headers)
    let bytes: Uint8Array =
      body === undefined ? EMPTY : typeof body === 'string' ? ENCODER.encode(body) : body
    // The caller's own buffer is never moved away from it (it may send it again).
    let owned = bytes !== body
    const c = this.#settings.compression
    if (
      c.enabled &&
      bytes.byteLength >= c.threshold &&
      status !== 204 &&
      status !== 304 &&
      status !== 206
    ) {
      if (
        findHeader(flat, 'content-encoding') === undefined &&
        isCompressibleType(findHeader(flat, 'content-type'))
      ) {
        // The representation varies with Accept-Encoding whether or not this one is compressed.
        const vary = findHeader(flat, 'vary')
        if (vary === undefined) flat.push('Vary', 'Accept-Encoding')
        else if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary))
          flat.push('Vary', 'Accept-Encoding')
        const coding = negotiateEncoding(this.headers.get('accept-encoding'), c.encodings)
        if (coding !== null) {
          bytes = compressBody(bytes, coding, c.level)
          owned = true
          flat.push('Content-Encoding', coding)
        }
      }
    }
    this.#responded = true
    this.#sink(status, flat, bytes, owned)
  }
}

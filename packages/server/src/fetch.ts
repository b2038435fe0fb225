/**
 * Fetch-API apps as handlers: anything with `fetch(request, env?, ctx?) => Response` — a hono
 * app, or an object written to that standard — runs on the workers like any handler. The
 * request goes in as a WHATWG `Request`; the `Response` comes back out through `respond` (a body
 * that is complete at once: one answer, compressed as usual) or `respondStream` (a body still
 * being produced: streamed, with backpressure). `env.request` is the native {@link Request}, for
 * what a `Response` cannot say: WebSockets and event streams through the native API.
 */
import type { Request } from './request.js'

/** The environment a Fetch-API app receives as its second argument (hono: `c.env`). */
export interface FetchEnv {
  /**
   * The native request: `env.request.upgradeToWebSocket()` or `env.request.respondSSE()` answer
   * it directly (the `Response` the app then returns is ignored).
   */
  readonly request: Request
}

/** An app written to the Fetch API, such as a hono app. */
export interface FetchApp {
  fetch(
    request: globalThis.Request,
    env: FetchEnv,
    ctx: FetchContext,
  ): globalThis.Response | Promise<globalThis.Response>
}

/** The execution context (hono: `c.executionCtx`): work to finish after the answer. */
export interface FetchContext {
  /** Keeps the job alive until `promise` settles (the answer does not wait for it). */
  waitUntil(promise: Promise<unknown>): void
  /** Does nothing: there is no origin to fall back to. */
  passThroughOnException(): void
}

/** Whether `value` is a Fetch-API app (an object with a `fetch` method and no `handle`). */
export function isFetchApp(value: unknown): value is FetchApp {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as FetchApp).fetch === 'function' &&
    typeof (value as { handle?: unknown }).handle !== 'function'
  )
}

/** A body smaller than this that is complete at once goes out in one answer. */
const ONE_ANSWER = 1024 * 1024

/**
 * A handler that runs `app` for each request.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * const app = new Hono().get('/', (c) => c.text('Hello from hono'))
 * export default app // an app module: the server calls app.fetch for every request
 * ```
 */
export function fetchHandler(app: FetchApp): (request: Request) => Promise<void> {
  return async (request) => {
    const pending: Promise<unknown>[] = []
    const ctx: FetchContext = {
      waitUntil: (promise) => void pending.push(promise.catch(() => {})),
      passThroughOnException: () => {},
    }
    const response = await app.fetch(toFetchRequest(request), { request }, ctx)
    // Answered natively (a WebSocket upgrade, an event stream): the Response is not used.
    if (!request.responded) await send(request, response)
    if (pending.length > 0) await Promise.all(pending)
  }
}

/**
 * The native request as a WHATWG Request, made lazily: `method`, `url` and `headers` are read
 * from the native request (headers built on first use), and a real `Request` — whose
 * construction costs more than most handlers — is made only when something else (the body, a
 * signal, `clone()`) is asked for. It is a `Request` (`instanceof` holds).
 */
function toFetchRequest(request: Request): globalThis.Request {
  const host = request.headers.get('host') ?? 'localhost'
  const target = request.uri.startsWith('/') ? request.uri : `/${request.uri}`
  const lazy = Object.create((lazyPrototype ??= makeLazyPrototype())) as LazyRequest
  lazy[NATIVE] = request
  lazy[URL_TEXT] = `http://${host}${target}`
  return lazy as unknown as globalThis.Request
}

const NATIVE = Symbol('native request')
const URL_TEXT = Symbol('url')
const HEADERS = Symbol('headers')
const REAL = Symbol('real request')

interface LazyRequest {
  [NATIVE]: Request
  [URL_TEXT]: string
  [HEADERS]?: globalThis.Headers
  [REAL]?: globalThis.Request
}

function lazyHeaders(lazy: LazyRequest): globalThis.Headers {
  if (lazy[HEADERS] !== undefined) return lazy[HEADERS]
  const headers = new globalThis.Headers()
  for (const [name, value] of lazy[NATIVE].headers) headers.append(name, value)
  return (lazy[HEADERS] = headers)
}

function realRequest(lazy: LazyRequest): globalThis.Request {
  if (lazy[REAL] !== undefined) return lazy[REAL]
  const native = lazy[NATIVE]
  const hasBody = native.method !== 'GET' && native.method !== 'HEAD'
  return (lazy[REAL] = new globalThis.Request(lazy[URL_TEXT], {
    method: native.method,
    headers: lazyHeaders(lazy),
    ...(hasBody ? { body: native.body } : {}),
  }))
}

/** Made on first use: touching `globalThis.Request` loads Node's fetch implementation. */
let lazyPrototype: object | undefined

/** The prototype of lazy requests: what is not read from the native request goes to a real one. */
function makeLazyPrototype(): object {
  const proto = Object.create(globalThis.Request.prototype) as object
  const own: Record<string, (lazy: LazyRequest) => unknown> = {
    method: (lazy) => lazy[NATIVE].method,
    url: (lazy) => lazy[URL_TEXT],
    headers: lazyHeaders,
  }
  for (const [name, get] of Object.entries(own))
    Object.defineProperty(proto, name, {
      get(this: LazyRequest) {
        return get(this)
      },
    })
  for (const name of Object.getOwnPropertyNames(globalThis.Request.prototype)) {
    if (name === 'constructor' || name in own) continue
    const descriptor = Object.getOwnPropertyDescriptor(globalThis.Request.prototype, name)!
    if (descriptor.get !== undefined)
      Object.defineProperty(proto, name, {
        get(this: LazyRequest) {
          return (realRequest(this) as unknown as Record<string, unknown>)[name]
        },
      })
    else if (typeof descriptor.value === 'function')
      Object.defineProperty(proto, name, {
        value(this: LazyRequest, ...args: unknown[]) {
          const real = realRequest(this) as unknown as Record<string, (...a: unknown[]) => unknown>
          return real[name]!(...args)
        },
      })
  }
  return proto
}

/** The response's headers as pairs (every `Set-Cookie` on its own). */
function headerPairs(response: globalThis.Response): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') pairs.push([name, value])
  })
  for (const cookie of response.headers.getSetCookie()) pairs.push(['set-cookie', cookie])
  return pairs
}

/** Writes `response` as the answer to `request`. */
async function send(request: Request, response: globalThis.Response): Promise<void> {
  const headers = headerPairs(response)
  const body = response.body
  if (body === null) {
    request.respond(response.status, headers)
    return
  }
  const reader = body.getReader()
  // What is ready now goes out in one answer; a body still being produced is streamed.
  const chunks: Uint8Array[] = []
  let size = 0
  let read = reader.read()
  for (;;) {
    const next = await Promise.race([read, later()])
    if (next === null) break // not ready in this turn: the rest is produced over time
    if (next.done) {
      request.respond(response.status, headers, join(chunks, size))
      return
    }
    chunks.push(next.value)
    size += next.value.byteLength
    read = reader.read()
    if (size >= ONE_ANSWER) break
  }
  const declared = Number(response.headers.get('content-length') ?? NaN)
  const stream = request.respondStream(
    response.status,
    headers,
    Number.isSafeInteger(declared) && declared >= 0 ? { length: declared } : {},
  )
  try {
    for (const chunk of chunks) stream.write(chunk)
    for (;;) {
      const next = await read
      if (next.done) break
      stream.write(next.value)
      if (stream.bufferedAmount > 0) await stream.drained()
      if (!stream.isOpen) {
        await reader.cancel()
        return
      }
      read = reader.read()
    }
    stream.end()
  } catch (error) {
    await reader.cancel(error).catch(() => {})
    stream.end()
    throw error
  }
}

/**
 * Resolves `null` a few promise jobs later: a body already complete (a string, bytes, a closed
 * stream) answers its next read before that; a body produced over time (timers, IO) does not.
 */
function later(): Promise<null> {
  return Promise.resolve(null)
    .then((v) => v)
    .then((v) => v)
    .then((v) => v)
    .then((v) => v)
}

function join(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.byteLength
  }
  return out
}

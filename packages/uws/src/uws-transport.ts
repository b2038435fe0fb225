/**
 * The uWebSockets.js transport: sockets, HTTP parsing and WebSocket framing by
 * uWebSockets.js's native core, under the same {@link Transport} contract as the node:net
 * transport. It is optional: {@link loadUws} tells whether the native build loads here.
 *
 * What uWebSockets.js decides itself (documented in the package README): HTTP/1.0 requests,
 * pipelined requests that arrive while an earlier answer is pending (the connection is
 * closed), malformed requests (closed without an answer), the idle HTTP timeout (10 s), the
 * response's `Date` and `uWebSockets` headers, and WebSocket framing, pings and close codes.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { MummyError } from '@mummy/errors'
import { HeadCheck } from '@mummy/parser'
import type {
  BodyControl,
  BodySink,
  InboundKind,
  ListenAddress,
  ListenTarget,
  TlsOptions,
  ResponseWriter,
  SendStatus,
  StreamEvents,
  Transport,
  TransportOptions,
  TransportRequest,
  TransportStream,
  TransportWebSocket,
  WebSocketEvents,
  WebSocketSettings,
} from '@mummy/io-loop'
import {
  CLOSE_GRACE,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_TRANSPORT_OPTIONS,
  DEFAULT_WEBSOCKET_SETTINGS,
  HOLD_FLUSH,
  KnownLength,
  TEXT_PLAIN,
  answerBody,
  bodyTooLarge,
  closesAfter,
  isBodylessStatus,
  releaseAtCallbackEnd,
  statusReason,
  streamFraming,
  stripUndefined,
} from '@mummy/io-loop/kit'

// ---- the part of the native API this file uses ----

/** @internal */
interface UwsHttpRequest {
  getCaseSensitiveMethod(): string
  getUrl(): string
  getQuery(): string | undefined
  getHeader(name: string): string
  forEach(cb: (key: string, value: string) => void): void
}
/** @internal */
interface UwsHttpResponse {
  writeStatus(status: string): UwsHttpResponse
  writeHeader(key: string, value: string): UwsHttpResponse
  end(body?: string | Uint8Array, closeConnection?: boolean): UwsHttpResponse
  endWithoutBody(reportedContentLength?: number, closeConnection?: boolean): UwsHttpResponse
  write(chunk: string | Uint8Array): boolean
  tryEnd(chunk: Uint8Array, totalSize: number): [ok: boolean, done: boolean]
  getWriteOffset(): number
  onWritable(handler: (offset: number) => boolean): UwsHttpResponse
  cork(cb: () => void): UwsHttpResponse
  close(): UwsHttpResponse
  pause(): void
  resume(): void
  onAborted(cb: () => void): UwsHttpResponse
  onData(cb: (chunk: ArrayBuffer, isLast: boolean) => void): UwsHttpResponse
  getRemoteAddressAsText(): ArrayBuffer
  upgrade(
    userData: UserData,
    key: string,
    protocol: string,
    extensions: string,
    context: unknown,
  ): void
}
/** @internal */
interface UwsWebSocket {
  send(message: Uint8Array, isBinary: boolean, compress: boolean): number
  end(code: number, reason: string): void
  close(): void
  subscribe(topic: string): boolean
  unsubscribe(topic: string): boolean
  isSubscribed(topic: string): boolean
  publish(topic: string, message: Uint8Array, isBinary: boolean, compress: boolean): boolean
  getBufferedAmount(): number
  getUserData(): UserData
}
/** @internal */
interface UwsApp {
  any(pattern: string, handler: (res: UwsHttpResponse, req: UwsHttpRequest) => void): UwsApp
  ws(pattern: string, behavior: Record<string, unknown>): UwsApp
  listen(host: string, port: number, cb: (token: unknown) => void): UwsApp
  listen_unix(cb: (token: unknown) => void, path: string): UwsApp
  publish(topic: string, message: Uint8Array, isBinary: boolean, compress: boolean): boolean
  numSubscribers(topic: string): number
  close(): void
}
/** @internal */
interface UwsModule {
  App(): UwsApp
  SSLApp(options: Record<string, string>): UwsApp
  us_listen_socket_close(token: unknown): void
  us_socket_local_port(token: unknown): number
  DISABLED: number
  SHARED_COMPRESSOR: number
  SHARED_DECOMPRESSOR: number
}
interface UserData {
  socket: UwsSocket
}

let native: UwsModule | null | undefined
let unavailable = ''

/**
 * Loads uWebSockets.js's native build for this platform and Node ABI (installed under the
 * package name `uWebSockets.js`), never its pure-JS fallback. `available: false`, with the
 * reason, when it does not load (not installed, another ABI, an older glibc).
 *
 * @example
 * ```ts
 * const { available, reason } = loadUws()
 * if (!available) console.warn(`serving on node:net: ${reason}`)
 * ```
 */
export function loadUws(): { available: boolean; reason: string } {
  return { available: load() !== null, reason: unavailable }
}

function load(): UwsModule | null {
  if (native !== undefined) return native
  const require = createRequire(import.meta.url)
  const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`
  try {
    const entry = require.resolve('uWebSockets.js')
    native = require(path.join(path.dirname(entry), '..', 'binaries', binary)) as UwsModule
  } catch (error) {
    native = null
    unavailable = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''
  }
  return native
}

const EMPTY = Buffer.alloc(0)
const PROTOCOL_LINE = /\r\nSec-WebSocket-Protocol: *([^\r]*)\r\n/i
/**
 * Bytes that may still arrive on a paused connection (its handler is far behind) before it is
 * closed with 1008: uWebSockets.js cannot stop reading one WebSocket, so memory is bounded
 * here instead, on top of one `maxMessageLen`.
 */
const PAUSED_BYTES = 8 * 1024 * 1024
/** No body bytes for this long: the peer stopped sending. */
const QUIET = 50

/**
 * WebSocket settings that are fixed per transport with uWebSockets.js (not per upgrade).
 * permessage-deflate is still decided per upgrade; it uses uWebSockets.js's shared
 * compressor and decompressor (no per-socket window: `server_no_context_takeover` and
 * `client_no_context_takeover`).
 */
export type UwsWebSocketOptions = Omit<WebSocketSettings, 'deflate'>

/** Options of {@link UwsTransport}: the transport contract plus WebSocket settings. */
export interface UwsTransportOptions extends TransportOptions {
  /** WebSocket settings for every connection (defaults: {@link DEFAULT_WEBSOCKET_SETTINGS}). */
  websocket: UwsWebSocketOptions
}

type Early =
  | [op: 0, kind: 'text' | 'binary', data: Uint8Array]
  | [op: 1, topic: string]
  | [op: 2, topic: string]
  | [op: 3, code: number, reason: string]

/** One WebSocket on the uWebSockets.js transport. */
class UwsSocket implements TransportWebSocket {
  ws: UwsWebSocket | null = null
  closed = false
  paused = 0
  /** Bytes received since the connection was paused. */
  unreadWhilePaused = 0
  /** Operations given before uWebSockets.js opened the socket, in order. */
  early: Early[] | null = []

  constructor(
    readonly id: number,
    readonly events: WebSocketEvents,
  ) {}

  get bufferedAmount(): number {
    return this.ws === null || this.closed ? 0 : this.ws.getBufferedAmount()
  }

  send(kind: 'text' | 'binary', data: Uint8Array): SendStatus {
    if (this.closed) return 'dropped'
    if (this.ws === null) {
      this.early?.push([0, kind, data])
      return 'buffered'
    }
    const status = this.ws.send(data, kind === 'binary', true)
    return status === 1 ? 'sent' : status === 0 ? 'buffered' : 'dropped'
  }

  close(code = 1000, reason = ''): void {
    if (this.closed) return
    if (this.ws === null) this.early?.push([3, code, reason])
    else this.ws.end(code, reason)
  }

  terminate(): void {
    if (this.closed) return
    if (this.ws === null) this.early?.push([3, -1, ''])
    else this.ws.close()
  }

  pause(): void {
    this.paused++
  }

  resume(): void {
    if (this.paused > 0 && --this.paused === 0) this.unreadWhilePaused = 0
  }

  /** Runs what was asked before the socket opened. */
  opened(ws: UwsWebSocket): void {
    this.ws = ws
    const early = this.early
    this.early = null
    if (early === null) return
    for (const op of early) {
      if (this.closed) return
      switch (op[0]) {
        case 0:
          this.send(op[1], op[2])
          break
        case 1:
          ws.subscribe(op[1])
          break
        case 2:
          ws.unsubscribe(op[1])
          break
        case 3:
          if (op[1] === -1) ws.close()
          else ws.end(op[1], op[2])
          break
      }
    }
  }
}

/**
 * A streamed response body on uWebSockets.js. Of unknown length it is chunked by uWS itself,
 * and what uWS buffers is not visible from JS: `bufferedAmount` counts what was written since
 * a write last met backpressure, until uWS reports the socket writable again. Of a known
 * length it goes out with `tryEnd` (uWS writes `Content-Length`), which takes only what the
 * socket takes: the rest waits here, in `#queue`, and is `bufferedAmount`.
 */
class UwsStream implements TransportStream {
  closed = false
  ended = false
  #buffered = 0
  #watching = false
  /** Known length: what is left of it (what goes past it is dropped). */
  readonly #body: KnownLength
  /** Known length: pieces uWS has not taken yet. */
  readonly #queue: Uint8Array[] = []
  #queued = 0

  constructor(
    readonly writer: UwsResponseWriter,
    readonly events: StreamEvents,
    /** The body's length when known, else -1. */
    readonly length = -1,
  ) {
    this.#body = new KnownLength(length)
  }

  get bufferedAmount(): number {
    return this.closed ? 0 : this.#buffered + this.#queued + this.#heldBytes
  }

  /** Pieces held until the current callback's end (see {@link hold}). */
  #held: Uint8Array[] | null = null
  #heldBytes = 0

  hold(): void {
    if (this.#held !== null || this.closed || this.ended) return
    this.#held = []
    releaseAtCallbackEnd(this)
  }

  /** Ends {@link hold}: what was held leaves in one write. */
  releaseHeld(): void {
    const held = this.#held
    if (held === null) return
    this.#held = null
    this.#heldBytes = 0
    if (held.length === 0 || this.closed) return
    const bytes = held.length === 1 ? held[0]! : Buffer.concat(held)
    this.#send(bytes, bytes.byteLength, true)
  }

  write(chunk: Uint8Array | string): SendStatus {
    if (this.ended || this.closed) return 'dropped'
    chunk = this.#body.clip(chunk)
    const cut = this.#body.cut
    const length = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength
    if (length === 0) return cut ? 'dropped' : this.bufferedAmount > 0 ? 'buffered' : 'sent'
    const status = this.#write(chunk, length)
    return cut ? 'dropped' : status
  }

  #write(chunk: Uint8Array | string, length: number): SendStatus {
    const held = this.#held
    if (held !== null) {
      held.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
      this.#heldBytes += length
      if (this.#heldBytes >= HOLD_FLUSH) {
        this.releaseHeld()
        this.hold()
      }
      return 'buffered'
    }
    return this.#send(chunk, length, false)
  }

  #send(chunk: Uint8Array | string, length: number, wasHeld: boolean): SendStatus {
    if (this.length >= 0) return this.#sendKnown(chunk as Uint8Array, wasHeld)
    const res = this.writer.res
    let ok = false
    res.cork(() => {
      ok = res.write(chunk)
    })
    if (ok && this.#buffered === 0) {
      if (wasHeld) this.events.onDrain?.()
      return 'sent'
    }
    this.#buffered += length
    if (!this.#watching) {
      this.#watching = true
      res.onWritable(() => {
        if (this.closed || this.#buffered === 0) return true
        this.#buffered = 0
        this.events.onDrain?.()
        return true
      })
    }
    return 'buffered'
  }

  /** Known length: queue `bytes` and give uWS what the socket takes. */
  #sendKnown(bytes: Uint8Array, wasHeld: boolean): SendStatus {
    this.#queue.push(bytes)
    this.#queued += bytes.byteLength
    this.#pump()
    if (this.#queued === 0) {
      if (wasHeld) this.events.onDrain?.()
      return 'sent'
    }
    return 'buffered'
  }

  /** Gives uWS queued bytes until the socket is full or the queue is empty. */
  #pump(): void {
    const writer = this.writer
    const res = writer.res
    while (this.#queue.length > 0 && !this.closed) {
      const piece = this.#queue[0]!
      let ok = false
      let done = false
      let taken = 0
      res.cork(() => {
        const before = res.getWriteOffset()
        ;[ok, done] = res.tryEnd(piece, this.length)
        taken = done ? piece.byteLength : res.getWriteOffset() - before
      })
      this.#queued -= taken
      if (taken >= piece.byteLength) this.#queue.shift()
      else this.#queue[0] = piece.subarray(taken)
      if (done) {
        // Every byte was taken: uWS has ended the response.
        this.#queue.length = 0
        this.#queued = 0
        writer.closed = true
        this.finish(true)
        writer.transport.settled(writer)
        return
      }
      if (!ok) {
        if (!this.#watching) {
          this.#watching = true
          res.onWritable(() => {
            if (this.closed) return true
            const before = this.#queued
            this.#pump()
            if (this.#queued === 0 && before > 0 && !this.closed) this.events.onDrain?.()
            return this.#queued === 0
          })
        }
        return
      }
    }
  }

  end(): void {
    if (this.ended || this.closed) return
    this.releaseHeld()
    this.ended = true
    const writer = this.writer
    if (writer.closed) return
    if (this.length >= 0) {
      if (this.#body.short) {
        // Short of its Content-Length: only closing the connection tells the client — once
        // what was written has left (closing inside the cork that wrote it would drop it all,
        // head included).
        writer.closed = true
        this.finish(false)
        writer.transport.settled(writer)
        setImmediate(() => {
          if (!writer.gone) writer.res.close()
        })
      } else if (this.length === 0) {
        writer.closed = true
        writer.res.cork(() => writer.res.end(EMPTY, false))
        this.finish(true)
        writer.transport.settled(writer)
      }
      // (Otherwise uWS taking the last queued byte ends it: see #pump.)
      return
    }
    writer.closed = true
    const res = writer.res
    // Never `end(…, true)` here: after write(), uWebSockets.js 20.30 puts its own
    // `Connection: close` line inside the chunked body. A stream that closes announced it in
    // its head; the peer closes, or uWebSockets.js's idle timeout does.
    res.cork(() => res.end(EMPTY, false))
    this.finish(true)
    writer.transport.settled(writer)
  }

  abort(): void {
    if (this.closed) return
    const writer = this.writer
    writer.closed = true
    this.finish(false)
    writer.res.close()
    writer.transport.settled(writer)
  }

  /** Over: `complete` after `end`, not when the connection went away. */
  finish(complete: boolean): void {
    if (this.closed) return
    this.closed = true
    this.ended = true
    this.#buffered = 0
    this.#queue.length = 0
    this.#queued = 0
    const events = this.events
    queueMicrotask(() => events.onClose(complete))
  }
}

/** Where one request's answer goes. */
class UwsResponseWriter implements ResponseWriter, BodyControl {
  ended = false
  closed = false
  /** uWebSockets.js reported the connection gone: `res` must not be touched any more. */
  gone = false
  streamed: UwsStream | null = null
  /** The request's body is still arriving (set and cleared by the transport). */
  receiving = false
  /** The client asked to close (`Connection: close`): the answer closes the connection. */
  clientClose = false
  /**
   * uWebSockets.js itself saw a close (a 5-byte Connection value): it then closes after the
   * answer but leaves `Connection: close` out of it ("unless the client already sent it"), so
   * the header is written here — RFC 9112 §9.6, and a client that pools connections needs it.
   */
  uwsCloses = false
  #pauses = 0
  /** A closing answer waiting for the peer to stop sending (see {@link discarded}). */
  #deferred: (() => void) | null = null
  #quiet: ReturnType<typeof setTimeout> | null = null
  #grace: ReturnType<typeof setTimeout> | null = null

  constructor(
    readonly transport: UwsTransport,
    readonly res: UwsHttpResponse,
    readonly isHead: boolean,
    /** For upgrade requests: key, offered extensions and the socket context. */
    readonly ws: { key: string; extensions: string; context: unknown } | null,
  ) {}

  end(
    status: number,
    headers: readonly string[],
    body?: Uint8Array | string,
    close?: boolean,
  ): void {
    if (this.ended) throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'response already sent')
    this.ended = true
    if (this.closed) return
    // A refused upgrade closes too: the client may already be sending frames.
    const closeConnection = this.#closes(close === true)
    if (closeConnection && this.receiving) {
      // uWebSockets.js closes at once after a closing answer, and a socket closed with unread
      // input is reset: the peer would likely lose the answer. So it waits until the peer
      // stops sending (the body ends, or nothing arrives for a moment), and at most
      // CLOSE_GRACE; what arrives meanwhile is discarded.
      this.#deferred = () => this.#write(status, headers, body, true)
      if (this.#pauses > 0) {
        // A body sink had paused reading: the rest is discarded now.
        this.#pauses = 0
        this.res.resume()
      }
      this.#grace = setTimeout(() => this.flushDeferred(), CLOSE_GRACE)
      this.#grace.unref()
      this.discarded(false)
      return
    }
    this.#write(status, headers, body, closeConnection)
  }

  /** {@link BodyControl}: a body sink's disk is behind. Calls nest. */
  pause(): void {
    if (this.#pauses++ === 0 && !this.closed && !this.ended) this.res.pause()
  }

  /** {@link BodyControl}: resumes reading once every pause was resumed. */
  resume(): void {
    if (this.#pauses > 0 && --this.#pauses === 0 && !this.closed) this.res.resume()
  }

  /** Body bytes that arrived after the answer: they are dropped; `last` ends the wait. */
  discarded(last: boolean): void {
    if (this.#deferred === null) return
    if (last) {
      this.flushDeferred()
      return
    }
    if (this.#quiet !== null) clearTimeout(this.#quiet)
    const armed = Date.now()
    this.#quiet = setTimeout(() => {
      // Late by far: the event loop was busy, and input may be waiting to be read. Look again
      // after it has been.
      if (Date.now() - armed > 2 * QUIET) this.discarded(false)
      else this.flushDeferred()
    }, QUIET)
    this.#quiet.unref()
  }

  /** Sends a deferred closing answer now (the peer stopped sending, or went away). */
  flushDeferred(): void {
    const deferred = this.#deferred
    if (deferred === null) return
    this.#deferred = null
    clearTimeout(this.#quiet ?? undefined)
    clearTimeout(this.#grace ?? undefined)
    this.#quiet = this.#grace = null
    // (Gone meanwhile: onAborted settled the request.)
    if (!this.closed) deferred()
  }

  #write(
    status: number,
    headers: readonly string[],
    body: Uint8Array | string | undefined,
    closeConnection: boolean,
  ): void {
    this.closed = true
    const res = this.res
    const isHead = this.isHead
    res.cork(() => {
      this.#head(status, headers)
      // (An explicit `undefined` length would be written as a huge Content-Length; closing
      // needs a length, so a 1xx/204/304 that also closes carries `Content-Length: 0`.)
      if (isBodylessStatus(status))
        if (closeConnection) res.endWithoutBody(0, true)
        else res.endWithoutBody()
      else if (isHead) {
        // endWithoutBody(length) leaves uWebSockets.js waiting for that many body bytes, so a
        // kept connection would never read another request: there the header is written by
        // hand. (A closing one may use it.)
        if (closeConnection) res.endWithoutBody(byteLength(body), true)
        else res.writeHeader('Content-Length', String(byteLength(body))).endWithoutBody()
      } else res.end(body ?? EMPTY, closeConnection)
    })
    this.transport.settled(this)
  }

  /** Whether the connection closes after this answer (`answerCloses`: the answer asks for it). */
  #closes(answerCloses: boolean): boolean {
    return closesAfter(!this.clientClose, this.ws !== null, this.transport.closing, answerCloses)
  }

  /**
   * Writes the status line and `headers` (inside a cork), and the `Connection: close` that
   * uWebSockets.js leaves out when it saw the client's (see {@link uwsCloses}).
   */
  #head(status: number, headers: readonly string[]): void {
    const res = this.res
    res.writeStatus(statusReason(status))
    for (let i = 0; i + 1 < headers.length; i += 2)
      res.writeHeader(headers[i] as string, headers[i + 1] as string)
    if (this.uwsCloses) res.writeHeader('Connection', 'close')
  }

  stream(
    status: number,
    headers: readonly string[],
    events: StreamEvents,
    close?: boolean,
    length = -1,
  ): TransportStream {
    if (this.ended) throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'response already sent')
    this.ended = true
    // (HTTP/1.0 requests never get here: uWebSockets.js answers only HTTP/1.1.)
    const framing = this.ws !== null ? 'none' : streamFraming(status, 1, length)
    const known = framing === 'length' && !this.isHead
    const stream = (this.streamed = new UwsStream(this, events, known ? length : -1))
    if (this.closed) {
      stream.finish(false)
      return stream
    }
    const res = this.res
    if (this.isHead && framing === 'length') {
      // The head a GET would get (its Content-Length), without the body.
      this.closed = true
      const closing = this.#closes(close === true)
      res.cork(() => {
        this.#head(status, headers)
        // (endWithoutBody(n) on a kept connection waits for n body bytes: see end().)
        if (closing) res.endWithoutBody(length, true)
        else res.writeHeader('Content-Length', String(length)).endWithoutBody()
      })
      stream.finish(true)
      this.transport.settled(this)
      return stream
    }
    if (this.isHead && framing === 'chunked' && close !== true && !this.clientClose) {
      // The head a GET would get (a chunked body), without the body.
      this.closed = true
      res.cork(() => {
        this.#head(status, headers)
        res.writeHeader('Transfer-Encoding', 'chunked').endWithoutBody()
      })
      stream.finish(true)
      this.transport.settled(this)
      return stream
    }
    if (this.isHead || framing === 'none') {
      // No body to stream: the head alone (as for end(), a refused upgrade closes).
      this.ended = false
      this.end(status, headers, undefined, close)
      stream.finish(true)
      return stream
    }
    res.cork(() => {
      this.#head(status, headers)
      // (A closing stream says so in its head: see UwsStream.end.)
      if (this.#closes(close === true) && !this.uwsCloses) res.writeHeader('Connection', 'close')
    })
    return stream
  }

  upgrade(
    head: string,
    id: number,
    settings: WebSocketSettings,
    events: WebSocketEvents,
  ): TransportWebSocket | null {
    if (this.ended) throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'response already sent')
    if (this.ws === null || this.closed) return null
    this.ended = true
    this.closed = true
    const socket = new UwsSocket(id, events)
    const protocol = PROTOCOL_LINE.exec(head)?.[1] ?? ''
    const extensions = settings.deflate !== null ? this.ws.extensions : ''
    const { key, context } = this.ws
    const res = this.res
    res.cork(() => res.upgrade({ socket }, key, protocol, extensions, context))
    this.transport.settled(this)
    return socket
  }
}

function byteLength(body: Uint8Array | string | undefined): number {
  return body === undefined
    ? 0
    : typeof body === 'string'
      ? Buffer.byteLength(body)
      : body.byteLength
}

/** A copy that owns exactly its bytes (valid after uWebSockets.js reuses `data`). */
function copy(data: ArrayBuffer): Buffer {
  return Buffer.from(data.slice(0))
}

/** The parts in one buffer that owns its whole `ArrayBuffer` (never a pooled slab). */
function joinOwned(parts: readonly Buffer[], length: number): Buffer {
  if (parts.length === 1) return parts[0] as Buffer
  if (length === 0) return EMPTY
  const out = Buffer.from(new ArrayBuffer(length))
  let at = 0
  for (const part of parts) {
    part.copy(out, at)
    at += part.length
  }
  return out
}

/**
 * The uWebSockets.js transport. Throws `ERR_MUMMY_TRANSPORT_UNAVAILABLE` where the native
 * build does not load ({@link loadUws} tells beforehand).
 *
 * @example
 * ```ts
 * import { UwsTransport, loadUws } from '@mummy/io-loop'
 * if (loadUws().available) {
 *   const transport = new UwsTransport({
 *     onRequest(req, res) { res.end(200, ['Content-Type', 'text/plain'], 'hi') },
 *   })
 *   await transport.listen(0)
 *   await transport.close()
 * }
 * ```
 */
export class UwsTransport implements Transport {
  readonly name = 'uws'
  /** Effective options (defaults filled in). */
  readonly options: UwsTransportOptions
  /** `true` once {@link close} was called. */
  closing = false
  readonly #uws: UwsModule
  readonly #app: UwsApp
  readonly #sockets = new Set<UwsSocket>()
  /** Listening sockets, with where they listen. */
  readonly #listeners: Array<{ token: unknown; address: ListenAddress }> = []
  /** The first TCP listener's port (kept after close). */
  #port = 0
  /** Requests not answered (or aborted) yet. */
  readonly #writers = new Set<UwsResponseWriter>()
  #closed: Promise<void> | null = null
  #onSettled: (() => void) | null = null
  readonly #heads: HeadCheck

  constructor(
    options: Partial<Omit<UwsTransportOptions, 'websocket'>> &
      Pick<TransportOptions, 'onRequest'> & { websocket?: Partial<UwsWebSocketOptions> },
  ) {
    const defined = stripUndefined(options)
    // Read by uWebSockets.js once, when its native module loads (the first transport's value
    // wins); the head is checked against maxHeadersLen by @mummy/parser either way.
    if (defined.maxHeadersLen !== undefined && process.env.UWS_HTTP_MAX_HEADERS_SIZE === undefined)
      process.env.UWS_HTTP_MAX_HEADERS_SIZE = String(defined.maxHeadersLen)
    const uws = load()
    if (uws === null)
      throw new MummyError(
        'ERR_MUMMY_TRANSPORT_UNAVAILABLE',
        `the 'uws' transport needs uWebSockets.js, which does not load here: ${unavailable}`,
      )
    this.options = {
      ...DEFAULT_TRANSPORT_OPTIONS,
      ...defined,
      websocket: { ...DEFAULT_WEBSOCKET_SETTINGS, ...defined.websocket },
    } as UwsTransportOptions
    this.#uws = uws
    const o = this.options
    this.#heads = new HeadCheck({
      maxHeadersLen: o.maxHeadersLen,
      // A streamed body may be larger: each request's limit is checked when its body starts.
      maxBodyLen:
        o.onBodyStart === undefined ? o.maxBodyLen : Math.max(o.maxBodyLen, o.maxStreamedBodyLen),
    })
    this.#app = o.tls === undefined ? uws.App() : sslApp(uws, o.tls)
    this.#app.any('/*', (res, req) => this.#onHttp(res, req, null))
    const ws = this.options.websocket
    this.#app.ws('/*', {
      maxPayloadLength: ws.maxMessageLen,
      idleTimeout: ws.idleTimeout === 0 ? 0 : Math.max(8, Math.round(ws.idleTimeout / 1000)),
      sendPingsAutomatically: true,
      maxBackpressure: ws.maxBackpressure,
      closeOnBackpressureLimit: ws.backpressurePolicy === 'close',
      // Always able to: whether a connection compresses is decided per upgrade (the offered
      // extensions are passed on only when the handler's negotiation accepted deflate).
      compression: uws.SHARED_COMPRESSOR | uws.SHARED_DECOMPRESSOR,
      upgrade: (res: UwsHttpResponse, req: UwsHttpRequest, context: unknown) =>
        this.#onHttp(res, req, {
          key: req.getHeader('sec-websocket-key'),
          extensions: req.getHeader('sec-websocket-extensions'),
          context,
        }),
      open: (native: UwsWebSocket) => {
        const socket = native.getUserData().socket
        this.#sockets.add(socket)
        socket.events.onOpen(socket)
        socket.opened(native)
      },
      message: (native: UwsWebSocket, data: ArrayBuffer, isBinary: boolean) =>
        this.#onMessage(native.getUserData().socket, isBinary ? 'binary' : 'text', data),
      ping: (native: UwsWebSocket, data: ArrayBuffer) =>
        this.#onMessage(native.getUserData().socket, 'ping', data),
      pong: (native: UwsWebSocket, data: ArrayBuffer) =>
        this.#onMessage(native.getUserData().socket, 'pong', data),
      drain: (native: UwsWebSocket) => {
        const socket = native.getUserData().socket
        socket.events.onDrain?.(socket)
      },
      close: (native: UwsWebSocket, code: number, reason: ArrayBuffer) => {
        const socket = native.getUserData().socket
        socket.closed = true
        socket.ws = null
        this.#sockets.delete(socket)
        socket.events.onClose(socket, code, Buffer.from(reason).toString('utf8'))
        this.settled(null)
      },
    })
  }

  /** Requests being answered plus open WebSockets (idle HTTP connections are not counted). */
  get connections(): number {
    return this.#writers.size + this.#sockets.size
  }

  get port(): number {
    return this.#port
  }

  get addresses(): readonly ListenAddress[] {
    return this.#listeners.map((l) => l.address)
  }

  #onHttp(
    res: UwsHttpResponse,
    req: UwsHttpRequest,
    ws: { key: string; extensions: string; context: unknown } | null,
  ): void {
    const method = req.getCaseSensitiveMethod()
    const query = req.getQuery()
    const url = req.getUrl()
    const headers: string[] = []
    let length = -1
    let chunked = false
    let upgrade = false
    let clientClose = false
    let uwsCloses = false
    req.forEach((name, value) => {
      headers.push(name, value)
      if (name === 'content-length') length = Number(value)
      else if (name === 'transfer-encoding') chunked = true
      else if (name === 'upgrade') upgrade = true
      else if (name === 'connection') {
        // uWebSockets.js takes any 5-byte value for "close": it closes after the answer and
        // leaves `Connection: close` out of it. A longer list that names close closes too.
        uwsCloses = value.length === 5
        clientClose = uwsCloses || hasCloseToken(value)
      }
    })
    const writer = new UwsResponseWriter(this, res, method === 'HEAD', ws)
    writer.clientClose = clientClose
    writer.uwsCloses = uwsCloses
    this.#writers.add(writer)
    let bodySink: BodySink | null = null
    res.onAborted(() => {
      writer.gone = true
      if (writer.closed) return
      writer.closed = true
      writer.flushDeferred()
      writer.streamed?.finish(false)
      // Gone in the middle of a streamed body.
      if (bodySink !== null && !writer.ended) bodySink.abort()
      this.settled(writer)
    })
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString('latin1')
    const request = {
      method,
      target: query === undefined ? url : `${url}?${query}`,
      versionMinor: 1 as const,
      headers,
      body: EMPTY,
      remoteAddress,
      keepAlive: !this.closing && !clientClose,
      upgrade,
    }
    // uWebSockets.js split the head; @mummy/parser's rules judge it (the node transport's).
    const refused = this.#heads.check(method, request.target, 1, headers)
    if (length <= 0 && !chunked) {
      if (refused !== null) this.#refuse(writer, refused, remoteAddress)
      else this.#deliver(request, writer)
      return
    }
    // A body follows. Read from here on, whatever the answer: a refusal waits for the peer to
    // stop sending before it closes (see UwsResponseWriter.end).
    writer.receiving = true
    const o = this.options
    let sink: BodySink | null = null
    let max = o.maxBodyLen
    const parts: Buffer[] = []
    let received = 0
    res.onData((chunk, isLast) => {
      if (isLast) writer.receiving = false
      if (writer.ended) {
        writer.discarded(isLast)
        return
      }
      received += chunk.byteLength
      if (received > max) {
        // A sink that already took part of the body will not see the rest.
        if (sink !== null) sink.abort()
        bodySink = null
        this.#refuse(writer, bodyTooLarge(max), remoteAddress)
        return
      }
      if (sink !== null) {
        // A view of uWebSockets.js's buffer: valid during this call, as BodySink says.
        if (chunk.byteLength > 0) sink.write(Buffer.from(chunk))
        if (!isLast || writer.ended) return
        bodySink = null // complete: no longer abortable
        sink.end()
        if (!writer.ended) this.#deliver({ ...request, sink }, writer)
        return
      }
      if (chunk.byteLength > 0) parts.push(copy(chunk))
      if (!isLast) return
      this.#deliver({ ...request, body: joinOwned(parts, received) }, writer)
    })
    if (refused !== null) {
      this.#refuse(writer, refused, remoteAddress)
      return
    }
    sink =
      o.onBodyStart === undefined
        ? null
        : o.onBodyStart({ ...request, contentLength: chunked ? -1 : length }, writer, writer)
    bodySink = sink
    // The sink may have answered at once (a refused upload): then the body is discarded.
    if (writer.ended) return
    if (sink !== null) max = o.maxStreamedBodyLen
    if (length > max) this.#refuse(writer, bodyTooLarge(max), remoteAddress)
  }

  #deliver(request: TransportRequest, writer: UwsResponseWriter): void {
    try {
      this.options.onRequest(request, writer)
    } catch (err) {
      this.#report(err instanceof Error ? err : new Error(String(err)), request.remoteAddress)
      if (!writer.ended) writer.end(500, TEXT_PLAIN, answerBody(500))
    }
  }

  #refuse(
    writer: UwsResponseWriter,
    error: Error & { code?: string; status?: number },
    remoteAddress: string,
  ): void {
    const status = error.status ?? 400
    this.#report(error, remoteAddress)
    writer.end(status, TEXT_PLAIN, answerBody(status), true)
  }

  #report(error: Error & { code?: string; status?: number }, remoteAddress: string): void {
    try {
      this.options.onClientError?.(error, remoteAddress)
    } catch {
      // A logging hook must never take the IO thread down.
    }
  }

  #onMessage(socket: UwsSocket, kind: InboundKind, data: ArrayBuffer): void {
    if (
      socket.paused > 0 &&
      (socket.unreadWhilePaused += data.byteLength) >
        PAUSED_BYTES + this.options.websocket.maxMessageLen
    ) {
      // The handler is far behind and the peer keeps sending: bounded memory wins.
      socket.close(1008, 'too many unprocessed messages')
      return
    }
    socket.events.onMessage(socket, kind, copy(data))
  }

  /** @internal `writer`'s request was answered or aborted, or (`null`) a WebSocket closed. */
  settled(writer: UwsResponseWriter | null): void {
    if (writer !== null) this.#writers.delete(writer)
    if (this.#onSettled !== null && this.#writers.size === 0 && this.#sockets.size === 0)
      this.#onSettled()
  }

  async listen(port: number, host?: string): Promise<number> {
    const address = await this.listenOn(host === undefined ? { port } : { port, host })
    return 'port' in address ? address.port : 0
  }

  listenOn(target: ListenTarget): Promise<ListenAddress> {
    const tls = this.options.tls !== undefined
    return new Promise((resolve, reject) => {
      if ('path' in target) {
        // uSockets unlinks the path before binding; refuse a path in use as node:net does.
        if (existsSync(target.path)) {
          reject(
            new MummyError(
              'ERR_MUMMY_LISTEN',
              `cannot listen on ${target.path}: listen EADDRINUSE: address already in use`,
            ),
          )
          return
        }
        this.#app.listen_unix((token) => {
          if (!token) {
            reject(new MummyError('ERR_MUMMY_LISTEN', `cannot listen on ${target.path}`))
            return
          }
          const address: ListenAddress = { path: target.path, tls }
          this.#listeners.push({ token, address })
          resolve(address)
        }, target.path)
        return
      }
      const host = target.host ?? '0.0.0.0'
      this.#app.listen(host, target.port, (token) => {
        if (!token) {
          reject(new MummyError('ERR_MUMMY_LISTEN', `cannot listen on ${host}:${target.port}`))
          return
        }
        const address: ListenAddress = {
          address: host,
          port: this.#uws.us_socket_local_port(token),
          family: host.includes(':') ? 'IPv6' : 'IPv4',
          tls,
        }
        this.#listeners.push({ token, address })
        if (this.#port === 0) this.#port = address.port
        resolve(address)
      })
    })
  }

  close(timeout = DEFAULT_CLOSE_TIMEOUT): Promise<void> {
    if (this.#closed !== null) return this.#closed
    this.closing = true
    for (const { token, address } of this.#listeners) {
      this.#uws.us_listen_socket_close(token)
      // (uSockets leaves a unix socket's file behind; node:net removes it.)
      if ('path' in address) rmSync(address.path, { force: true })
    }
    this.#listeners.length = 0
    this.#closed = new Promise<void>((resolve) => {
      let hard: ReturnType<typeof setTimeout> | undefined
      const finish = (): void => {
        clearTimeout(deadline)
        clearTimeout(hard)
        this.#onSettled = null
        // Idle keep-alive connections and anything left over.
        this.#app.close()
        resolve()
      }
      // At the deadline every request still unanswered gets a 503 (a stream under way and a
      // WebSocket are cut); CLOSE_GRACE later, whatever is still open is closed.
      const deadline = setTimeout(() => {
        for (const writer of [...this.#writers]) {
          if (!writer.ended) writer.end(503, TEXT_PLAIN, answerBody(503), true)
          else writer.streamed?.abort()
        }
        for (const socket of [...this.#sockets]) socket.terminate()
        hard = setTimeout(finish, CLOSE_GRACE)
        hard.unref()
      }, timeout)
      deadline.unref()
      this.#onSettled = finish
      for (const socket of [...this.#sockets]) socket.close(1001, 'server shutting down')
      // A request whose body is still arriving is answered now.
      for (const writer of [...this.#writers])
        if (writer.receiving && !writer.ended) writer.end(503, TEXT_PLAIN, answerBody(503), true)
      if (this.#writers.size === 0 && this.#sockets.size === 0) finish()
    })
    return this.#closed
  }

  subscribe(ws: TransportWebSocket, topic: string): boolean {
    const socket = ws as UwsSocket
    if (socket.closed) return false
    if (socket.ws === null) {
      socket.early?.push([1, topic])
      return true
    }
    // (uWebSockets.js answers true for a topic already subscribed; the contract says false.)
    if (socket.ws.isSubscribed(topic)) return false
    return socket.ws.subscribe(topic)
  }

  unsubscribe(ws: TransportWebSocket, topic: string): boolean {
    const socket = ws as UwsSocket
    if (socket.closed) return false
    if (socket.ws === null) {
      socket.early?.push([2, topic])
      return true
    }
    return socket.ws.unsubscribe(topic)
  }

  publish(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    except?: TransportWebSocket,
  ): number {
    const binary = kind === 'binary'
    const sender = (except as UwsSocket | undefined)?.ws ?? null
    let count = this.#app.numSubscribers(topic)
    if (count === 0) return 0
    if (sender !== null && !(except as UwsSocket).closed && sender.isSubscribed(topic)) {
      // Everyone but the sender (a socket's own publish needs it to be a subscriber).
      count--
      sender.publish(topic, data, binary, true)
    } else {
      this.#app.publish(topic, data, binary, true)
    }
    return count
  }
}

/** Whether a Connection field value lists `close` (tokens are case-insensitive). */
function hasCloseToken(value: string): boolean {
  for (const token of value.split(',')) if (token.trim().toLowerCase() === 'close') return true
  return false
}

/**
 * An SSL app: uWebSockets.js reads its key and certificates from files when the app is made, so
 * PEM given as text or bytes goes through a private temporary folder (mode 0700, files 0600),
 * removed at once.
 */
function sslApp(uws: UwsModule, tls: TlsOptions): UwsApp {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-tls-'))
  try {
    const file = (name: string, pem: string | Uint8Array): string => {
      const where = path.join(dir, name)
      writeFileSync(where, pem, { mode: 0o600 })
      return where
    }
    const options: Record<string, string> = {
      key_file_name: file('key.pem', tls.key),
      cert_file_name: file('cert.pem', tls.cert),
    }
    if (tls.ca !== undefined) options.ca_file_name = file('ca.pem', tls.ca)
    if (tls.passphrase !== undefined) options.passphrase = tls.passphrase
    return uws.SSLApp(options)
  } catch (error) {
    throw new MummyError(
      'ERR_MUMMY_LISTEN',
      `cannot use the tls key and certificate: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The contract between the IO thread's transports (node:net, uWebSockets.js) and the server
 * that sits on them. A transport accepts connections, parses requests,
 * enforces limits and timeouts, and writes responses in order; it never runs user code
 * itself — it hands each complete request to {@link TransportOptions.onRequest}.
 */

import type { PerMessageDeflate } from '@mummy/websocket'

/** What happened to a message given to `send`. */
export type SendStatus = 'sent' | 'buffered' | 'dropped'

/** What a connection does when its unsent output passes `maxBackpressure`. */
export type BackpressurePolicy = 'close' | 'drop'

/** Per-connection WebSocket settings. */
export interface WebSocketSettings {
  /** Largest message accepted (after reassembly and inflation); over it: close 1009. */
  maxMessageLen: number
  /** ms without any frame from the peer before the connection is closed; a ping is sent at half. `0` = never. */
  idleTimeout: number
  /** Unsent bytes above which a send is refused (`drop`) or the connection is closed with 1008 (`close`). */
  maxBackpressure: number
  /** See {@link BackpressurePolicy}. */
  backpressurePolicy: BackpressurePolicy
  /** permessage-deflate state when it was negotiated. */
  deflate: PerMessageDeflate | null
}

/** Defaults for {@link WebSocketSettings}. */
export const DEFAULT_WEBSOCKET_SETTINGS: Readonly<Omit<WebSocketSettings, 'deflate'>> =
  Object.freeze({
    maxMessageLen: 64 * 1024,
    idleTimeout: 120_000,
    maxBackpressure: 1024 * 1024,
    backpressurePolicy: 'close',
  })

/** Kinds of message a peer can send. */
export type InboundKind = 'text' | 'binary' | 'ping' | 'pong'

/** Where a connection's events go (the server hands them to the worker pool). */
export interface WebSocketEvents {
  /** The 101 was written: the connection is open. */
  onOpen(ws: TransportWebSocket): void
  /** A message or control frame arrived. `data` is the caller's to keep. */
  onMessage(ws: TransportWebSocket, kind: InboundKind, data: Buffer): void
  /** The peer broke the protocol (the connection is being closed with `closeCode`). */
  onError(ws: TransportWebSocket, code: string, message: string, closeCode: number): void
  /** The connection is gone; called exactly once. `code` 1006 when it ended without a close frame. */
  onClose(ws: TransportWebSocket, code: number, reason: string): void
  /** Everything written so far was taken by the kernel. */
  onDrain?(ws: TransportWebSocket): void
}

/** A fully received request, as a transport hands it over. */
export interface TransportRequest {
  /** Method token as received, e.g. `GET`. */
  readonly method: string
  /** Raw request-target, e.g. `/search?q=x`. */
  readonly target: string
  /** `0` for HTTP/1.0, `1` for HTTP/1.1. */
  readonly versionMinor: 0 | 1
  /** Flat `[name, value, name, value, …]` list, names as received. */
  readonly headers: readonly string[]
  /** The whole body (empty when there is none). Owned by the receiver: it is a fresh buffer that owns its whole `ArrayBuffer`, so it may be transferred to a worker. */
  readonly body: Buffer
  /** Peer address, e.g. `127.0.0.1`. */
  readonly remoteAddress: string
  /** Whether the connection stays open after this request's response. */
  readonly keepAlive: boolean
  /** `true` when the request asked to switch protocols (`Connection: upgrade` + `Upgrade`). */
  readonly upgrade: boolean
  /** Set when the body went to the sink {@link TransportOptions.onBodyStart} gave (`body` is then empty). */
  readonly sink?: BodySink
}

/** A request whose head is complete and whose body is about to arrive. */
export interface BodyHead {
  readonly method: string
  readonly target: string
  readonly versionMinor: 0 | 1
  readonly headers: readonly string[]
  readonly remoteAddress: string
  /** The declared length, or -1 for a chunked body. */
  readonly contentLength: number
}

/** Flow control of a streamed request body, for its sink. Calls nest: one `resume` per `pause`. */
export interface BodyControl {
  /** Stops reading the connection (the sink is falling behind, e.g. on disk). */
  pause(): void
  /** Undoes one `pause`. */
  resume(): void
}

/** Where a streamed request body goes, piece by piece (see {@link TransportOptions.onBodyStart}). */
export interface BodySink {
  /** One piece of the body, de-chunked. A view valid only during the call. */
  write(chunk: Buffer): void
  /** The body is complete; `onRequest` follows with `request.sink` set to this sink. */
  end(): void
  /** The connection went away before the body was complete. */
  abort(): void
}

/**
 * Where the answer to one request goes. Responses are written in request order whatever
 * order they are given in (pipelining); `end` may be called from any later turn of the
 * event loop. Lifetime: valid until `end` is called or `closed` becomes `true`.
 */
export interface ResponseWriter {
  /**
   * Sends the whole response. The transport adds `Date`, `Content-Length` (or none for
   * 1xx/204/304) and `Connection`, and omits the body for `HEAD`. `headers` is a flat
   * `[name, value, …]` list that the caller has validated (no CR/LF/NUL, no
   * `Content-Length`/`Transfer-Encoding`/`Connection`). With `close`, the connection is
   * closed after this response (`Connection: close`).
   */
  end(status: number, headers: readonly string[], body?: Uint8Array | string, close?: boolean): void
  /**
   * Accepts a WebSocket upgrade for this request: `head` is the complete `101 Switching
   * Protocols` response head (ending with an empty line). It is written when every earlier
   * pipelined response has been; the connection then speaks WebSocket and its events go to
   * `events`. Returns the connection (sends given before the 101 is written are kept and
   * written right after it), or `null` if the request did not ask to upgrade or the
   * connection is gone.
   */
  upgrade(
    head: string,
    id: number,
    settings: WebSocketSettings,
    events: WebSocketEvents,
  ): TransportWebSocket | null
  /**
   * Starts a streamed response: the head now (`status`, `headers` as for {@link end}), the
   * body in pieces through the returned {@link TransportStream}. HTTP/1.1 bodies are sent
   * chunked; an HTTP/1.0 body ends by closing the connection. With a known `length` (≥ 0) the
   * head carries `Content-Length` instead and the body is exactly that long: bytes written
   * past it are dropped (`write` says `dropped`), and a stream that ends short closes the
   * connection (the client sees a truncated body). A `HEAD` request, or a status without a
   * body (1xx, 204, 304), gets the head alone (for HEAD, with the `Content-Length` a GET
   * would get) and a stream that is already over. Later pipelined responses wait until the
   * stream ends.
   */
  stream(
    status: number,
    headers: readonly string[],
    events: StreamEvents,
    close?: boolean,
    length?: number,
  ): TransportStream
  /** `true` once the connection has gone (the response can no longer be delivered). */
  readonly closed: boolean
  /** `true` once `end` was called. */
  readonly ended: boolean
}

/** What a streamed response tells its owner ({@link ResponseWriter.stream}). */
export interface StreamEvents {
  /** Everything written so far was taken by the kernel (after a write returned `buffered`). */
  onDrain?(): void
  /**
   * The stream is over, called exactly once, never from inside `stream()` itself:
   * `complete` when it was ended and its last byte written, `false` when the connection
   * went away first.
   */
  onClose(complete: boolean): void
}

/**
 * The body of a streamed response, owned by the IO thread. Valid until
 * {@link StreamEvents.onClose}; after that `write` returns `'dropped'`.
 */
export interface TransportStream {
  /**
   * Writes one piece of the body (an empty one is ignored). Returns `sent` when it went to
   * the kernel at once, `buffered` when it waits (behind unsent bytes, or behind an earlier
   * pipelined response), `dropped` when the stream is over or has no body.
   */
  write(chunk: Uint8Array | string): SendStatus
  /** Ends the body. Idempotent. */
  end(): void
  /** Drops the connection at once (the body stays incomplete); `onClose(false)` follows. */
  abort(): void
  /**
   * Holds this stream's writes until the IO thread finishes what it is doing now, so that many
   * pieces written in one go (a worker's batch, a burst of publishes) leave in one write. At
   * most 32 KiB are held; more goes out at once.
   */
  hold(): void
  /** Bytes written to this stream and not yet taken by the kernel. */
  readonly bufferedAmount: number
  /** `true` once the stream is over (ended and written, or the connection is gone). */
  readonly closed: boolean
}

/**
 * A WebSocket connection as the server sees it, whatever the transport. Owned by the IO
 * thread; valid until {@link WebSocketEvents.onClose} was called for it (after that every
 * method is a no-op and `send` returns `'dropped'`).
 */
export interface TransportWebSocket {
  /** The id the server gave this connection at upgrade. */
  readonly id: number
  /** `true` once the connection is gone. */
  readonly closed: boolean
  /** Bytes written but not yet taken by the kernel. */
  readonly bufferedAmount: number
  /** Sends one message (queued in order when the connection is not open yet). */
  send(kind: 'text' | 'binary', data: Uint8Array): SendStatus
  /** Starts the close handshake with `code` and `reason`. */
  close(code?: number, reason?: string): void
  /** Drops the connection at once, without a close handshake. */
  terminate(): void
  /** Stops delivering inbound messages until {@link resume} (calls nest). */
  pause(): void
  /** Undoes one {@link pause}. */
  resume(): void
}

/** Limits, timeouts and callbacks every transport accepts. All times are in ms. */
export interface TransportOptions {
  /** Largest request head (request line + headers), bytes. Over it: 431 (414 for the URI alone). Default 8 KiB. */
  maxHeadersLen: number
  /** Largest request body, bytes. Over it: 413 (before any body is read when the length is declared). Default 1 MiB. */
  maxBodyLen: number
  /** Time allowed from a request's first byte to the end of its head. Then: 408 and close. Default 20 s. */
  headersTimeout: number
  /** Time allowed for a whole request, head and body; the body must also keep arriving (no gap longer than `headersTimeout`). Then: 408 and close. Default 300 s. */
  requestTimeout: number
  /** How long an idle keep-alive connection is kept. Default 5 s. */
  keepAliveTimeout: number
  /** How long a peer may leave written bytes unread before it is dropped. Default 30 s. */
  sendTimeout: number
  /** Requests read ahead on one connection while earlier ones are being answered. Default 32. */
  maxPipelinedRequests: number
  /** Unsent bytes on one connection above which reading from it stops until it drains. Default 64 KiB. */
  writeHighWaterMark: number
  /** Largest request body given to a sink from `onBodyStart`, bytes. Over it: 413. Default 1 GiB. */
  maxStreamedBodyLen: number
  /** Called for each complete request, on the IO thread. Must not block. */
  onRequest(request: TransportRequest, response: ResponseWriter): void
  /**
   * Called when a request's head is complete and a body follows: return a {@link BodySink} to
   * receive the body as it arrives (limited by `maxStreamedBodyLen` instead of `maxBodyLen`),
   * or `null` to have it collected into `request.body` as usual. The sink may answer early
   * through `response` (an error: the rest of the body is then ignored). Must not block.
   */
  onBodyStart?(head: BodyHead, response: ResponseWriter, control: BodyControl): BodySink | null
  /** Called when a client sent something the server refused (after the error response is queued). */
  onClientError?(error: Error & { code?: string; status?: number }, remoteAddress: string): void
  /** TLS on every listener (HTTPS, WSS); none by default. */
  tls?: TlsOptions
}

/** @internal `o` without its `undefined` fields (so they don't override defaults when spread). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] !== undefined) out[key] = o[key]
  return out
}

/** Defaults for {@link TransportOptions} limits and timeouts. */
export const DEFAULT_TRANSPORT_OPTIONS = Object.freeze({
  maxHeadersLen: 8 * 1024,
  maxBodyLen: 1024 * 1024,
  headersTimeout: 20_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 5_000,
  sendTimeout: 30_000,
  maxPipelinedRequests: 32,
  writeHighWaterMark: 64 * 1024,
  maxStreamedBodyLen: 1024 * 1024 * 1024,
})

/**
 * TLS for every listener of a transport: PEM key and certificate chain (strings or bytes), and
 * optionally the CA chain to send and the key's passphrase — what both transports take.
 */
export interface TlsOptions {
  /** Private key, PEM. */
  key: string | Uint8Array
  /** Certificate chain, PEM (the server's certificate first). */
  cert: string | Uint8Array
  /** Extra CA certificates, PEM. */
  ca?: string | Uint8Array
  /** Passphrase of an encrypted `key`. */
  passphrase?: string
}

/**
 * Where a transport listens: a TCP port on a host (IPv4 or IPv6 address or name; all IPv4
 * interfaces when absent), or a unix domain socket's path.
 */
export type ListenTarget = { port: number; host?: string } | { path: string }

/** Where a transport listens, once bound: the TCP address and port, or the socket's path. */
export type ListenAddress =
  | { address: string; port: number; family: 'IPv4' | 'IPv6'; tls: boolean }
  | { path: string; tls: boolean }

/** A transport: its listening sockets and their connections, on the IO thread. */
export interface Transport {
  /** The transport's name: `'node'`, `'uws'`. */
  readonly name: string
  /**
   * Starts listening on `port` of `host`; resolves with the bound port (an ephemeral one for
   * port 0). The same as `listenOn({ port, host })`.
   */
  listen(port: number, host?: string): Promise<number>
  /**
   * Starts listening on one more target (TCP or a unix socket); resolves with where. Each call
   * adds a listener; `close()` closes them all. Rejects with `ERR_MUMMY_LISTEN` (the address
   * in use, a path that cannot be bound).
   */
  listenOn(target: ListenTarget): Promise<ListenAddress>
  /** Where it listens, in the order the listeners were added (none once closed). */
  readonly addresses: readonly ListenAddress[]
  /**
   * Graceful close: stop accepting, close idle connections, let in-flight requests finish
   * and be answered (the last answer on each connection with `Connection: close`), then
   * resolve. A request whose body is still arriving is answered `503` at once. At `timeout` ms
   * (default 10 000) every request still unanswered gets `503` with `Connection: close` —
   * never silence; a streamed response still under way and a WebSocket are cut then. What is
   * still open 2 s later is destroyed.
   */
  close(timeout?: number): Promise<void>
  /** Open connections. */
  readonly connections: number
  /** The first TCP listener's bound port (still after `close`), or 0 before one is bound. */
  readonly port: number
  /** Subscribes `ws` to `topic` (kept until unsubscribed or closed); `false` if it already was. */
  subscribe(ws: TransportWebSocket, topic: string): boolean
  /** Unsubscribes `ws` from `topic`; `false` if it was not subscribed. */
  unsubscribe(ws: TransportWebSocket, topic: string): boolean
  /**
   * Writes a message to every WebSocket subscribed to `topic` except `except`, framed once.
   * Returns how many subscribers it went to.
   */
  publish(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    except?: TransportWebSocket,
  ): number
}

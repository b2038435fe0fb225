/**
 * The node:net transport: sockets from `node:net`, bytes parsed by `@mummy/parser`.
 *
 * Per connection it keeps one parser and an ordered queue of response slots, one per
 * request, created when the request's head arrives. Responses are written strictly from the
 * front of the queue, so pipelined requests are answered in order whatever order their
 * handlers finish in. All timeouts hang off one coarse {@link TimerWheel}.
 */
import { HOLD_FLUSH, releaseAtCallbackEnd } from './hold.js'
import net from 'node:net'
import tls from 'node:tls'
import { MummyError } from '@mummy/errors'
import { RequestParser, type ParserCallbacks, type RequestHead } from '@mummy/parser'
import { httpDate } from './http-date.js'
import {
  CLOSE_GRACE,
  DEFAULT_CLOSE_TIMEOUT,
  TEXT_PLAIN,
  answerBody,
  bodyTooLarge,
} from './http1/answers.js'
import { KnownLength, closesAfter, streamFraming, type StreamFraming } from './http1/framing.js'
import { isBodylessStatus, statusLine } from './status.js'
import { TimerWheel, type WheelEntry } from './timer-wheel.js'
import {
  TopicTable,
  WebSocketConnection,
  type SendStatus,
  type WebSocketEvents,
  type WebSocketSettings,
} from './websocket.js'
import {
  DEFAULT_TRANSPORT_OPTIONS,
  type BodyControl,
  type BodySink,
  type ListenAddress,
  type ListenTarget,
  type ResponseWriter,
  type StreamEvents,
  type Transport,
  type TransportStream,
  type TransportOptions,
  type TransportRequest,
  type TransportWebSocket,
  stripUndefined,
} from './transport.js'

const EMPTY = Buffer.alloc(0)
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1')
const kConnection = Symbol('mummy.connection')

/** What a connection is waiting for; decides which timeout applies. */
const enum Phase {
  /** Between requests (keep-alive idle, or waiting for answers to earlier requests). */
  Idle,
  /** Inside a request head. */
  Head,
  /** Inside a request body. */
  Body,
}

/** One request's place in its connection's ordered response queue. */
class Slot implements ResponseWriter {
  ended = false
  status = 0
  headers: readonly string[] = []
  body: Uint8Array | string = EMPTY
  needContinue = false
  /** Handed to `onRequest` (counts toward the connection's in-flight requests). */
  dispatched = false
  /** The connection closes after this response (request asked for it, or an error). */
  close: boolean
  /** Set when the answer is a WebSocket upgrade: written as-is, then the connection switches. */
  ws: WebSocketConnection | null = null
  /** The request asked to switch protocols. */
  wantsUpgrade = false
  /** Set when the answer is a streamed response. */
  streamed: NodeStream | null = null

  constructor(
    readonly conn: Connection,
    readonly isHead: boolean,
    readonly versionMinor: 0 | 1,
    keepAlive: boolean,
  ) {
    this.close = !keepAlive
  }

  upgrade(
    head: string,
    id: number,
    settings: WebSocketSettings,
    events: WebSocketEvents,
  ): WebSocketConnection | null {
    if (this.ended) throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'response already sent')
    if (!this.wantsUpgrade || this.conn.destroyed) return null
    if (this.conn.peerEnded) {
      // The peer said it sends nothing more (FIN) before the upgrade was accepted: no WebSocket
      // can live on this connection, and the app never sees one.
      this.conn.socket.destroy()
      return null
    }
    this.ended = true
    this.status = 101
    this.body = head
    const conn = this.conn
    const topics = conn.transport.topics
    // Subscriptions end with the connection.
    const withTopics: WebSocketEvents = {
      onOpen: (ws) => events.onOpen(ws),
      onMessage: (ws, kind, data) => events.onMessage(ws, kind, data),
      onError: (ws, code, message, closeCode) => events.onError(ws, code, message, closeCode),
      onClose: (ws, code, reason) => {
        topics.removeAll(ws as WebSocketConnection)
        events.onClose(ws, code, reason)
      },
      onDrain: (ws) => events.onDrain?.(ws),
    }
    this.ws = new WebSocketConnection(id, conn.socket, settings, withTopics, () => conn.touch())
    this.conn.flush()
    return this.ws
  }

  get closed(): boolean {
    return this.conn.destroyed
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
    const framing = streamFraming(status, this.versionMinor, length)
    // An HTTP/1.0 body of unknown length has no chunked coding: it ends with the connection.
    if (close === true || framing === 'close') this.close = true
    this.status = status
    this.headers = headers
    const stream = (this.streamed = new NodeStream(
      this,
      events,
      framing,
      framing === 'length' ? length : -1,
    ))
    if (this.conn.destroyed) stream.gone()
    else this.conn.flush()
    return stream
  }

  end(
    status: number,
    headers: readonly string[],
    body?: Uint8Array | string,
    close?: boolean,
  ): void {
    if (this.ended) throw new MummyError('ERR_MUMMY_ALREADY_RESPONDED', 'response already sent')
    this.ended = true
    if (close === true) this.close = true
    this.status = status
    this.headers = headers
    this.body = body ?? EMPTY
    if (!this.conn.destroyed) this.conn.flush()
  }
}

const CRLF = Buffer.from('\r\n', 'latin1')
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1')

/**
 * A streamed response body on a node:net connection. Pieces given before the response
 * reaches the front of the connection's queue wait (framed) in `pending`; after, they go
 * straight to the socket.
 */
class NodeStream implements TransportStream {
  /** The head (and what waited) was written: the stream owns the front of the queue. */
  started = false
  ended = false
  closed = false
  pending: Buffer[] = []
  pendingBytes = 0

  /** HEAD, or a status without a body: the head alone. */
  readonly bodyless: boolean
  readonly chunked: boolean
  /** Known length: what is left of it (what goes past it is dropped). */
  readonly body: KnownLength

  constructor(
    readonly slot: Slot,
    readonly events: StreamEvents,
    /** How the body is delimited (for HEAD: as a GET's would be). */
    readonly framing: StreamFraming,
    /** The body's length when known (`Content-Length`), else -1. */
    readonly length: number,
  ) {
    this.bodyless = slot.isHead || framing === 'none'
    this.chunked = framing === 'chunked'
    if (this.bodyless) this.ended = true
    this.body = new KnownLength(this.bodyless ? 0 : length)
  }

  get bufferedAmount(): number {
    if (this.closed) return 0
    return this.started ? this.slot.conn.socket.writableLength : this.pendingBytes
  }

  write(chunk: Uint8Array | string): SendStatus {
    if (this.ended || this.closed) return 'dropped'
    const clipped = this.body.clip(chunk)
    const data = typeof clipped === 'string' ? Buffer.from(clipped, 'utf8') : clipped
    const cut = this.body.cut
    if (data.byteLength === 0)
      return cut ? 'dropped' : this.bufferedAmount > 0 ? 'buffered' : 'sent'
    const status = this.#write(data)
    return cut ? 'dropped' : status
  }

  #write(data: Uint8Array): SendStatus {
    if (!this.started) {
      if (this.chunked) this.pending.push(Buffer.from(data.byteLength.toString(16) + '\r\n'))
      this.pending.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
      if (this.chunked) this.pending.push(CRLF)
      this.pendingBytes += data.byteLength
      return 'buffered'
    }
    return this.slot.conn.writeStreamChunk(this, data)
  }

  end(): void {
    if (this.ended || this.closed) return
    this.ended = true
    // Short of its Content-Length: only closing the connection tells the client.
    if (this.body.short) this.slot.close = true
    if (this.started) this.slot.conn.flush()
  }

  abort(): void {
    if (this.closed) return
    this.slot.conn.socket.destroy()
  }

  /** Writes are held (socket corked) until the current callback's end. */
  held = false
  heldBytes = 0
  #watching = false

  hold(): void {
    if (this.held || !this.started || this.closed) return
    this.held = true
    this.slot.conn.socket.cork()
    releaseAtCallbackEnd(this)
  }

  /** Ends {@link hold}. */
  releaseHeld(): void {
    if (!this.held) return
    this.held = false
    this.heldBytes = 0
    const socket = this.slot.conn.socket
    socket.uncork()
    if (this.closed) return
    if (socket.writableLength > 0) this.notifyWhenFlushed()
    else this.events.onDrain?.()
  }

  /**
   * Calls `onDrain` once what is written so far has gone to the kernel. (The socket's own
   * 'drain' event only comes after a write passed its high-water mark, so a small backlog would
   * otherwise never be reported as gone.)
   */
  notifyWhenFlushed(): void {
    if (this.#watching || this.closed) return
    this.#watching = true
    const socket = this.slot.conn.socket
    socket.write(EMPTY, () => {
      this.#watching = false
      if (this.closed || socket.destroyed) return
      if (socket.writableLength === 0) this.events.onDrain?.()
      else this.notifyWhenFlushed()
    })
  }

  /** The connection went away before the stream was over. */
  gone(): void {
    if (this.closed) return
    this.closed = true
    this.pending = []
    this.pendingBytes = 0
    const events = this.events
    queueMicrotask(() => events.onClose(false))
  }

  /** The last byte was written. */
  finished(): void {
    if (this.closed) return
    this.closed = true
    const events = this.events
    queueMicrotask(() => events.onClose(true))
  }
}

/** State of one accepted socket. Implements the parser's callbacks itself: no closures. */
class Connection implements ParserCallbacks, WheelEntry, BodyControl {
  deadline = 0
  wheelSlot = -1
  destroyed = false
  readonly parser: RequestParser
  readonly queue: Slot[] = []
  phase = Phase.Idle
  /** When the current request's first byte (or the connection) arrived. */
  requestStart: number
  lastRead: number
  lastWrite: number
  /** Since when written bytes have been waiting on the peer (0 = none waiting). */
  writeWaitSince = 0
  /** Set when we decided to close: the socket is destroyed if still open by then. */
  graceUntil = 0
  /** Requests dispatched whose responses are not written yet. */
  inFlight = 0
  current: {
    head: RequestHead
    slot: Slot
    chunks: Buffer[]
    length: number
    sink: BodySink | null
  } | null = null
  /** Bytes the parser was paused in front of. */
  leftover: Buffer | null = null
  /** Bytes that followed an upgrade request. */
  upgradeRest: Buffer | null = null
  /** Set once the connection switched to WebSocket. */
  ws: WebSocketConnection | null = null
  readPaused = false
  /** No more requests are read from this connection (error, close requested, shutting down). */
  readStopped = false
  /** After a closing answer: what the peer still sends is read and dropped (see #flush). */
  discarding = false
  /** The peer half-closed (FIN): it sends nothing more. */
  peerEnded = false
  /** Request heads received on this connection. */
  requests = 0
  /** `close()` began before this connection's first request did: it may still come. */
  awaitingFirst = false
  readonly remoteAddress: string

  constructor(
    readonly socket: net.Socket,
    readonly transport: NodeTransport,
  ) {
    const o = transport.options
    this.parser = new RequestParser(this, {
      maxHeadersLen: o.maxHeadersLen,
      maxUriLen: o.maxHeadersLen,
      // A streamed body may be larger: the limit of each request is checked in onHead/onBody.
      maxBodyLen:
        o.onBodyStart === undefined ? o.maxBodyLen : Math.max(o.maxBodyLen, o.maxStreamedBodyLen),
    })
    this.remoteAddress = socket.remoteAddress ?? ''
    this.requestStart = this.lastRead = this.lastWrite = Date.now()
  }

  // ---- parser callbacks ----

  onHead(head: RequestHead): void {
    this.requests++
    const slot = new Slot(
      this,
      head.method === 'HEAD',
      head.versionMinor,
      // (An upgrade request closes unless it is upgraded: the client may be sending frames.)
      !closesAfter(head.keepAlive, head.upgrade, this.transport.closing, false),
    )
    this.queue.push(slot)
    const o = this.transport.options
    const hasBody = head.chunked || head.contentLength > 0
    let sink: BodySink | null = null
    if (hasBody && o.onBodyStart !== undefined) {
      sink = o.onBodyStart(
        {
          method: head.method,
          target: head.target,
          versionMinor: head.versionMinor,
          headers: head.headers,
          remoteAddress: this.remoteAddress,
          contentLength: head.chunked ? -1 : head.contentLength,
        },
        slot,
        this,
      )
    }
    this.current = { head, slot, chunks: [], length: 0, sink }
    this.phase = Phase.Body
    if (head.contentLength > (sink === null ? o.maxBodyLen : o.maxStreamedBodyLen)) {
      this.#tooLarge(slot)
      return
    }
    if (hasBody && head.expectContinue && !slot.ended) {
      slot.needContinue = true
      if (this.queue[0] === slot) this.#writeContinue(slot)
    }
  }

  onBody(chunk: Buffer): void {
    const cur = this.current
    if (cur === null || cur.slot.ended) return
    cur.length += chunk.length
    const o = this.transport.options
    if (cur.length > (cur.sink === null ? o.maxBodyLen : o.maxStreamedBodyLen)) {
      this.#tooLarge(cur.slot)
      return
    }
    if (cur.sink !== null) cur.sink.write(chunk)
    else cur.chunks.push(chunk)
  }

  /** A body over its limit: 413, and nothing more is read from this connection. */
  #tooLarge(slot: Slot): void {
    const max =
      this.current?.sink != null
        ? this.transport.options.maxStreamedBodyLen
        : this.transport.options.maxBodyLen
    this.transport.reportClientError(bodyTooLarge(max), this.remoteAddress)
    // Nothing more is read (a sink that took part of the body is aborted there).
    this.stopReading()
    slot.close = true
    if (!slot.ended) slot.end(413, TEXT_PLAIN, answerBody(413), true)
  }

  // ---- BodyControl (for a body sink) ----

  #sinkPauses = 0

  pause(): void {
    if (this.#sinkPauses++ === 0) this.pauseReading()
  }

  resume(): void {
    if (this.#sinkPauses > 0 && --this.#sinkPauses === 0) this.maybeResume()
  }

  onComplete(): boolean {
    const cur = this.current
    this.current = null
    this.phase = Phase.Idle
    if (cur === null) return false
    const { head, slot, sink } = cur
    slot.needContinue = false
    // Answered already (refused by its sink, or too large): nothing to hand over.
    if (slot.ended) return true
    if (sink !== null) sink.end()
    const body = sink !== null || cur.length === 0 ? EMPTY : ownedCopy(cur.chunks, cur.length)
    this.inFlight++
    slot.dispatched = true
    slot.wantsUpgrade = head.upgrade && head.method === 'GET'
    const request: TransportRequest = {
      method: head.method,
      target: head.target,
      versionMinor: head.versionMinor,
      headers: head.headers,
      body,
      remoteAddress: this.remoteAddress,
      keepAlive: !slot.close,
      upgrade: head.upgrade,
      // (Always present, so every request object has the same shape.)
      sink: sink ?? undefined,
    }
    if (slot.close) this.readStopped = true
    try {
      this.transport.options.onRequest(request, slot)
    } catch (err) {
      if (!slot.ended) slot.end(500, TEXT_PLAIN, answerBody(500))
      this.transport.reportError(err)
    }
    // Pause the parser when this request ends the connection, enough are queued, or the
    // output backed up while answering (a client that sends but does not read).
    return (
      this.readStopped ||
      this.readPaused ||
      this.inFlight >= this.transport.options.maxPipelinedRequests
    )
  }

  // ---- reading ----

  feed(chunk: Buffer): void {
    if (this.discarding) return
    if (this.ws !== null) {
      this.ws.feed(chunk)
      return
    }
    if (this.readStopped) {
      // Only an upgrade can still want these bytes (they arrived before reading paused).
      if (this.parser.upgraded)
        this.upgradeRest =
          this.upgradeRest === null ? chunk : Buffer.concat([this.upgradeRest, chunk])
      return
    }
    if (this.leftover !== null) {
      this.leftover = Buffer.concat([this.leftover, chunk])
      return
    }
    const wasIdle = this.parser.idle
    const n = this.parser.execute(chunk)
    if (n < 0) {
      this.#parseError()
      return
    }
    if (wasIdle && !this.parser.idle && this.phase === Phase.Idle) {
      this.phase = Phase.Head
      this.requestStart = this.lastRead
      if (this.awaitingFirst) {
        // It came: it is read and answered (with Connection: close) like any other.
        this.awaitingFirst = false
        this.graceUntil = 0
      }
    } else if (this.phase === Phase.Idle && !this.parser.idle) {
      // A new request began after the last one completed inside this chunk.
      this.phase = Phase.Head
      this.requestStart = this.lastRead
    }
    // Set by a handler that accepted the upgrade while the request was being parsed (inline
    // mode): the connection already speaks WebSocket, and the rest of this chunk is frames.
    const switched = this.ws as WebSocketConnection | null
    if (switched !== null) {
      if (n < chunk.length) switched.feed(chunk.subarray(n))
      return
    }
    if (this.parser.upgraded) {
      // Bytes after an upgrade request belong to the next protocol (if the handler accepts it).
      this.readStopped = true
      this.pauseReading()
      if (n < chunk.length) this.upgradeRest = chunk.subarray(n)
    } else if (n < chunk.length && !this.readStopped) {
      this.leftover = chunk.subarray(n)
      this.pauseReading()
    } else if (this.readStopped) {
      this.pauseReading()
    }
  }

  pauseReading(): void {
    if (this.readPaused || this.discarding) return
    this.readPaused = true
    this.socket.pause()
  }

  /** Resumes reading when nothing holds it back: in-flight room and drained output. */
  maybeResume(): void {
    if (!this.readPaused || this.destroyed || this.readStopped || this.#sinkPauses > 0) return
    const o = this.transport.options
    if (
      this.inFlight >= o.maxPipelinedRequests ||
      this.socket.writableLength > o.writeHighWaterMark
    )
      return
    this.readPaused = false
    const rest = this.leftover
    if (rest !== null) {
      this.leftover = null
      this.feed(rest)
      if (this.readPaused || this.readStopped) return
    }
    this.socket.resume()
  }

  #parseError(): void {
    const err = this.parser.error
    const status = err?.status ?? 400
    const slot = this.stopReading() ?? this.addSlot()
    slot.close = true
    if (err) this.transport.reportClientError(err, this.remoteAddress)
    if (!slot.ended) slot.end(status, TEXT_PLAIN, answerBody(status))
  }

  // ---- writing ----

  #writeContinue(slot: Slot): void {
    slot.needContinue = false
    this.socket.write(CONTINUE)
  }

  /** Writes every finished response at the front of the queue, in order, in one syscall. */
  flush(): void {
    const queue = this.queue
    const socket = this.socket
    let corked = false
    let closing = false
    while (queue.length > 0) {
      const slot = queue[0]!
      if (!slot.ended) {
        if (slot.needContinue) this.#writeContinue(slot)
        break
      }
      if (!corked) {
        socket.cork()
        corked = true
      }
      const stream = slot.streamed
      if (stream !== null && !stream.closed) {
        if (!stream.started) {
          stream.started = true
          this.#writeHead(slot, slot.close, stream)
          for (const part of stream.pending) socket.write(part)
          stream.pending = []
          stream.pendingBytes = 0
        }
        // A stream holds the front of the queue until it ends.
        if (!stream.ended) break
        if (stream.chunked && !stream.bodyless) socket.write(LAST_CHUNK)
      }
      queue.shift()
      if (slot.dispatched) this.inFlight--
      if (slot.ws !== null) {
        socket.write(slot.body as string, 'latin1')
        socket.uncork()
        this.#switchToWebSocket(slot.ws)
        return
      }
      closing = slot.close
      if (stream !== null) stream.finished()
      else this.#write(slot, closing)
      if (closing) break
    }
    if (!corked) return
    socket.uncork()
    this.lastWrite = Date.now()
    if (socket.writableLength > 0 && this.writeWaitSince === 0) this.writeWaitSince = this.lastWrite
    if (closing) {
      this.readStopped = true
      queue.length = 0
      // Once the last byte is written, the peer gets CLOSE_GRACE to close its side; one that
      // lingers (say, still pushing a refused upload) is then dropped. Meanwhile what it sends
      // is read and dropped: closing a socket with unread input resets it, and the peer would
      // likely lose the answer.
      socket.end(() => {
        if (this.destroyed) return
        this.graceUntil = Date.now() + CLOSE_GRACE
        this.touch()
      })
      this.discarding = true
      this.leftover = this.upgradeRest = null
      this.readPaused = false
      socket.resume()
      return
    }
    if (socket.writableLength > this.transport.options.writeHighWaterMark) this.pauseReading()
    else this.maybeResume()
    this.touch()
  }

  /**
   * Re-files this connection in the timer wheel when its due time moved earlier (the wheel
   * handles later moves lazily on its own).
   */
  touch(): void {
    if (this.destroyed) return
    const due = this.dueAt()
    if (due === 0 || (this.wheelSlot !== -1 && this.deadline !== 0 && due >= this.deadline)) return
    const wheel = this.transport.wheel
    wheel.remove(this)
    this.deadline = due
    wheel.add(this)
  }

  #switchToWebSocket(ws: WebSocketConnection): void {
    this.ws = ws
    this.queue.length = 0
    this.current = null
    this.inFlight = 0
    this.graceUntil = 0
    this.writeWaitSince = 0
    const rest = this.upgradeRest
    this.upgradeRest = null
    this.readPaused = false
    this.socket.resume()
    ws.start(rest)
    // The FIN came while the 101 waited its turn: the WebSocket opened, and closes at once
    // (its close event follows when the socket is gone), as if the FIN came just after.
    if (this.peerEnded) this.socket.end()
    this.touch()
  }

  /** Writes a streamed response's head, with its framing (for HEAD, the one a GET would get). */
  #writeHead(slot: Slot, close: boolean, stream: NodeStream): void {
    const { status, headers } = slot
    let head = statusLine(status)
    for (let i = 0; i + 1 < headers.length; i += 2)
      head += headers[i] + ': ' + headers[i + 1] + '\r\n'
    head += 'Date: ' + httpDate() + '\r\n'
    if (stream.framing === 'length') head += 'Content-Length: ' + stream.length + '\r\n'
    else if (stream.framing === 'chunked') head += 'Transfer-Encoding: chunked\r\n'
    if (close) head += 'Connection: close\r\n'
    else if (slot.versionMinor === 0) head += 'Connection: keep-alive\r\n'
    this.socket.write(head + '\r\n', 'latin1')
  }

  /** Writes one piece of the stream that owns the front of the queue. */
  writeStreamChunk(stream: NodeStream, data: Uint8Array): SendStatus {
    const socket = this.socket
    if (this.destroyed || socket.destroyed) return 'dropped'
    if (stream.chunked) {
      socket.cork()
      socket.write(data.byteLength.toString(16) + '\r\n', 'latin1')
      socket.write(data)
      socket.write(CRLF)
      socket.uncork()
    } else socket.write(data)
    this.lastWrite = Date.now()
    if (stream.held) {
      stream.heldBytes += data.byteLength
      if (stream.heldBytes < HOLD_FLUSH) return 'buffered'
      // Enough for one write: let it go now.
      stream.heldBytes = 0
      socket.uncork()
      socket.cork()
    }
    const waiting = socket.writableLength
    if (waiting === 0) return 'sent'
    stream.notifyWhenFlushed()
    if (this.writeWaitSince === 0) {
      this.writeWaitSince = this.lastWrite
      this.touch()
    }
    if (waiting > this.transport.options.writeHighWaterMark) this.pauseReading()
    return 'buffered'
  }

  #write(slot: Slot, close: boolean): void {
    const { status, headers, body } = slot
    let head = statusLine(status)
    for (let i = 0; i + 1 < headers.length; i += 2)
      head += headers[i] + ': ' + headers[i + 1] + '\r\n'
    head += 'Date: ' + httpDate() + '\r\n'
    const bodyless = isBodylessStatus(status)
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
    if (!bodyless) head += 'Content-Length: ' + length + '\r\n'
    if (close) head += 'Connection: close\r\n'
    else if (slot.versionMinor === 0) head += 'Connection: keep-alive\r\n'
    head += '\r\n'
    if (bodyless || slot.isHead || length === 0) {
      this.socket.write(head, 'latin1')
    } else if (typeof body === 'string') {
      this.socket.write(head, 'latin1')
      this.socket.write(body, 'utf8')
    } else {
      this.socket.write(head, 'latin1')
      this.socket.write(body)
    }
  }

  onDrain(): void {
    if (this.ws !== null) this.ws.drained()
    this.writeWaitSince = 0
    this.lastWrite = Date.now()
    this.maybeResume()
    const stream = this.queue[0]?.streamed
    if (stream != null && stream.started && !stream.closed) stream.events.onDrain?.()
  }

  // ---- timeouts ----

  /** The moment this connection times out in its current state (0 = no client timeout now). */
  dueAt(): number {
    if (this.ws !== null) return this.ws.dueAt()
    const o = this.transport.options
    if (this.graceUntil !== 0) return this.graceUntil
    if (this.writeWaitSince !== 0) return this.writeWaitSince + o.sendTimeout
    switch (this.phase) {
      case Phase.Head:
        return this.requestStart + o.headersTimeout
      case Phase.Body:
        return Math.min(this.requestStart + o.requestTimeout, this.lastRead + o.headersTimeout)
      default:
        // Waiting on our own handlers is not the client's fault.
        if (this.queue.length > 0 || this.readStopped) return 0
        return Math.max(this.lastRead, this.lastWrite) + o.keepAliveTimeout
    }
  }

  onTimeout(now: number): void {
    if (this.destroyed) return
    const due = this.dueAt()
    if (this.ws !== null) {
      if (due !== 0 && due <= now) this.ws.onTimeout(now)
      const next = this.dueAt()
      this.deadline = next
      if (next !== 0) this.transport.wheel.add(this)
      return
    }
    if (due === 0 || due > now) {
      this.deadline = due
      this.transport.wheel.add(this)
      return
    }
    if (this.graceUntil !== 0 || this.writeWaitSince !== 0) {
      this.socket.destroy()
      return
    }
    this.graceUntil = now + CLOSE_GRACE
    this.deadline = this.graceUntil
    this.transport.wheel.add(this)
    if (this.phase !== Phase.Idle && this.inFlight === 0) {
      // Nothing else is owed on this connection: a response is still possible, so say why.
      const slot = this.stopReading() ?? this.addSlot()
      slot.close = true
      slot.end(408, TEXT_PLAIN, answerBody(408))
      return
    }
    this.dropSlot(this.stopReading())
  }

  /** Appends a slot not tied to a parsed request (an error answer). */
  addSlot(): Slot {
    const slot = new Slot(this, false, 1, false)
    this.queue.push(slot)
    return slot
  }

  /**
   * Stops reading requests for good. Returns the slot of a request still being received (it
   * is the last in the queue): the caller answers it or removes it with {@link dropSlot}.
   */
  stopReading(): Slot | undefined {
    this.readStopped = true
    this.pauseReading()
    this.phase = Phase.Idle
    const cur = this.current
    this.current = null
    // A body that was going to a sink will not be completed.
    if (cur !== null && cur.sink !== null && !cur.slot.ended) cur.sink.abort()
    const slot = cur?.slot
    if (slot !== undefined) slot.needContinue = false
    return slot
  }

  /**
   * `close()` began: what was asked is answered (the last answer carries `Connection: close`),
   * an idle connection ends now, and a request whose body is still arriving gets a 503 at once.
   */
  shutdown(): void {
    if (this.requests === 0 && this.parser.idle && this.leftover === null) {
      // Accepted before close(), its first request maybe on its way: it gets FIRST_REQUEST_WAIT
      // to begin (then it is answered, with Connection: close), else it is closed.
      this.awaitingFirst = true
      this.graceUntil = Date.now() + FIRST_REQUEST_WAIT
      this.touch()
      return
    }
    const receiving = this.stopReading()
    if (receiving === undefined) this.dropSlot(undefined)
    else if (receiving.ended) receiving.close = true
    else receiving.end(503, TEXT_PLAIN, answerBody(503), true)
  }

  /**
   * `close()` reached its deadline: every request still unanswered gets a 503 (the last one
   * with `Connection: close`). A streamed response still under way cannot be answered again:
   * its connection is cut (the client sees a truncated body), as is a WebSocket.
   */
  closeDeadline(): void {
    if (this.destroyed) return
    if (this.ws !== null || this.queue.some((s) => s.streamed !== null && !s.streamed.closed)) {
      this.socket.destroy()
      return
    }
    // A head still arriving: its request gets the 503 too.
    if (this.phase === Phase.Head && !this.readStopped) this.addSlot()
    this.stopReading()
    const unanswered = this.queue.filter((slot) => !slot.ended)
    for (let i = 0; i < unanswered.length; i++) {
      const last = i === unanswered.length - 1
      unanswered[i]!.end(503, TEXT_PLAIN, answerBody(503), last)
    }
  }

  /** Removes a never-answered slot (the last one) and closes once the rest is written. */
  dropSlot(slot: Slot | undefined): void {
    if (slot !== undefined && this.queue[this.queue.length - 1] === slot) this.queue.pop()
    const last = this.queue[this.queue.length - 1]
    if (last === undefined) this.socket.end()
    else last.close = true
  }

  cleanup(): void {
    this.destroyed = true
    const cur = this.current
    if (cur !== null && cur.sink !== null && !cur.slot.ended) cur.sink.abort()
    if (this.ws !== null) this.ws.socketClosed()
    else
      for (const slot of this.queue) {
        slot.ws?.socketClosed()
        slot.streamed?.gone()
      }
    this.transport.wheel.remove(this)
    this.queue.length = 0
    this.current = null
    this.leftover = null
  }
}

/**
 * After `close()` began, how long a connection that has not sent its first request yet waits
 * for it (a client that connected just before the close and is about to send).
 */
const FIRST_REQUEST_WAIT = 1000

function onData(this: net.Socket, chunk: Buffer): void {
  const conn = (this as SocketWithConn)[kConnection]
  conn.lastRead = Date.now()
  conn.feed(chunk)
  conn.touch()
}
function onEnd(this: net.Socket): void {
  const conn = (this as SocketWithConn)[kConnection]
  conn.peerEnded = true
  // Both sides are done: node:net closes the socket once our last byte is out.
  if (conn.discarding) return
  if (conn.ws !== null) {
    // The peer half-closed without a close frame: close our side too.
    this.end()
    return
  }
  const front = conn.queue[0]?.streamed
  if (front != null && front.started && !front.ended) {
    // The peer closed its side while a streamed body is under way: it has gone (a stream has
    // no end the peer could be waiting for). Writing on would only find out later.
    this.destroy()
    return
  }
  conn.parser.finish()
  // A half-received request is dropped; what was fully asked is still answered, then we close.
  conn.dropSlot(conn.stopReading())
}
function onDrain(this: net.Socket): void {
  ;(this as SocketWithConn)[kConnection].onDrain()
}
function onError(this: net.Socket): void {
  this.destroy()
}
function onClose(this: net.Socket): void {
  const conn = (this as SocketWithConn)[kConnection]
  conn.cleanup()
  conn.transport.forget(conn)
}
type SocketWithConn = net.Socket & { [kConnection]: Connection }

/**
 * The pure-TypeScript transport on `node:net`.
 *
 * @example
 * ```ts
 * const transport = new NodeTransport({
 *   onRequest(req, res) { res.end(200, ['Content-Type', 'text/plain'], 'hi') },
 * })
 * const port = await transport.listen(0)
 * await transport.close()
 * ```
 */
export class NodeTransport implements Transport {
  readonly name = 'node'
  /** Effective options (defaults filled in). */
  readonly options: TransportOptions
  /** The timer wheel all of this transport's timeouts hang off. */
  readonly wheel = new TimerWheel(250)
  /** Pub/sub: topic → subscribed WebSocket connections. */
  readonly topics = new TopicTable()
  /** `true` once {@link close} was called. */
  closing = false
  /** One server per listener. */
  readonly #servers: net.Server[] = []
  readonly #addresses: ListenAddress[] = []
  /** The first TCP listener's port (kept after close). */
  #port = 0
  readonly #conns = new Set<Connection>()
  #closed: Promise<void> | null = null
  #onAllClosed: (() => void) | null = null

  constructor(options: Partial<TransportOptions> & Pick<TransportOptions, 'onRequest'>) {
    this.options = { ...DEFAULT_TRANSPORT_OPTIONS, ...stripUndefined(options) } as TransportOptions
  }

  /** A server for one more listener: TLS when the transport has `tls`. */
  #createServer(): net.Server {
    const accept = (socket: net.Socket): void => this.#accept(socket)
    const secure = this.options.tls
    if (secure === undefined)
      return net.createServer({ allowHalfOpen: true, noDelay: true }, accept)
    let server: tls.Server
    try {
      server = tls.createServer(
        {
          key: toPem(secure.key),
          cert: toPem(secure.cert),
          ...(secure.ca === undefined ? {} : { ca: toPem(secure.ca) }),
          ...(secure.passphrase === undefined ? {} : { passphrase: secure.passphrase }),
          allowHalfOpen: true,
          noDelay: true,
          // A handshake is part of the head's time.
          handshakeTimeout: this.options.headersTimeout,
        },
        accept,
      )
    } catch (error) {
      throw new MummyError(
        'ERR_MUMMY_LISTEN',
        `cannot use the tls key and certificate: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      )
    }
    // A failed handshake (a plain-HTTP client, a bad certificate) costs the socket only.
    server.on('tlsClientError', (err: Error & { code?: string }, socket) => {
      this.reportClientError(err, socket.remoteAddress ?? '')
      socket.destroy()
    })
    return server
  }

  get connections(): number {
    return this.#conns.size
  }

  get port(): number {
    return this.#port
  }

  get addresses(): readonly ListenAddress[] {
    return this.#addresses
  }

  async listen(port: number, host?: string): Promise<number> {
    const address = await this.listenOn(host === undefined ? { port } : { port, host })
    return 'port' in address ? address.port : 0
  }

  listenOn(target: ListenTarget): Promise<ListenAddress> {
    const server = this.#createServer()
    const where = 'path' in target ? target.path : `${target.host ?? ''}:${target.port}`
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new MummyError('ERR_MUMMY_LISTEN', `cannot listen on ${where}: ${err.message}`, {
            cause: err,
          }),
        )
      server.once('error', onError)
      const ready = (): void => {
        server.off('error', onError)
        const bound = server.address()
        const secure = this.options.tls !== undefined
        const address: ListenAddress =
          typeof bound === 'object' && bound !== null
            ? {
                address: bound.address,
                port: bound.port,
                family: bound.family === 'IPv6' ? 'IPv6' : 'IPv4',
                tls: secure,
              }
            : { path: typeof bound === 'string' ? bound : where, tls: secure }
        this.#servers.push(server)
        this.#addresses.push(address)
        if (this.#port === 0 && 'port' in address) this.#port = address.port
        resolve(address)
      }
      if ('path' in target) server.listen({ path: target.path }, ready)
      else server.listen({ port: target.port, host: target.host }, ready)
    })
  }

  close(timeout = DEFAULT_CLOSE_TIMEOUT): Promise<void> {
    if (this.#closed !== null) return this.#closed
    this.closing = true
    this.#closed = new Promise<void>((resolve) => {
      let pending = 2
      let hard: NodeJS.Timeout | undefined
      const done = (): void => {
        if (--pending === 0) {
          clearTimeout(deadline)
          clearTimeout(hard)
          this.wheel.stop()
          resolve()
        }
      }
      // At the deadline every request still unanswered gets a 503; CLOSE_GRACE later, whatever
      // is still open is destroyed.
      const deadline = setTimeout(() => {
        for (const conn of [...this.#conns]) conn.closeDeadline()
        hard = setTimeout(() => {
          for (const conn of this.#conns) conn.socket.destroy()
        }, CLOSE_GRACE)
        hard.unref()
      }, timeout)
      deadline.unref()
      // (Each server's close also removes its unix socket file.)
      let servers = this.#servers.length + 1
      const serverClosed = (): void => {
        if (--servers === 0) done()
      }
      for (const server of this.#servers) server.close(serverClosed)
      this.#addresses.length = 0
      serverClosed()
      this.#onAllClosed = done
      for (const conn of [...this.#conns]) {
        if (conn.ws !== null) conn.ws.close(1001, 'server shutting down')
        else conn.shutdown()
      }
      if (this.#conns.size === 0) done()
    })
    return this.#closed
  }

  subscribe(ws: TransportWebSocket, topic: string): boolean {
    return this.topics.subscribe(ws as WebSocketConnection, topic)
  }

  unsubscribe(ws: TransportWebSocket, topic: string): boolean {
    return this.topics.unsubscribe(ws as WebSocketConnection, topic)
  }

  publish(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    except?: TransportWebSocket,
  ): number {
    return this.topics.publish(topic, kind, data, except as WebSocketConnection | undefined)
  }

  #accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy()
      return
    }
    const conn = new Connection(socket, this)
    ;(socket as SocketWithConn)[kConnection] = conn
    this.#conns.add(conn)
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('drain', onDrain)
    socket.on('error', onError)
    socket.on('close', onClose)
    conn.deadline = conn.requestStart + this.options.headersTimeout
    this.wheel.add(conn)
  }

  /** @internal */
  forget(conn: Connection): void {
    this.#conns.delete(conn)
    if (this.closing && this.#conns.size === 0 && this.#onAllClosed !== null) {
      const done = this.#onAllClosed
      this.#onAllClosed = null
      done()
    }
  }

  /** @internal */
  reportClientError(err: Error & { code?: string; status?: number }, remoteAddress: string): void {
    try {
      this.options.onClientError?.(err, remoteAddress)
    } catch {
      // A logging hook must never take the IO thread down.
    }
  }

  /** @internal */
  reportError(err: unknown): void {
    this.reportClientError(err instanceof Error ? err : new Error(String(err)), '')
  }
}

/** Copies `chunks` into a buffer that owns its whole ArrayBuffer (never a pooled slab), so it can be transferred. */
function ownedCopy(chunks: readonly Buffer[], length: number): Buffer {
  const out = Buffer.allocUnsafeSlow(length)
  let offset = 0
  for (const chunk of chunks) {
    chunk.copy(out, offset)
    offset += chunk.length
  }
  return out
}

/** PEM bytes or text as node:tls takes them. */
function toPem(pem: string | Uint8Array): string | Buffer {
  return typeof pem === 'string' ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength)
}

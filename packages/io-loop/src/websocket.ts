/**
 * A WebSocket connection on the IO thread: frames in through `@mummy/websocket`'s receiver,
 * frames out through its sender; pings answered here (pongs coalesced), the close handshake
 * completed here, idle connections pinged then closed, and output bounded by
 * `maxBackpressure`. User code never runs here: events go to {@link WebSocketEvents}.
 */
import { HOLD_FLUSH, releaseAtCallbackEnd } from './hold.js'
import type net from 'node:net'
import type {
  SendStatus,
  TransportWebSocket,
  WebSocketEvents,
  WebSocketSettings,
} from './transport.js'

// (Defined with the transport contract; also reachable from here.)
export {
  DEFAULT_WEBSOCKET_SETTINGS,
  type BackpressurePolicy,
  type InboundKind,
  type SendStatus,
  type WebSocketEvents,
  type WebSocketSettings,
} from './transport.js'
import {
  CloseCode,
  FrameReceiver,
  Opcode,
  encodeClose,
  encodeFrame,
  encodeMessage,
  type PerMessageDeflate,
  type ReceiverCallbacks,
} from '@mummy/websocket'

/** Time the peer gets to answer our close frame before the socket is destroyed. */
const CLOSE_TIMEOUT = 5_000

/**
 * One WebSocket connection. Created by the transport when a handler accepted an upgrade;
 * owned by the IO thread.
 */
export class WebSocketConnection implements ReceiverCallbacks, TransportWebSocket {
  /** The id the server gave this connection (stable for its lifetime). */
  readonly id: number
  /** Topics this connection is subscribed to (maintained by {@link TopicTable}). */
  readonly topics = new Set<string>()
  /** `true` once the 101 was written and events flow. */
  open = false
  /** `true` once a close frame was sent or the socket went away. */
  closing = false
  /** `true` once {@link WebSocketEvents.onClose} was called. */
  closed = false
  readonly #socket: net.Socket
  readonly #settings: WebSocketSettings
  readonly #events: WebSocketEvents
  readonly #receiver: FrameReceiver
  #lastRead = Date.now()
  #pingSent = false
  #closeSentAt = 0
  #closeCode = CloseCode.Abnormal as number
  #closeReason = ''
  #pongs: Buffer[] = []
  #paused = 0
  /** Sends given before the 101 was written (kept in order, written right after it). */
  #early: Buffer[][] | null = []
  /** Writes are held (socket corked) until the current callback's end; see {@link holdWrites}. */
  #held = false
  #heldBytes = 0

  readonly #touch: () => void

  /** @internal Created by the transport; `touch` re-files the connection's deadline. */
  constructor(
    id: number,
    socket: net.Socket,
    settings: WebSocketSettings,
    events: WebSocketEvents,
    touch: () => void,
  ) {
    this.id = id
    this.#touch = touch
    this.#socket = socket
    this.#settings = settings
    this.#events = events
    this.#receiver = new FrameReceiver(this, {
      maxMessageLen: settings.maxMessageLen,
      deflate: settings.deflate,
    })
  }

  /** The connection's permessage-deflate state, when negotiated. */
  get deflate(): PerMessageDeflate | null {
    return this.#settings.deflate
  }

  /** Bytes written but not yet taken by the kernel. */
  get bufferedAmount(): number {
    return this.#socket.writableLength
  }

  /** @internal Called by the transport once the 101 is on the wire. */
  start(rest: Buffer | null): void {
    this.open = true
    const early = this.#early
    this.#early = null
    this.#events.onOpen(this)
    if (early !== null && early.length > 0) {
      this.#socket.cork()
      for (const frame of early) for (const part of frame) this.#socket.write(part)
      this.#socket.uncork()
    }
    if (rest !== null && rest.length > 0) this.feed(rest)
  }

  /** @internal Bytes from the socket. */
  feed(chunk: Buffer): void {
    this.#lastRead = Date.now()
    this.#pingSent = false
    if (this.closed) return
    if (!this.#receiver.execute(chunk)) {
      const err = this.#receiver.error!
      const closeCode = err.closeCode ?? CloseCode.ProtocolError
      this.#events.onError(this, err.code, err.message, closeCode)
      this.#sendClose(closeCode, '')
      this.#closeCode = closeCode
      this.#socket.end()
    }
  }

  // ---- receiver callbacks ----

  onMessage(kind: 'text' | 'binary', data: Buffer): void {
    this.#events.onMessage(this, kind, data)
  }

  onPing(data: Buffer): void {
    // Every ping gets its pong, but a flood (more than MAX_PONGS before we get to write) gets
    // the latest payload once for the rest: bounded memory, and the peer still learns we live.
    const pongs = this.#pongs
    if (pongs.length === 0) setImmediate(flushPongs, this)
    if (pongs.length < MAX_PONGS) pongs.push(Buffer.from(data))
    else pongs[MAX_PONGS - 1] = Buffer.from(data)
    this.#events.onMessage(this, 'ping', data)
  }

  onPong(data: Buffer): void {
    this.#events.onMessage(this, 'pong', data)
  }

  onClose(code: number | null, reason: string): void {
    // The peer started (or answered) the close handshake.
    this.#closeCode = code ?? CloseCode.NoStatus
    this.#closeReason = reason
    if (this.#closeSentAt === 0) this.#sendClose(code ?? undefined, '')
    // The server closes the TCP connection first (RFC 6455 §7.1.1).
    this.#socket.end()
  }

  /** @internal */
  writePongs(): void {
    const pongs = this.#pongs
    this.#pongs = []
    if (this.closing) return
    for (const data of pongs) this.#write(encodeFrame(Opcode.Pong, data))
  }

  // ---- sending ----

  /**
   * Sends one message. Returns `sent` when it went to the kernel at once, `buffered` when it
   * waits in the socket's queue, `dropped` when the connection is closing or over
   * `maxBackpressure` (with policy `close`, the connection is then closed with 1008).
   */
  send(kind: 'text' | 'binary', data: Uint8Array): SendStatus {
    if (this.closing) return 'dropped'
    if (this.#overLimit()) return 'dropped'
    return this.#write(encodeMessage(kind, data, this.#settings.deflate))
  }

  /**
   * Sends a message framed once for many connections (a publish). `frame` must be a whole,
   * unmasked frame; with `compressed`, RSV1 is set and it is only valid on connections whose
   * deflate `cacheKey` matches.
   */
  sendFrame(frame: readonly Buffer[]): SendStatus {
    if (this.closing) return 'dropped'
    if (this.#overLimit()) return 'dropped'
    return this.#write(frame)
  }

  /** Sends a ping. */
  ping(data: Uint8Array = Buffer.alloc(0)): SendStatus {
    if (this.closing) return 'dropped'
    return this.#write(encodeFrame(Opcode.Ping, data))
  }

  /**
   * Starts the close handshake: sends a close frame and waits (up to 5 s) for the peer's.
   * Further sends are dropped.
   */
  close(code: number = CloseCode.Normal, reason = ''): void {
    if (this.closing) return
    this.#closeCode = code
    this.#closeReason = reason
    this.#sendClose(code, reason)
  }

  /** Destroys the socket at once, without a close handshake. */
  terminate(): void {
    this.closing = true
    this.#socket.destroy()
  }

  /** Stops reading from the peer (inbound flow control); calls nest. */
  pause(): void {
    if (this.#paused++ === 0) this.#socket.pause()
  }

  /** Undoes one {@link pause}. */
  resume(): void {
    if (this.#paused > 0 && --this.#paused === 0 && !this.closed) this.#socket.resume()
  }

  #overLimit(): boolean {
    if (this.#socket.writableLength <= this.#settings.maxBackpressure) return false
    if (this.#settings.backpressurePolicy === 'close') {
      this.#closeCode = CloseCode.PolicyViolation
      this.#sendClose(CloseCode.PolicyViolation, 'backpressure')
      // A peer that does not read will not read our close frame either.
      this.#closeSentAt = Date.now() - CLOSE_TIMEOUT + 1000
    }
    return true
  }

  #sendClose(code: number | undefined, reason: string): void {
    if (this.#closeSentAt !== 0 || this.#socket.destroyed) return
    this.closing = true
    this.#closeSentAt = Date.now()
    this.#touch()
    let frame: Buffer
    try {
      frame = encodeClose(code, reason)
    } catch {
      frame = encodeClose(CloseCode.Normal, '')
    }
    if (!this.open && this.#early !== null) this.#early.push([frame])
    else this.#socket.write(frame)
  }

  /**
   * @internal Holds this connection's writes until the IO thread finishes what it is doing now
   * (`process.nextTick`), so that many messages written in one go — a worker's batch of
   * publishes — leave in one `writev` instead of one syscall each. At most 32 KiB are held:
   * more goes out at once, so holding never makes a reader that keeps up look slow.
   */
  holdWrites(): void {
    if (this.#held || !this.open || this.closing) return
    this.#held = true
    this.#socket.cork()
    releaseAtCallbackEnd(this)
  }

  /** @internal Ends {@link holdWrites}. */
  releaseHeld(): void {
    if (!this.#held) return
    this.#held = false
    this.#heldBytes = 0
    this.#socket.uncork()
  }

  #write(frame: readonly Buffer[]): SendStatus {
    if (!this.open) {
      // Not open yet: keep the order, write right after the 101.
      this.#early?.push([...frame])
      return 'buffered'
    }
    const socket = this.#socket
    if (frame.length === 1) socket.write(frame[0]!)
    else {
      socket.cork()
      for (const part of frame) socket.write(part)
      socket.uncork()
    }
    if (this.#held) {
      for (const part of frame) this.#heldBytes += part.length
      if (this.#heldBytes >= HOLD_FLUSH) {
        // Enough for one write: let it go now (held bytes would count as backpressure).
        this.#heldBytes = 0
        socket.uncork()
        socket.cork()
      }
    }
    return socket.writableLength > 0 ? 'buffered' : 'sent'
  }

  // ---- timeouts ----

  /** @internal The next moment this connection needs attention (0 = none). */
  dueAt(): number {
    if (this.#closeSentAt !== 0) return this.#closeSentAt + CLOSE_TIMEOUT
    const idle = this.#settings.idleTimeout
    if (idle === 0) return 0
    return this.#lastRead + (this.#pingSent ? idle : idle / 2)
  }

  /** @internal */
  onTimeout(now: number): void {
    if (this.closed) return
    if (this.#closeSentAt !== 0) {
      this.#socket.destroy()
      return
    }
    const idle = this.#settings.idleTimeout
    if (!this.#pingSent && now - this.#lastRead < idle) {
      this.#pingSent = true
      this.ping()
      return
    }
    this.#closeCode = CloseCode.GoingAway
    this.#closeReason = 'idle timeout'
    this.#sendClose(CloseCode.GoingAway, 'idle timeout')
    this.#socket.end()
  }

  /** @internal The socket drained. */
  drained(): void {
    this.#events.onDrain?.(this)
  }

  /** @internal The socket closed: report it once. */
  socketClosed(): void {
    if (this.closed) return
    this.closing = true
    this.closed = true
    this.open = false
    this.#events.onClose(this, this.#closeCode, this.#closeReason)
  }
}

function flushPongs(ws: WebSocketConnection): void {
  ws.writePongs()
}

/** Pongs kept per connection between writes; a flood beyond it is answered once. */
const MAX_PONGS = 16

/**
 * The pub/sub table: topic → subscribed connections. Lives on the IO thread, so a publish is
 * one lookup and one frame written to every subscriber.
 *
 * @example
 * ```ts
 * const topics = new TopicTable()
 * topics.subscribe(ws, 'room:1')
 * topics.publish('room:1', 'text', Buffer.from('hi'))
 * ```
 */
export class TopicTable {
  readonly #topics = new Map<string, Set<WebSocketConnection>>()

  /** Subscribes `ws` to `topic`; returns `false` if it already was. */
  subscribe(ws: WebSocketConnection, topic: string): boolean {
    if (ws.closed) return false
    let set = this.#topics.get(topic)
    if (set === undefined) this.#topics.set(topic, (set = new Set()))
    if (set.has(ws)) return false
    set.add(ws)
    ws.topics.add(topic)
    return true
  }

  /** Unsubscribes `ws` from `topic`; returns `false` if it was not subscribed. */
  unsubscribe(ws: WebSocketConnection, topic: string): boolean {
    const set = this.#topics.get(topic)
    if (set === undefined || !set.delete(ws)) return false
    ws.topics.delete(topic)
    if (set.size === 0) this.#topics.delete(topic)
    return true
  }

  /** Removes `ws` from every topic (on close). */
  removeAll(ws: WebSocketConnection): void {
    for (const topic of ws.topics) {
      const set = this.#topics.get(topic)
      if (set !== undefined) {
        set.delete(ws)
        if (set.size === 0) this.#topics.delete(topic)
      }
    }
    ws.topics.clear()
  }

  /** Number of subscribers of `topic`. */
  subscribers(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0
  }

  /**
   * Writes `data` to every subscriber of `topic` (except `except`). The frame is built once;
   * a compressed copy is built once per deflate configuration that can share it, and
   * connections compressing with context takeover compress for themselves. Writes to a
   * subscriber are held until the end of the current IO callback, so messages published
   * together leave in one write per subscriber.
   * Returns how many subscribers it was written or buffered to.
   */
  publish(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    except?: WebSocketConnection,
  ): number {
    const set = this.#topics.get(topic)
    if (set === undefined) return 0
    let plain: Buffer[] | null = null
    let compressed: Map<string, Buffer[]> | null = null
    let delivered = 0
    for (const ws of set) {
      if (ws === except) continue
      ws.holdWrites()
      const deflate = ws.deflate
      let status: SendStatus
      if (deflate !== null && data.length >= deflate.threshold) {
        const key = deflate.cacheKey
        if (key === null) {
          status = ws.send(kind, data)
        } else {
          compressed ??= new Map()
          let frame = compressed.get(key)
          if (frame === undefined) compressed.set(key, (frame = encodeMessage(kind, data, deflate)))
          status = ws.sendFrame(frame)
        }
      } else {
        plain ??= encodeFrame(kind === 'text' ? Opcode.Text : Opcode.Binary, data)
        status = ws.sendFrame(plain)
      }
      if (status !== 'dropped') delivered++
    }
    return delivered
  }
}

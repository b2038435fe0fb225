import { DEFAULT_MAX_MESSAGE_LEN, Opcode, isValidCloseCode } from './constants.js'
import type { PerMessageDeflate } from './deflate.js'
import { WebSocketError, invalidOption, type WebSocketErrorCode } from './errors.js'
import { applyMask } from './mask.js'
import { Utf8Validator, isValidUtf8 } from './utf8.js'

/**
 * What {@link FrameReceiver} reports. Callbacks run synchronously inside `execute()`; an exception
 * thrown by a callback propagates out of `execute()` and leaves the receiver in an unspecified
 * state (close the connection).
 *
 * Buffers passed to callbacks may be views of the chunks given to `execute()` (no copy) or fresh
 * buffers; either way they are the caller's to keep — the receiver never touches them again.
 *
 * @example
 * ```ts
 * const callbacks: ReceiverCallbacks = {
 *   onMessage(kind, data) { dispatch(kind === 'text' ? data.toString('utf8') : data) },
 *   onPing(data) { socket.write(Buffer.concat(encodeFrame(Opcode.Pong, data))) },
 *   onPong() {},
 *   onClose(code) { socket.end(code === null ? encodeClose() : encodeClose(code)) },
 * }
 * ```
 */
export interface ReceiverCallbacks {
  /** A complete message after reassembly (and inflation). Text is already validated UTF-8. */
  onMessage(kind: 'text' | 'binary', data: Buffer): void
  /** A ping; answer with a pong carrying the same `data`. */
  onPing(data: Buffer): void
  /** A pong (solicited or not). */
  onPong(data: Buffer): void
  /**
   * A valid close frame: `code` is `null` when it had no body. After this the receiver ignores
   * all further input.
   */
  onClose(code: number | null, reason: string): void
}

/**
 * Options of {@link FrameReceiver}.
 *
 * @example
 * ```ts
 * const options: Partial<ReceiverOptions> = { maxMessageLen: 1 << 20, deflate: pmd }
 * ```
 */
export interface ReceiverOptions {
  /**
   * Longest message accepted, in bytes: checked against each frame header (before its payload is
   * buffered), the running total of a fragmented message, the compressed size and the inflated
   * size. Default {@link DEFAULT_MAX_MESSAGE_LEN} (64 KiB).
   */
  maxMessageLen: number
  /** The connection's permessage-deflate state when it was negotiated; RSV1 is a protocol error otherwise. */
  deflate: PerMessageDeflate | null
  /**
   * Require the MASK bit on every frame (RFC 6455 §5.1: a server must). Default `true`; `false`
   * accepts masked and unmasked frames alike.
   */
  requireMask: boolean
}

// Receiver states.
const ST_HEADER = 0 // need the first two header bytes
const ST_LEN16 = 1 // need a 16-bit extended length
const ST_LEN64 = 2 // need a 64-bit extended length
const ST_MASK = 3 // need the 4-byte masking key
const ST_DATA = 4 // streaming a data frame's payload
const ST_CONTROL = 5 // need a whole control frame payload (≤ 125 bytes)
const ST_CLOSED = 6 // a close frame was received: input is ignored
const ST_FAILED = 7 // an error was reported: input is ignored

const EMPTY: Buffer = Buffer.alloc(0)

/**
 * Collects the payload pieces of one message. One piece is kept as it is (a view of the input:
 * no copy); from the second piece on, pieces are copied into one growing buffer, so the cost per
 * piece is constant and memory is bounded by the message size — however many fragments it has.
 */
class Assembler {
  #first: Buffer | null = null
  #buf: Buffer | null = null
  #len = 0
  readonly #limit: number

  constructor(limit: number) {
    this.#limit = limit
  }

  /** Adds `piece`; `more` is how many bytes of the current frame are still to come. */
  append(piece: Buffer, more: number): void {
    if (this.#len === 0) {
      this.#first = piece
      this.#len = piece.length
      return
    }
    const need = this.#len + piece.length
    let buf = this.#buf
    if (buf === null || buf.length < need) {
      const size = Math.min(this.#limit, Math.max(need + more, 2 * (buf?.length ?? 0), 4096))
      const grown = Buffer.allocUnsafe(Math.max(size, need))
      if (buf !== null) buf.copy(grown, 0, 0, this.#len)
      else if (this.#first !== null) this.#first.copy(grown, 0)
      this.#first = null
      this.#buf = buf = grown
    }
    piece.copy(buf, this.#len)
    this.#len = need
  }

  /** The whole message (a view; the assembler forgets it and starts over). */
  take(): Buffer {
    const out =
      this.#buf !== null
        ? this.#buf.subarray(0, this.#len)
        : this.#first !== null
          ? this.#first
          : EMPTY
    this.clear()
    return out
  }

  clear(): void {
    this.#first = null
    this.#buf = null
    this.#len = 0
  }
}

/**
 * The server side of RFC 6455 framing: an incremental state machine that takes the bytes a client
 * sent, split anywhere, and reports complete messages, pings, pongs and the close frame. No IO.
 *
 * It enforces: masked client frames; RSV1 only on the first frame of a message and only with
 * permessage-deflate, RSV2/RSV3 never; no reserved opcodes; control frames unfragmented and at
 * most 125 bytes (allowed between the fragments of a message); continuation frames only inside a
 * fragmented message and no new message before it ends; 63-bit lengths; `maxMessageLen` as early
 * as the header tells; strict UTF-8 for text, checked as each fragment arrives; valid close codes
 * and reasons. The first violation fails the receiver with a {@link WebSocketError} that carries
 * the close code to send.
 *
 * Memory: a frame header or control payload split across chunks is kept as a short list of the
 * chunks (no copy); data payload bytes are handled as they arrive. Empty fragments cost nothing.
 *
 * **Ownership**: `execute()` takes the chunk: payload bytes are unmasked in place and delivered
 * messages may be views of it, so the caller must not reuse or change a chunk after passing it.
 *
 * @example
 * ```ts
 * const receiver = new FrameReceiver(callbacks, { maxMessageLen: 1 << 20 })
 * socket.on('data', (chunk) => {
 *   if (!receiver.execute(chunk)) {
 *     socket.end(encodeClose(receiver.error!.closeCode)) // 1002, 1007 or 1009
 *   }
 * })
 * ```
 */
export class FrameReceiver {
  #failure: WebSocketError | null = null

  readonly #callbacks: ReceiverCallbacks
  readonly #maxMessageLen: number
  /** Limit on the compressed size of a message: maxMessageLen plus DEFLATE's worst-case expansion. */
  readonly #maxCompressedLen: number
  readonly #deflate: PerMessageDeflate | null
  readonly #requireMask: boolean

  #state = ST_HEADER
  // Unconsumed input: chunks[0] from offset `#head`, then whole chunks.
  #chunks: Buffer[] = []
  #head = 0
  #buffered = 0
  // Scratch for header fields that straddle chunks.
  readonly #scratch = Buffer.allocUnsafe(8)
  #readBuf: Buffer = EMPTY
  #readOff = 0

  // Current frame.
  #fin = false
  #opcode = 0
  #masked = false
  #remaining = 0
  readonly #mask = Buffer.alloc(4)
  #maskPos = 0

  // Current data message: opcode 0 when none is in progress.
  #msgOpcode = 0
  #compressed = false
  #msgLen = 0
  readonly #utf8 = new Utf8Validator()
  readonly #assembler: Assembler

  constructor(callbacks: ReceiverCallbacks, options: Partial<ReceiverOptions> = {}) {
    const max = options.maxMessageLen ?? DEFAULT_MAX_MESSAGE_LEN
    if (!(Number.isSafeInteger(max) && max >= 0))
      invalidOption(`maxMessageLen must be a non-negative safe integer, got ${String(max)}`)
    this.#callbacks = callbacks
    this.#maxMessageLen = max
    this.#maxCompressedLen = Math.min(
      Number.MAX_SAFE_INTEGER,
      max + Math.floor(max / 4096) + Math.floor(max / 16384) + 64,
    )
    this.#deflate = options.deflate ?? null
    this.#requireMask = options.requireMask ?? true
    this.#assembler = new Assembler(this.#deflate === null ? max : this.#maxCompressedLen)
  }

  /** The error that failed the receiver, or `null`. */
  get error(): WebSocketError | null {
    return this.#failure
  }

  /** `true` once a close frame was received (input after it is ignored). */
  get closed(): boolean {
    return this.#state === ST_CLOSED
  }

  /**
   * Processes `chunk` (any length, split anywhere), calling the callbacks for everything it
   * completes. Returns `false` once an error occurred — then {@link FrameReceiver.error} is set and
   * all further input is ignored — and `true` otherwise (also after a close frame, when the rest of
   * the input is ignored).
   */
  execute(chunk: Buffer): boolean {
    if (this.#state >= ST_CLOSED) return this.#state === ST_CLOSED
    if (chunk.length > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.length
    }
    for (;;) {
      switch (this.#state) {
        case ST_HEADER: {
          if (this.#buffered < 2) return true
          this.#read(2)
          const b0 = this.#readBuf[this.#readOff]!
          const b1 = this.#readBuf[this.#readOff + 1]!
          if (!this.#onHeader(b0, b1)) return false
          break
        }
        case ST_LEN16:
          if (this.#buffered < 2) return true
          this.#read(2)
          if (!this.#onLength(this.#readBuf.readUInt16BE(this.#readOff))) return false
          break
        case ST_LEN64: {
          if (this.#buffered < 8) return true
          this.#read(8)
          const hi = this.#readBuf.readUInt32BE(this.#readOff)
          const lo = this.#readBuf.readUInt32BE(this.#readOff + 4)
          if (hi >= 0x80000000)
            return this.#fail(
              'ERR_MUMMY_WS_INVALID_LENGTH',
              '64-bit payload length has its top bit set',
            )
          if (!this.#onLength(hi * 0x100000000 + lo)) return false
          break
        }
        case ST_MASK:
          if (this.#buffered < 4) return true
          this.#read(4)
          this.#readBuf.copy(this.#mask, 0, this.#readOff, this.#readOff + 4)
          this.#maskPos = 0
          this.#state = this.#opcode >= Opcode.Close ? ST_CONTROL : ST_DATA
          break
        case ST_DATA:
          if (!this.#onData()) return this.#ok()
          break
        case ST_CONTROL:
          if (this.#buffered < this.#remaining) return true
          if (!this.#onControl()) return this.#ok()
          break
        default:
          return this.#state === ST_CLOSED
      }
    }
  }

  /** Checks the first two header bytes. */
  #onHeader(b0: number, b1: number): boolean {
    const fin = (b0 & 0x80) !== 0
    const rsv1 = (b0 & 0x40) !== 0
    const opcode = b0 & 0x0f
    const masked = (b1 & 0x80) !== 0
    const len7 = b1 & 0x7f
    if ((b0 & 0x30) !== 0) return this.#fail('ERR_MUMMY_WS_RESERVED_BITS', 'RSV2 or RSV3 is set')
    if (opcode >= Opcode.Close) {
      if (opcode > Opcode.Pong)
        return this.#fail('ERR_MUMMY_WS_INVALID_OPCODE', `reserved opcode 0x${opcode.toString(16)}`)
      if (!fin) return this.#fail('ERR_MUMMY_WS_FRAGMENTED_CONTROL', 'control frame without FIN')
      if (len7 > 125)
        return this.#fail('ERR_MUMMY_WS_CONTROL_TOO_LONG', 'control frame payload over 125 bytes')
      if (rsv1) return this.#fail('ERR_MUMMY_WS_RESERVED_BITS', 'RSV1 on a control frame')
    } else if (opcode === Opcode.Continuation) {
      if (this.#msgOpcode === 0)
        return this.#fail(
          'ERR_MUMMY_WS_UNEXPECTED_CONTINUATION',
          'continuation frame outside a message',
        )
      if (rsv1) return this.#fail('ERR_MUMMY_WS_RESERVED_BITS', 'RSV1 on a continuation frame')
    } else if (opcode <= Opcode.Binary) {
      if (this.#msgOpcode !== 0)
        return this.#fail(
          'ERR_MUMMY_WS_EXPECTED_CONTINUATION',
          'new message before the fragmented message ended',
        )
      if (rsv1 && this.#deflate === null)
        return this.#fail('ERR_MUMMY_WS_RESERVED_BITS', 'RSV1 set without permessage-deflate')
      this.#msgOpcode = opcode
      this.#compressed = rsv1
      this.#msgLen = 0
    } else {
      return this.#fail('ERR_MUMMY_WS_INVALID_OPCODE', `reserved opcode 0x${opcode.toString(16)}`)
    }
    if (!masked && this.#requireMask)
      return this.#fail('ERR_MUMMY_WS_UNMASKED_FRAME', 'client frame is not masked')
    this.#fin = fin
    this.#opcode = opcode
    this.#masked = masked
    if (len7 === 126) this.#state = ST_LEN16
    else if (len7 === 127) this.#state = ST_LEN64
    else return this.#onLength(len7)
    return true
  }

  /** Takes the payload length; enforces maxMessageLen before any payload byte is buffered. */
  #onLength(len: number): boolean {
    if (this.#opcode < Opcode.Close) {
      const total = this.#msgLen + len
      const limit = this.#compressed ? this.#maxCompressedLen : this.#maxMessageLen
      if (total > limit)
        return this.#fail(
          'ERR_MUMMY_WS_MESSAGE_TOO_LARGE',
          `message longer than maxMessageLen (${this.#maxMessageLen})`,
        )
      this.#msgLen = total
    }
    this.#remaining = len
    this.#state = this.#masked ? ST_MASK : this.#opcode >= Opcode.Close ? ST_CONTROL : ST_DATA
    return true
  }

  /**
   * Moves the payload bytes that have arrived into the message. Returns `true` when the frame is
   * complete (state moved on), `false` when more input is needed or the receiver failed.
   */
  #onData(): boolean {
    const text = this.#msgOpcode === Opcode.Text && !this.#compressed
    while (this.#remaining > 0 && this.#buffered > 0) {
      const chunk = this.#chunks[0]!
      const avail = chunk.length - this.#head
      const n = avail < this.#remaining ? avail : this.#remaining
      const piece = chunk.subarray(this.#head, this.#head + n)
      this.#consume(n)
      this.#remaining -= n
      if (this.#masked) this.#maskPos = applyMask(piece, this.#mask, this.#maskPos)
      if (text && !this.#utf8.update(piece)) {
        this.#fail('ERR_MUMMY_WS_INVALID_UTF8', 'text message is not valid UTF-8')
        return false
      }
      this.#assembler.append(piece, this.#remaining)
    }
    if (this.#remaining > 0) return false
    this.#state = ST_HEADER
    if (this.#fin) return this.#onMessageEnd()
    return true
  }

  /** Delivers a complete data message. */
  #onMessageEnd(): boolean {
    const kind = this.#msgOpcode === Opcode.Text ? 'text' : 'binary'
    let data = this.#assembler.take()
    this.#msgOpcode = 0
    if (this.#compressed) {
      try {
        data = this.#deflate!.inflate([data])
      } catch (err) {
        if (err instanceof WebSocketError) return this.#failWith(err)
        throw err
      }
      if (kind === 'text' && !isValidUtf8(data))
        return this.#fail('ERR_MUMMY_WS_INVALID_UTF8', 'text message is not valid UTF-8')
    } else if (kind === 'text') {
      const ok = this.#utf8.end()
      this.#utf8.reset()
      if (!ok)
        return this.#fail('ERR_MUMMY_WS_INVALID_UTF8', 'text message ends inside a character')
    }
    this.#callbacks.onMessage(kind, data)
    return true
  }

  /**
   * Dispatches a control frame whose whole payload is buffered. Returns `false` after a close frame
   * or an error.
   */
  #onControl(): boolean {
    const len = this.#remaining
    let data = EMPTY
    if (len > 0) {
      const chunk = this.#chunks[0]!
      if (chunk.length - this.#head >= len) {
        data = chunk.subarray(this.#head, this.#head + len)
        this.#consume(len)
      } else {
        data = Buffer.allocUnsafe(len)
        this.#copyOut(data)
      }
      if (this.#masked) applyMask(data, this.#mask, 0)
    }
    this.#remaining = 0
    this.#state = ST_HEADER
    if (this.#opcode === Opcode.Ping) {
      this.#callbacks.onPing(data)
      return true
    }
    if (this.#opcode === Opcode.Pong) {
      this.#callbacks.onPong(data)
      return true
    }
    // Close.
    if (len === 1)
      return this.#fail('ERR_MUMMY_WS_INVALID_CLOSE_PAYLOAD', 'close frame with a one-byte body')
    let code: number | null = null
    let reason = ''
    if (len >= 2) {
      code = data.readUInt16BE(0)
      if (!isValidCloseCode(code))
        return this.#fail('ERR_MUMMY_WS_INVALID_CLOSE_CODE', `invalid close code ${code}`)
      const bytes = data.subarray(2)
      if (!isValidUtf8(bytes))
        return this.#fail('ERR_MUMMY_WS_INVALID_CLOSE_REASON', 'close reason is not valid UTF-8')
      reason = bytes.toString('utf8')
    }
    this.#state = ST_CLOSED
    this.#release()
    this.#callbacks.onClose(code, reason)
    return false
  }

  /** Makes `n` (≤ 8) buffered bytes readable at `readBuf[readOff]` and consumes them. */
  #read(n: number): void {
    const chunk = this.#chunks[0]!
    if (chunk.length - this.#head >= n) {
      this.#readBuf = chunk
      this.#readOff = this.#head
      this.#consume(n)
    } else {
      this.#readBuf = this.#scratch
      this.#readOff = 0
      this.#copyOut(this.#scratch.subarray(0, n))
    }
  }

  /** Copies the next `target.length` buffered bytes into `target` and consumes them. */
  #copyOut(target: Buffer): void {
    let at = 0
    while (at < target.length) {
      const chunk = this.#chunks[0]!
      const n = Math.min(chunk.length - this.#head, target.length - at)
      chunk.copy(target, at, this.#head, this.#head + n)
      at += n
      this.#consume(n)
    }
  }

  /** Drops `n` buffered bytes (n ≤ the bytes left in the first chunk, or spanning whole chunks). */
  #consume(n: number): void {
    this.#buffered -= n
    let left = n
    while (left > 0) {
      const chunk = this.#chunks[0]!
      const avail = chunk.length - this.#head
      if (left < avail) {
        this.#head += left
        return
      }
      left -= avail
      this.#chunks.shift()
      this.#head = 0
    }
  }

  /** `false` once failed (a method, so the state is re-read after the callbacks ran). */
  #ok(): boolean {
    return this.#state !== ST_FAILED
  }

  #fail(code: WebSocketErrorCode, message: string): false {
    return this.#failWith(new WebSocketError(code, message))
  }

  #failWith(error: WebSocketError): false {
    this.#failure = error
    this.#state = ST_FAILED
    this.#release()
    return false
  }

  /** Drops buffered input and any partial message. */
  #release(): void {
    this.#chunks = []
    this.#head = 0
    this.#buffered = 0
    this.#readBuf = EMPTY
    this.#assembler.clear()
  }
}

// A raw-socket WebSocket client for the conformance suite: it does the opening handshake
// itself, writes masked frames byte for byte as a case says (bad ones included), and records
// everything the server sends back, frame by frame.
import { createHash, randomBytes, randomFillSync } from 'node:crypto'
import net from 'node:net'
import zlib from 'node:zlib'

/** Frame opcodes (RFC 6455 §5.2). */
export const Op = {
  Continuation: 0,
  Text: 1,
  Binary: 2,
  Close: 8,
  Ping: 9,
  Pong: 10,
} as const

/** One frame to write. */
export interface FrameSpec {
  opcode: number
  /** Payload bytes (a string is taken as UTF-8); default empty. */
  payload?: Buffer | string
  /** Default `true`. */
  fin?: boolean
  /** The three reserved bits as one number, 0–7: 4 is RSV1, 2 is RSV2, 1 is RSV3. */
  rsv?: number
  /** Default `true` (clients must mask). */
  mask?: boolean
  /** Repeat `payload` until it is this long (for big payloads). */
  payloadLen?: number
}

/** How bytes go on the wire. */
export interface WriteOptions {
  /** Write this chunk alone and let the event loop turn before the next write. */
  sync?: boolean
  /** Cut the bytes into pieces of this many octets, each written alone (implies `sync`). */
  chopsize?: number
}

/** What the server sent, in order. */
export type Received =
  | { type: 'message'; data: Buffer; binary: boolean }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'timeout'; label: string }

/** The header of one frame the server sent. */
export interface FrameInfo {
  fin: boolean
  rsv: number
  opcode: number
  length: number
}

/** permessage-deflate as agreed in the server's 101 response. */
export interface DeflateAgreement {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits: number
  clientMaxWindowBits: number
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff])
const EMPTY = Buffer.alloc(0)

function toBuffer(payload: Buffer | string | undefined): Buffer {
  if (payload === undefined) return EMPTY
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
}

/** `payload` repeated (and cut) to exactly `len` bytes. */
export function repeatTo(payload: Buffer | string, len: number): Buffer {
  const unit = toBuffer(payload)
  const out = Buffer.allocUnsafe(len)
  if (len === 0) return out
  if (unit.length === 0) throw new Error('cannot repeat an empty payload')
  let at = 0
  while (at < len) at += unit.copy(out, at, 0, Math.min(unit.length, len - at))
  return out
}

/** Builds the exact bytes of one frame, masked with a fresh random key unless `mask: false`. */
export function encodeFrame(spec: FrameSpec): Buffer {
  let payload = toBuffer(spec.payload)
  if (spec.payloadLen !== undefined) payload = repeatTo(payload, spec.payloadLen)
  const fin = spec.fin ?? true
  const rsv = spec.rsv ?? 0
  const mask = spec.mask ?? true
  const len = payload.length
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0))
  head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (spec.opcode & 0x0f)
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127)
  if (lenBytes === 2) head.writeUInt16BE(len, 2)
  else if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2)
  if (!mask) return Buffer.concat([head, payload])
  const key = head.subarray(2 + lenBytes)
  randomFillSync(key)
  const out = Buffer.allocUnsafe(head.length + len)
  head.copy(out, 0)
  const body = out.subarray(head.length)
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ key[i & 3]!
  return out
}

/** A close frame's payload: a code (if any) and raw reason bytes. */
export function closePayload(code?: number, reason?: Buffer | string): Buffer {
  if (code === undefined) return toBuffer(reason)
  const head = Buffer.alloc(2)
  head.writeUInt16BE(code, 0)
  return Buffer.concat([head, toBuffer(reason)])
}

/** Parses the server's `Sec-WebSocket-Extensions` answer for permessage-deflate. */
export function parseDeflateResponse(header: string | undefined): DeflateAgreement | null {
  if (header === undefined || header.trim() === '') return null
  const parts = header.split(';').map((p) => p.trim())
  if (parts[0]?.toLowerCase() !== 'permessage-deflate') {
    throw new Error(`unexpected extension in the response: ${header}`)
  }
  const agreed: DeflateAgreement = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  }
  for (const part of parts.slice(1)) {
    const [key = '', value] = part.split('=').map((s) => s.trim().replace(/^"|"$/g, ''))
    switch (key.toLowerCase()) {
      case 'server_no_context_takeover':
        agreed.serverNoContextTakeover = true
        break
      case 'client_no_context_takeover':
        agreed.clientNoContextTakeover = true
        break
      case 'server_max_window_bits':
        agreed.serverMaxWindowBits = Number(value)
        break
      case 'client_max_window_bits':
        agreed.clientMaxWindowBits = Number(value)
        break
      default:
        throw new Error(`unknown permessage-deflate parameter in the response: ${part}`)
    }
  }
  return agreed
}

/**
 * One direction of permessage-deflate on a real zlib stream (not one-shot calls), so the
 * context carried from message to message is zlib's own. Without context takeover, the stream
 * is reset after every message.
 */
class DeflateStream {
  #stream: zlib.DeflateRaw | zlib.InflateRaw | null = null
  #chunks: Buffer[] = []
  #chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly kind: 'deflate' | 'inflate',
    private readonly windowBits: number,
    private readonly noContextTakeover: boolean,
  ) {}

  /** Compresses or decompresses one whole message, in call order. */
  run(data: Buffer): Promise<Buffer> {
    const next = this.#chain.then(() => this.#one(data))
    this.#chain = next.catch(() => undefined)
    return next
  }

  close(): void {
    this.#stream?.close()
    this.#stream = null
  }

  #open(): zlib.DeflateRaw | zlib.InflateRaw {
    if (this.#stream !== null) return this.#stream
    // zlib refuses an 8-bit window for raw deflate; 9 is the smallest it writes.
    const stream =
      this.kind === 'deflate'
        ? zlib.createDeflateRaw({ windowBits: Math.max(9, this.windowBits), level: 6 })
        : zlib.createInflateRaw({ windowBits: this.windowBits })
    stream.on('data', (chunk: Buffer) => this.#chunks.push(chunk))
    this.#stream = stream
    return stream
  }

  #one(data: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = this.#open()
      const onError = (err: Error): void => {
        this.#stream = null
        reject(err)
      }
      stream.once('error', onError)
      stream.write(this.kind === 'inflate' ? Buffer.concat([data, TRAILER]) : data)
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        stream.off('error', onError)
        let out = Buffer.concat(this.#chunks)
        this.#chunks = []
        if (this.kind === 'deflate') {
          if (out.length < 4 || !out.subarray(out.length - 4).equals(TRAILER)) {
            reject(new Error('deflate output does not end with 00 00 ff ff'))
            return
          }
          out = out.subarray(0, out.length - 4)
        }
        // Without context takeover the next message starts from an empty window.
        if (this.noContextTakeover) stream.reset()
        resolve(out)
      })
    })
  }
}

/** What {@link RawClient.connect} takes. */
export interface ConnectOptions {
  /** Request path, default `/`. */
  path?: string
  /** `Sec-WebSocket-Extensions` offer, sent as is. */
  extensions?: string
  /** ms to wait for the 101; default 5000. */
  timeout?: number
}

/**
 * One WebSocket connection driven byte by byte. Writes go through a queue with the semantics
 * of Autobahn's: plain writes go straight to the socket (and coalesce), `sync` writes and
 * chops are written one per event-loop turn.
 */
export class RawClient {
  readonly socket: net.Socket
  /** The 101 response's headers (lower-case names). */
  readonly headers: Record<string, string>
  /** permessage-deflate as agreed, or `null`. */
  readonly deflate: DeflateAgreement | null
  /** Everything received, in order. */
  readonly received: Received[] = []
  /** Every frame header the server sent. */
  readonly frames: FrameInfo[] = []
  /** When the connection opened (ms since the epoch). */
  readonly openedAt = Date.now()

  /** We sent a close frame. */
  closeSent = false
  /** The server sent a close frame. */
  closeReceived = false
  /** We started the closing handshake. */
  closedByMe = false
  /** The server's close code (`null`: none, or no close frame). */
  remoteCloseCode: number | null = null
  /** The server's close reason bytes. */
  remoteCloseReason: Buffer | null = null
  /** The TCP connection is gone. */
  tcpClosed = false
  /** The server closed TCP (its FIN came before we ended or destroyed the socket). */
  serverDroppedTcp = false
  /** We ended or destroyed the socket first. */
  droppedByMe = false
  /** A protocol violation by the server, if one was seen. */
  violation: string | null = null
  /** A socket error, if one happened (e.g. a reset after the server closed). */
  socketError: string | null = null
  /** When TCP closed (ms since the epoch). */
  closedAt = 0
  /** How many frames the last {@link RawClient.sendMessage} wrote. */
  lastMessageFrames = 0

  #chunks: Buffer[] = []
  #buffered = 0
  #fragments: Buffer[] = []
  #fragmentOpcode = 0
  #fragmentCompressed = false
  #queue: Array<{ data: Buffer; sync: boolean }> = []
  #pumping = false
  #listeners = new Set<() => void>()
  #inflater: DeflateStream | null = null
  #deflater: DeflateStream | null = null
  #events: Promise<void> = Promise.resolve()
  #closeFrameSeen = false
  readonly #closed: Promise<void>

  private constructor(socket: net.Socket, headers: Record<string, string>, rest: Buffer) {
    this.socket = socket
    this.headers = headers
    this.deflate = parseDeflateResponse(headers['sec-websocket-extensions'])
    if (this.deflate !== null) {
      // Inflating with the agreed window also checks the server kept to it (a longer
      // back-reference fails to inflate).
      this.#inflater = new DeflateStream(
        'inflate',
        this.deflate.serverMaxWindowBits,
        this.deflate.serverNoContextTakeover,
      )
      this.#deflater = new DeflateStream(
        'deflate',
        this.deflate.clientMaxWindowBits,
        this.deflate.clientNoContextTakeover,
      )
    }
    this.#closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.tcpClosed = true
        this.closedAt = Date.now()
        this.#inflater?.close()
        this.#deflater?.close()
        resolve()
        this.#changed()
      })
    })
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('end', () => {
      if (!this.droppedByMe) this.serverDroppedTcp = true
      this.#changed()
    })
    socket.on('error', (err) => {
      this.socketError = err.message
      this.#changed()
    })
    if (rest.length > 0) this.#onData(rest)
  }

  /** Opens a connection and completes the opening handshake. */
  static connect(port: number, options: ConnectOptions = {}): Promise<RawClient> {
    const path = options.path ?? '/'
    const key = randomBytes(16).toString('base64')
    const expectedAccept = createHash('sha1')
      .update(key + GUID)
      .digest('base64')
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
      let head = EMPTY
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error('no 101 in time'))
      }, options.timeout ?? 5000)
      const fail = (err: Error): void => {
        clearTimeout(timer)
        socket.destroy()
        reject(err)
      }
      socket.once('error', fail)
      socket.on('connect', () => {
        const lines = [
          `GET ${path} HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${key}`,
          'Sec-WebSocket-Version: 13',
        ]
        if (options.extensions !== undefined)
          lines.push(`Sec-WebSocket-Extensions: ${options.extensions}`)
        socket.write(lines.join('\r\n') + '\r\n\r\n')
      })
      const onHead = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        socket.off('data', onHead)
        socket.off('error', fail)
        clearTimeout(timer)
        const text = head.subarray(0, end).toString('latin1')
        const [status = '', ...lines] = text.split('\r\n')
        const headers: Record<string, string> = {}
        for (const line of lines) {
          const colon = line.indexOf(':')
          if (colon > 0)
            headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
        }
        if (!/^HTTP\/1\.1 101 /.test(status)) return fail(new Error(`handshake failed: ${status}`))
        if (headers['sec-websocket-accept'] !== expectedAccept) {
          return fail(new Error('handshake failed: wrong Sec-WebSocket-Accept'))
        }
        try {
          resolve(new RawClient(socket, headers, head.subarray(end + 4)))
        } catch (err) {
          fail(err as Error)
        }
      }
      socket.on('data', onHead)
    })
  }

  // ---- writing ----

  /** Writes raw bytes with Autobahn's queue semantics. */
  send(data: Buffer, options: WriteOptions = {}): void {
    if (options.chopsize !== undefined && options.chopsize > 0) {
      for (let i = 0; i < data.length; i += options.chopsize) {
        this.#queue.push({ data: data.subarray(i, i + options.chopsize), sync: true })
      }
      if (data.length === 0) this.#queue.push({ data, sync: true })
      this.#pump()
    } else if (options.sync === true || this.#queue.length > 0) {
      this.#queue.push({ data, sync: options.sync === true })
      this.#pump()
    } else {
      this.#write(data)
    }
  }

  /** Builds and writes one frame. */
  sendFrame(spec: FrameSpec & WriteOptions): void {
    this.send(encodeFrame(spec), spec)
  }

  /**
   * Sends a close frame and enters the closing handshake (at most once; later calls are
   * ignored, like a WebSocket implementation's `close()`).
   */
  sendClose(code?: number, reason?: Buffer | string): void {
    if (this.closeSent || this.tcpClosed) return
    if (!this.closeReceived) this.closedByMe = true
    this.closeSent = true
    this.sendFrame({ opcode: Op.Close, payload: closePayload(code, reason) })
  }

  /** Resolves once every queued write went to the socket. */
  async flushed(): Promise<void> {
    await this.waitUntil(() => this.#queue.length === 0 && !this.#pumping, 60_000)
  }

  /**
   * Sends one message as a client library would: compressed when permessage-deflate was
   * agreed (and `compress` is not `false`), cut into frames of `fragmentSize` bytes if set.
   */
  async sendMessage(
    payload: Buffer | string,
    options: { binary?: boolean; fragmentSize?: number; compress?: boolean } = {},
  ): Promise<void> {
    let data = toBuffer(payload)
    const compressed = this.#deflater !== null && options.compress !== false
    if (compressed) data = await this.#deflater!.run(data)
    const opcode = options.binary === true ? Op.Binary : Op.Text
    const size = options.fragmentSize ?? 0
    if (size <= 0 || data.length <= size) {
      this.lastMessageFrames = 1
      this.sendFrame({ opcode, payload: data, rsv: compressed ? 4 : 0 })
      return
    }
    const frames: Buffer[] = []
    for (let i = 0; i < data.length; i += size) {
      frames.push(
        encodeFrame({
          opcode: i === 0 ? opcode : Op.Continuation,
          fin: i + size >= data.length,
          rsv: i === 0 && compressed ? 4 : 0,
          payload: data.subarray(i, i + size),
        }),
      )
    }
    this.lastMessageFrames = frames.length
    this.send(Buffer.concat(frames))
  }

  /** Ends our side of TCP (after a close handshake, or to give up). */
  drop(): void {
    if (this.tcpClosed) return
    if (!this.serverDroppedTcp) this.droppedByMe = true
    this.socket.destroy()
  }

  #write(data: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return
    this.socket.write(data)
  }

  #pump(): void {
    if (this.#pumping) return
    this.#pumping = true
    const step = (): void => {
      const item = this.#queue.shift()
      if (item === undefined) {
        this.#pumping = false
        this.#changed()
        return
      }
      this.#write(item.data)
      // Let the loop turn (and the server read) before the next piece.
      setImmediate(step)
    }
    step()
  }

  // ---- waiting ----

  /** Resolves `true` as soon as `predicate()` holds, `false` after `ms`. */
  waitUntil(predicate: () => boolean, ms: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return
        clearTimeout(timer)
        this.#listeners.delete(check)
        resolve(true)
      }
      const timer = setTimeout(() => {
        this.#listeners.delete(check)
        resolve(predicate())
      }, ms)
      this.#listeners.add(check)
    })
  }

  /** Resolves when TCP is closed. */
  get closed(): Promise<void> {
    return this.#closed
  }

  /** Calls `fn` after every change (new event, close frame, TCP state). */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  #changed(): void {
    for (const fn of [...this.#listeners]) fn()
  }

  // ---- reading ----

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    while (this.violation === null) {
      if (this.#buffered < 2) return
      let head = this.#peek(Math.min(this.#buffered, 14))
      const b0 = head[0]!
      const b1 = head[1]!
      let len = b1 & 0x7f
      let at = 2
      if (len === 126) {
        if (head.length < 4) return
        len = head.readUInt16BE(2)
        at = 4
      } else if (len === 127) {
        if (head.length < 10) return
        const big = head.readBigUInt64BE(2)
        if (big > BigInt(Number.MAX_SAFE_INTEGER))
          return this.#violate('64-bit length out of range')
        len = Number(big)
        at = 10
      }
      const masked = (b1 & 0x80) !== 0
      if (masked) at += 4
      if (this.#buffered < at + len) return
      head = this.#take(at)
      let payload = this.#take(len)
      if (masked) {
        const key = head.subarray(at - 4, at)
        payload = Buffer.from(payload)
        for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!
      }
      const frame: FrameInfo = {
        fin: (b0 & 0x80) !== 0,
        rsv: (b0 >> 4) & 7,
        opcode: b0 & 0x0f,
        length: len,
      }
      this.frames.push(frame)
      if (masked) return this.#violate('server frame is masked')
      this.#onFrame(frame, payload)
    }
  }

  /** At least the first `n` buffered bytes as one buffer (without consuming them). */
  #peek(n: number): Buffer {
    const first = this.#chunks[0]!
    if (first.length >= n) return first
    let count = 0
    let have = 0
    while (have < n) have += this.#chunks[count++]!.length
    const merged = Buffer.concat(this.#chunks.slice(0, count))
    this.#chunks.splice(0, count, merged)
    return merged
  }

  /** Consumes the next `n` buffered bytes (a view when they sit in one chunk). */
  #take(n: number): Buffer {
    this.#buffered -= n
    if (n === 0) return EMPTY
    const first = this.#chunks[0]!
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    if (first.length === n) {
      this.#chunks.shift()
      return first
    }
    const out = Buffer.allocUnsafe(n)
    let at = 0
    while (at < n) {
      const chunk = this.#chunks[0]!
      const k = Math.min(chunk.length, n - at)
      chunk.copy(out, at, 0, k)
      at += k
      if (k === chunk.length) this.#chunks.shift()
      else this.#chunks[0] = chunk.subarray(k)
    }
    return out
  }

  #onFrame(frame: FrameInfo, payload: Buffer): void {
    const { fin, rsv, opcode } = frame
    if (this.#closeFrameSeen) return this.#violate(`frame (opcode ${opcode}) after the close frame`)
    if (opcode >= 8) {
      if (rsv !== 0) return this.#violate(`RSV bits ${rsv} on a control frame`)
      if (!fin) return this.#violate('fragmented control frame')
      if (payload.length > 125) return this.#violate('control frame over 125 bytes')
      if (opcode === Op.Ping) return this.#event({ type: 'ping', data: Buffer.from(payload) })
      if (opcode === Op.Pong) return this.#event({ type: 'pong', data: Buffer.from(payload) })
      if (opcode === Op.Close) return this.#onClose(payload)
      return this.#violate(`reserved control opcode ${opcode}`)
    }
    if (opcode === Op.Continuation) {
      if (this.#fragmentOpcode === 0) return this.#violate('continuation frame outside a message')
      if (rsv !== 0) return this.#violate(`RSV bits ${rsv} on a continuation frame`)
    } else if (opcode === Op.Text || opcode === Op.Binary) {
      if (this.#fragmentOpcode !== 0) return this.#violate('new message inside a fragmented one')
      const rsv1 = (rsv & 4) !== 0
      if ((rsv & 3) !== 0 || (rsv1 && this.deflate === null)) {
        return this.#violate(`RSV bits ${rsv} on a data frame`)
      }
      this.#fragmentOpcode = opcode
      this.#fragmentCompressed = rsv1
    } else {
      return this.#violate(`reserved data opcode ${opcode}`)
    }
    this.#fragments.push(Buffer.from(payload))
    if (!fin) return
    const binary = this.#fragmentOpcode === Op.Binary
    const compressed = this.#fragmentCompressed
    const data = Buffer.concat(this.#fragments)
    this.#fragments = []
    this.#fragmentOpcode = 0
    this.#fragmentCompressed = false
    if (compressed) {
      const inflated = this.#inflater!.run(data)
      this.#queueEvent(async () => {
        let plain: Buffer
        try {
          plain = await inflated
        } catch (err) {
          this.#violate(`server message does not inflate: ${(err as Error).message}`)
          return null
        }
        return this.#checkMessage(plain, binary)
      })
    } else {
      this.#event(this.#checkMessage(data, binary))
    }
  }

  #checkMessage(data: Buffer, binary: boolean): Received | null {
    if (!binary) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(data)
      } catch {
        this.#violate('server text message is not valid UTF-8')
        return null
      }
    }
    return { type: 'message', data, binary }
  }

  #onClose(payload: Buffer): void {
    if (payload.length === 1) return this.#violate('close frame with a one-byte body')
    this.#closeFrameSeen = true
    this.#queueEvent(async () => {
      this.closeReceived = true
      if (payload.length >= 2) {
        this.remoteCloseCode = payload.readUInt16BE(0)
        this.remoteCloseReason = Buffer.from(payload.subarray(2))
      }
      if (!this.closeSent) {
        // Answer the close, echoing its code as a compliant client does.
        const code = this.remoteCloseCode
        this.sendClose(code === null || !isSendable(code) ? undefined : code)
      }
      return null
    })
  }

  /** Records an event in wire order (after any message still being inflated). */
  #event(event: Received | null): void {
    this.#queueEvent(async () => event)
  }

  #queueEvent(produce: () => Promise<Received | null>): void {
    this.#events = this.#events.then(async () => {
      const event = await produce()
      if (event !== null) this.received.push(event)
      this.#changed()
    })
  }

  /** Resolves once every received frame was turned into an event. */
  settled(): Promise<void> {
    return this.#events
  }

  #violate(reason: string): void {
    if (this.violation !== null) return
    this.violation = reason
    // Fail the connection like a client would: close 1002 and drop.
    if (!this.closeSent && !this.tcpClosed) {
      this.closeSent = true
      this.#write(encodeFrame({ opcode: Op.Close, payload: closePayload(1002) }))
    }
    this.drop()
    this.#changed()
  }
}

function isSendable(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  )
}

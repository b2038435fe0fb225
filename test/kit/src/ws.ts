/**
 * A raw WebSocket client for tests: does the opening handshake itself, sends masked frames
 * byte-exactly, and reads the server's frames — so tests can send what no well-behaved client
 * would.
 */
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'

/** A frame read from the server. */
export interface ServerFrame {
  fin: boolean
  rsv1: boolean
  opcode: number
  payload: Buffer
}

/** A connected raw client. */
export interface RawWebSocket {
  socket: net.Socket
  /** Frames received so far. */
  frames: ServerFrame[]
  /** `true` once the server closed the TCP connection. */
  closed: Promise<void>
  isClosed(): boolean
  /** Close code of the first close frame received, or null. */
  closeCode(): number | null
  /** Writes one frame (masked unless `mask: false`). */
  send(
    opcode: number,
    payload?: Uint8Array,
    options?: { fin?: boolean; rsv1?: boolean; mask?: boolean; rsv2?: boolean; rsv3?: boolean },
  ): void
  /** Builds one frame's bytes without sending it. */
  frame(
    opcode: number,
    payload?: Uint8Array,
    options?: { fin?: boolean; rsv1?: boolean; mask?: boolean },
  ): Buffer
  /** The 101 response head. */
  head: string
}

/** Builds a client frame. */
export function clientFrame(
  opcode: number,
  payload: Uint8Array = Buffer.alloc(0),
  options: { fin?: boolean; rsv1?: boolean; rsv2?: boolean; rsv3?: boolean; mask?: boolean } = {},
): Buffer {
  const fin = options.fin ?? true
  const mask = options.mask ?? true
  const len = payload.length
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0))
  head[0] =
    (fin ? 0x80 : 0) |
    (options.rsv1 ? 0x40 : 0) |
    (options.rsv2 ? 0x20 : 0) |
    (options.rsv3 ? 0x10 : 0) |
    opcode
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127)
  if (ext === 2) head.writeUInt16BE(len, 2)
  else if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2)
  if (!mask) return Buffer.concat([head, payload])
  const key = randomBytes(4)
  key.copy(head, 2 + ext)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!
  return Buffer.concat([head, body])
}

/** Opens a raw WebSocket to `ws://127.0.0.1:port/path`. */
export function rawWebSocket(port: number, path = '/', extraHeaders = ''): Promise<RawWebSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const key = randomBytes(16).toString('base64')
    const expected = createHash('sha1')
      .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64')
    let buf = Buffer.alloc(0)
    let head = ''
    const frames: ServerFrame[] = []
    let closed = false
    let closeResolve: () => void = () => {}
    const closedPromise = new Promise<void>((r) => (closeResolve = r))
    socket.on('close', () => {
      closed = true
      closeResolve()
    })
    socket.on('error', () => {})
    const parse = (): void => {
      for (;;) {
        if (buf.length < 2) return
        const b0 = buf[0]!
        const b1 = buf[1]!
        let len = b1 & 0x7f
        let off = 2
        if (len === 126) {
          if (buf.length < 4) return
          len = buf.readUInt16BE(2)
          off = 4
        } else if (len === 127) {
          if (buf.length < 10) return
          len = Number(buf.readBigUInt64BE(2))
          off = 10
        }
        if (buf.length < off + len) return
        frames.push({
          fin: (b0 & 0x80) !== 0,
          rsv1: (b0 & 0x40) !== 0,
          opcode: b0 & 0x0f,
          payload: Buffer.from(buf.subarray(off, off + len)),
        })
        buf = buf.subarray(off + len)
      }
    }
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (head === '') {
        const end = buf.indexOf('\r\n\r\n')
        if (end === -1) return
        head = buf.toString('latin1', 0, end + 4)
        buf = buf.subarray(end + 4)
        if (!head.startsWith('HTTP/1.1 101') || !head.includes(expected)) {
          reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`))
          socket.destroy()
          return
        }
        resolve({
          socket,
          frames,
          closed: closedPromise,
          isClosed: () => closed,
          closeCode: () => {
            const close = frames.find((f) => f.opcode === 8)
            return close === undefined
              ? null
              : close.payload.length >= 2
                ? close.payload.readUInt16BE(0)
                : 1005
          },
          send: (opcode, payload, options) =>
            void socket.write(clientFrame(opcode, payload, options)),
          frame: (opcode, payload, options) => clientFrame(opcode, payload, options),
          head,
        })
      }
      parse()
    })
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    )
  })
}

import { Opcode, isValidCloseCode } from './constants.js'
import type { PerMessageDeflate } from './deflate.js'
import { invalidArgument } from './errors.js'
import { applyMask } from './mask.js'

/**
 * Options of {@link encodeFrame}.
 *
 * @example
 * ```ts
 * const options: EncodeFrameOptions = { fin: false } // first fragment of a message
 * ```
 */
export interface EncodeFrameOptions {
  /** Last frame of the message. Default `true`; control frames must keep it `true`. */
  fin?: boolean
  /** RSV1: the message is compressed (permessage-deflate; first frame of a data message only). */
  rsv1?: boolean
  /** 4-byte masking key. Servers send unmasked frames (the default, `null`); clients must mask. */
  mask?: Uint8Array | null
}

/**
 * Encodes one frame (RFC 6455 §5.2). Returns `[header, payload]` (just `[header]` for an empty
 * payload). Unmasked, `payload` itself is the second element — no copy — so it must not change
 * until written. Masked, the second element is a masked copy.
 *
 * To send one message to many connections, encode it once and write the same bytes to each:
 * `const frame = Buffer.concat(encodeFrame(Opcode.Text, data))`.
 *
 * Throws `ERR_MUMMY_WS_INVALID_ARGUMENT` for an unknown opcode, a control frame with a payload over
 * 125 bytes, without FIN or with RSV1, or a mask that is not 4 bytes.
 *
 * @example
 * ```ts
 * encodeFrame(Opcode.Text, Buffer.from('Hello')) // [<81 05>, <48 65 6c 6c 6f>]
 * socket.write(Buffer.concat(encodeFrame(Opcode.Binary, bytes)))
 * ```
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  options: EncodeFrameOptions = {},
): Buffer[] {
  const fin = options.fin ?? true
  const rsv1 = options.rsv1 ?? false
  const mask = options.mask ?? null
  const len = payload.length
  if (opcode >= Opcode.Close) {
    if (opcode > Opcode.Pong) invalidArgument(`unknown opcode ${opcode}`)
    if (len > 125) invalidArgument(`control frame payload longer than 125 bytes (${len})`)
    if (!fin) invalidArgument('control frames cannot be fragmented')
    if (rsv1) invalidArgument('RSV1 is not allowed on control frames')
  } else if (!(opcode >= 0 && opcode <= Opcode.Binary && Number.isInteger(opcode))) {
    invalidArgument(`unknown opcode ${opcode}`)
  }
  if (mask !== null && mask.length !== 4) invalidArgument('a masking key is 4 bytes')

  const lenBytes = len < 126 ? 0 : len < 0x10000 ? 2 : 8
  const header = Buffer.allocUnsafe(2 + lenBytes + (mask === null ? 0 : 4))
  header[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode
  const maskBit = mask === null ? 0 : 0x80
  if (lenBytes === 0) {
    header[1] = maskBit | len
  } else if (lenBytes === 2) {
    header[1] = maskBit | 126
    header.writeUInt16BE(len, 2)
  } else {
    header[1] = maskBit | 127
    header.writeUInt32BE(Math.floor(len / 0x100000000), 2)
    header.writeUInt32BE(len >>> 0, 6)
  }
  const body = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, len)
  if (mask === null) return len === 0 ? [header] : [header, body]
  header.set(mask, 2 + lenBytes)
  if (len === 0) return [header]
  const masked = Buffer.from(body) // copy, then mask in place
  applyMask(masked, mask, 0)
  return [header, masked]
}

const EMPTY = Buffer.alloc(0)

/**
 * Encodes a whole close frame (one buffer). Without `code` the frame has no body (the peer sees
 * "no status", 1005). `reason` is UTF-8 and truncated on a character boundary so the body fits the
 * 125-byte control-frame limit (123 bytes of reason).
 *
 * Throws `ERR_MUMMY_WS_INVALID_ARGUMENT` for a code that may not be sent (see
 * {@link isValidCloseCode}), or a reason without a code.
 *
 * @example
 * ```ts
 * socket.end(encodeClose(1000)) // 88 02 03 e8
 * socket.end(encodeClose(err.closeCode, err.message))
 * ```
 */
export function encodeClose(code?: number, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') invalidArgument('a close reason needs a close code')
    return Buffer.concat(encodeFrame(Opcode.Close, EMPTY))
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code))
    invalidArgument(`close code ${code} may not be sent`)
  const body = Buffer.allocUnsafe(2 + 123)
  body.writeUInt16BE(code, 0)
  let n = body.write(reason, 2, 'utf8') // writes whole characters only
  // Buffer#write stops before a character that does not fit: the reason is cut on a boundary.
  n += 2
  return Buffer.concat(encodeFrame(Opcode.Close, body.subarray(0, n)))
}

/**
 * Encodes a whole data message as one frame, compressing it with `deflate` when one was negotiated
 * and the message is at least `deflate.threshold` bytes. Returns `[header, payload]` like
 * {@link encodeFrame}. With context takeover, call this in the order the messages are sent.
 *
 * @example
 * ```ts
 * socket.write(Buffer.concat(encodeMessage('text', Buffer.from(json), pmd)))
 * ```
 */
export function encodeMessage(
  kind: 'text' | 'binary',
  data: Uint8Array,
  deflate: PerMessageDeflate | null = null,
): Buffer[] {
  const opcode = kind === 'text' ? Opcode.Text : Opcode.Binary
  if (deflate !== null && data.length >= deflate.threshold) {
    return encodeFrame(opcode, deflate.deflate(data), { rsv1: true })
  }
  return encodeFrame(opcode, data)
}

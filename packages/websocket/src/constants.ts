/**
 * Frame opcodes (RFC 6455 §5.2). Opcodes 3–7 and 0xB–0xF are reserved and rejected.
 *
 * @example
 * ```ts
 * encodeFrame(Opcode.Text, Buffer.from('hi'))
 * ```
 */
export const Opcode = {
  Continuation: 0,
  Text: 1,
  Binary: 2,
  Close: 8,
  Ping: 9,
  Pong: 10,
} as const

/**
 * Well-known close status codes (RFC 6455 §7.4.1). `NoStatus` (1005) and `Abnormal` (1006) are
 * never sent on the wire: they describe a close frame without a body and a connection that ended
 * without a close frame.
 *
 * @example
 * ```ts
 * socket.write(encodeClose(CloseCode.GoingAway, 'server restart'))
 * ```
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
} as const

/**
 * `true` for a status code that may appear in a close frame: 1000–1003, 1007–1011 and the
 * application/private range 3000–4999. 1004–1006 and 1015 are reserved and never sent; 1012–2999
 * are not accepted.
 *
 * @example
 * ```ts
 * isValidCloseCode(1000) // true
 * isValidCloseCode(1005) // false: "no status" is never sent
 * isValidCloseCode(4000) // true
 * ```
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1011 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  )
}

/**
 * The default `maxMessageLen`: 64 KiB, the limit Mummy uses. It bounds a connection's memory for
 * one message (frame payloads, reassembly and inflation) to a size that is generous for chat,
 * JSON and control traffic while keeping 10 000 connections under ~640 MiB in the worst case.
 *
 * @example
 * ```ts
 * new FrameReceiver(callbacks, { maxMessageLen: 4 * DEFAULT_MAX_MESSAGE_LEN })
 * ```
 */
export const DEFAULT_MAX_MESSAGE_LEN = 64 * 1024

import { MummyError } from '@mummy/errors'

/**
 * Every error code {@link FrameReceiver} and {@link PerMessageDeflate} report, with the WebSocket
 * close code the server closes the connection with. The table is the single source of truth:
 * {@link WebSocketError} takes its close code from here, and the package README lists the same
 * codes.
 *
 * @example
 * ```ts
 * WS_ERROR_CLOSE_CODE.ERR_MUMMY_WS_MESSAGE_TOO_LARGE // 1009
 * ```
 */
export const WS_ERROR_CLOSE_CODE = {
  /** A client frame without the MASK bit (servers require masked frames). */
  ERR_MUMMY_WS_UNMASKED_FRAME: 1002,
  /** RSV2 or RSV3 set; RSV1 without permessage-deflate, on a continuation or a control frame. */
  ERR_MUMMY_WS_RESERVED_BITS: 1002,
  /** A reserved opcode (3–7, 0xB–0xF). */
  ERR_MUMMY_WS_INVALID_OPCODE: 1002,
  /** A control frame (close, ping, pong) without FIN. */
  ERR_MUMMY_WS_FRAGMENTED_CONTROL: 1002,
  /** A control frame whose payload is longer than 125 bytes. */
  ERR_MUMMY_WS_CONTROL_TOO_LONG: 1002,
  /** A continuation frame while no fragmented message is in progress. */
  ERR_MUMMY_WS_UNEXPECTED_CONTINUATION: 1002,
  /** A new text or binary frame while a fragmented message is still in progress. */
  ERR_MUMMY_WS_EXPECTED_CONTINUATION: 1002,
  /** A 64-bit payload length with the most significant bit set. */
  ERR_MUMMY_WS_INVALID_LENGTH: 1002,
  /** A close frame with a one-byte body. */
  ERR_MUMMY_WS_INVALID_CLOSE_PAYLOAD: 1002,
  /** A close frame with a status code that may not be sent (1004–1006, 1015, < 1000, 1012–2999, ≥ 5000). */
  ERR_MUMMY_WS_INVALID_CLOSE_CODE: 1002,
  /** A close frame whose reason is not valid UTF-8. */
  ERR_MUMMY_WS_INVALID_CLOSE_REASON: 1007,
  /** A text message that is not valid UTF-8 (detected as soon as the bad byte arrives). */
  ERR_MUMMY_WS_INVALID_UTF8: 1007,
  /** The compressed payload of a permessage-deflate message is not valid DEFLATE data. */
  ERR_MUMMY_WS_INFLATE_FAILED: 1007,
  /** A frame, a reassembled message or an inflated message longer than `maxMessageLen`. */
  ERR_MUMMY_WS_MESSAGE_TOO_LARGE: 1009,
} as const

/**
 * A code {@link FrameReceiver} or {@link PerMessageDeflate} reports; see
 * {@link WS_ERROR_CLOSE_CODE}.
 *
 * @example
 * ```ts
 * const code: WebSocketErrorCode = 'ERR_MUMMY_WS_INVALID_UTF8'
 * ```
 */
export type WebSocketErrorCode = keyof typeof WS_ERROR_CLOSE_CODE

/**
 * A protocol violation or an over-limit message on a WebSocket connection. `code` is stable (see
 * {@link WS_ERROR_CLOSE_CODE}) and `closeCode` is always set: the server sends a close frame with
 * it, then closes the connection.
 *
 * @example
 * ```ts
 * if (!receiver.execute(chunk)) {
 *   const err = receiver.error! // WebSocketError
 *   socket.end(encodeClose(err.closeCode))
 * }
 * ```
 */
export class WebSocketError extends MummyError {
  declare readonly code: WebSocketErrorCode
  declare readonly closeCode: number

  constructor(code: WebSocketErrorCode, message: string) {
    super(code, message, { closeCode: WS_ERROR_CLOSE_CODE[code] })
    this.name = 'WebSocketError'
  }
}

/**
 * Throws the error for a programming mistake in a call to an encoder or handshake helper (a close
 * code that may not be sent, a control payload over 125 bytes, a header value with CR or LF).
 */
export function invalidArgument(message: string): never {
  throw new MummyError('ERR_MUMMY_WS_INVALID_ARGUMENT', message)
}

/** Throws the error for an out-of-range option (a negative limit, window bits outside 8–15). */
export function invalidOption(message: string): never {
  throw new MummyError('ERR_MUMMY_INVALID_OPTION', message)
}

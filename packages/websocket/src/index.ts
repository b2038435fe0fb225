/**
 * `@mummy/websocket`: RFC 6455 WebSocket framing for servers — an incremental frame receiver, frame
 * encoders, the opening-handshake helpers, strict UTF-8 validation and RFC 7692 permessage-deflate.
 * Bytes in, events and bytes out: no IO, no sockets.
 *
 * @example
 * ```ts
 * import { FrameReceiver, Opcode, encodeClose, encodeFrame } from '@mummy/websocket'
 *
 * const receiver = new FrameReceiver({
 *   onMessage(kind, data) { socket.write(Buffer.concat(encodeFrame(kind === 'text' ? Opcode.Text : Opcode.Binary, data))) },
 *   onPing(data) { socket.write(Buffer.concat(encodeFrame(Opcode.Pong, data))) },
 *   onPong() {},
 *   onClose(code) { socket.end(code === null ? encodeClose() : encodeClose(code)) },
 * })
 * socket.on('data', (chunk) => {
 *   if (!receiver.execute(chunk)) socket.end(encodeClose(receiver.error!.closeCode))
 * })
 * ```
 *
 * @packageDocumentation
 */
export { FrameReceiver, type ReceiverCallbacks, type ReceiverOptions } from './receiver.js'
export { encodeClose, encodeFrame, encodeMessage, type EncodeFrameOptions } from './sender.js'
export { CloseCode, DEFAULT_MAX_MESSAGE_LEN, Opcode, isValidCloseCode } from './constants.js'
export { WS_ERROR_CLOSE_CODE, WebSocketError, type WebSocketErrorCode } from './errors.js'
export { Utf8Validator, isValidUtf8 } from './utf8.js'
export {
  acceptKey,
  buildUpgradeResponse,
  checkUpgradeRequest,
  chooseSubprotocol,
  type HeaderLookup,
  type UpgradeCheck,
} from './handshake.js'
export { PerMessageDeflate, type DeflateParams } from './deflate.js'
export {
  DEFAULT_DEFLATE_LEVEL,
  DEFAULT_DEFLATE_THRESHOLD,
  negotiateDeflate,
  parseExtensions,
  type DeflateOptions,
  type ExtensionOffer,
} from './extensions.js'

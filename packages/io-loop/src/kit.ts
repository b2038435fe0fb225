/**
 * `@mummy/io-loop/kit`: what every transport shares — the HTTP/1 rules a transport follows
 * (answers it writes itself, response framing, when a connection closes), status lines, the
 * hold that lets many writes of one IO callback leave as one, and option defaults. The node:net
 * transport in this package and `@mummy/uws` are both written on it, so a rule both follow is
 * written once. For transport authors; an app never needs it.
 * @packageDocumentation
 */
export { HOLD_FLUSH, releaseAtCallbackEnd, type Holder } from './hold.js'
export {
  CLOSE_GRACE,
  DEFAULT_CLOSE_TIMEOUT,
  TEXT_PLAIN,
  answerBody,
  bodyTooLarge,
} from './http1/answers.js'
export { KnownLength, closesAfter, streamFraming, type StreamFraming } from './http1/framing.js'
export { STATUS_TEXT, isBodylessStatus, statusLine, statusReason } from './status.js'
export { DEFAULT_TRANSPORT_OPTIONS, stripUndefined } from './transport.js'
export { DEFAULT_WEBSOCKET_SETTINGS } from './websocket.js'

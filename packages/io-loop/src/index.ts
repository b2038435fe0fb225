/**
 * `@mummy/io-loop`: the IO thread. Transports own sockets, parse requests with
 * `@mummy/parser`, enforce limits and timeouts, and write responses in order.
 * @packageDocumentation
 */
export { NodeTransport } from './node-transport.js'
export {
  DEFAULT_TRANSPORT_OPTIONS,
  type ResponseWriter,
  type Transport,
  type TransportOptions,
  type TransportRequest,
  type TransportWebSocket,
  type TransportStream,
  type StreamEvents,
  type BodyHead,
  type BodyControl,
  type BodySink,
  type TlsOptions,
  type ListenTarget,
  type ListenAddress,
} from './transport.js'
export { TimerWheel, type WheelEntry } from './timer-wheel.js'
export { httpDate } from './http-date.js'
export { STATUS_TEXT, statusLine, isBodylessStatus } from './status.js'
export { CLOSE_GRACE, DEFAULT_CLOSE_TIMEOUT } from './http1/answers.js'
export {
  WebSocketConnection,
  TopicTable,
  DEFAULT_WEBSOCKET_SETTINGS,
  type WebSocketSettings,
  type WebSocketEvents,
  type SendStatus,
  type BackpressurePolicy,
  type InboundKind,
} from './websocket.js'

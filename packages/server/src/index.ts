/**
 * `@mummy/server`: a multi-threaded HTTP/1.1 server for Node.js. One IO thread owns every
 * socket; complete requests are handed to a pool of worker threads that run your handlers,
 * which may block or be async.
 *
 * @example
 * ```ts
 * import { Router, createServer } from '@mummy/server'
 * const router = new Router()
 * router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!'))
 * const server = createServer(router)
 * await server.listen(8080)
 * ```
 * @packageDocumentation
 */
export { createServer } from './create-server.js'
export { Server } from './server.js'
export type { ServerOptions } from './options.js'
export type { ListenAddress, ListenTarget, TlsOptions } from '@mummy/io-loop'
export { Router } from './router.js'
export {
  Request,
  flattenHeaders,
  type Body,
  type HeadersInit,
  type ResponseSink,
  type UpgradeOptions,
} from './request.js'
export {
  WebSocket,
  publish,
  type Message,
  type SendStatus,
  type SubscribeOptions,
  type WebSocketEvent,
  type WebSocketHandler,
} from './websocket.js'
export { ResponseStream } from './stream.js'
export type { TusOptions, TusUpload, UploadOptions, UploadedFile } from '@mummy/uploads'
export { parseUploadMetadata } from '@mummy/uploads'
export {
  SseStream,
  publishEvent,
  type SseEvent,
  type SseHandler,
  type SseHandlerEvent,
} from './sse.js'
export type { DeflateOptions } from '@mummy/websocket'
export { Headers, asciiLower } from './headers.js'
export type { Handler, HandlerLike, RequestHandlerObject } from './handler.js'
export { serveStatic, type StaticOptions } from './static.js'
export {
  combinedLine,
  commonLine,
  type AccessLogEntry,
  type AccessLogOption,
} from './access-log.js'
export { serializeCookie, type CookieOptions } from './cookies.js'
export { fetchHandler, type FetchApp, type FetchContext, type FetchEnv } from './fetch.js'
export {
  consoleLogHandler,
  silentLogHandler,
  describeError,
  type LogHandler,
  type LogLevel,
} from './log.js'
export {
  DEFAULT_COMPRESSION,
  negotiateEncoding,
  isCompressibleType,
  compressBody,
  type CompressionOptions,
  type ContentCoding,
} from './compression.js'
export { MummyError, isMummyError } from '@mummy/errors'
export type {
  RouteHandler,
  RouteMatch,
  RouterOptions,
  ErrorHandler,
  MethodNotAllowedHandler,
} from '@mummy/router'

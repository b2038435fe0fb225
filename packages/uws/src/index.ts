/**
 * `@mummy/uws`: the uWebSockets.js transport for `@mummy/server` — sockets, HTTP parsing and
 * WebSocket framing by uWebSockets.js's native core, under the same `Transport` contract as the
 * node:net transport of `@mummy/io-loop`. Installing this package is what makes
 * `createServer(…, { transport: 'uws' | 'auto' })` use it.
 * @packageDocumentation
 */
export {
  UwsTransport,
  loadUws,
  type UwsTransportOptions,
  type UwsWebSocketOptions,
} from './uws-transport.js'

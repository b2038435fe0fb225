/**
 * `@mummy/sse`: Server-Sent Events in the WHATWG `text/event-stream` format — an event
 * encoder for servers and an incremental parser (what `EventSource` does) for clients and
 * tests. No IO.
 *
 * @example
 * ```ts
 * import { encodeEvent, SseParser } from '@mummy/sse'
 * const wire = encodeEvent({ event: 'tick', id: '1', data: 'hello' })
 * new SseParser((e) => console.log(e.type, e.data, e.lastEventId)).feed(wire)
 * ```
 *
 * @packageDocumentation
 */
export { encodeEvent, encodeComment, lastEventId, SSE_HEADERS, type SseEvent } from './encoder.js'
export { SseParser, type ParsedEvent, type SseParserOptions } from './parser.js'

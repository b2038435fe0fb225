import { encodeComment, encodeEvent, type SseEvent } from '@mummy/sse'
import { ResponseStream } from './stream.js'
import { currentChannel } from './websocket.js'

export type { SseEvent } from '@mummy/sse'

/**
 * An open event stream (`request.respondSSE()`), as a handler sees it: a small serializable
 * handle (just its `id`) usable from any worker or the IO thread — `new SseStream(id)`
 * anywhere refers to the same stream. Events are encoded on the thread that sends them.
 * When the client goes away, the app's `sseHandler` receives a `close` event for it.
 *
 * @example
 * ```ts
 * router.get('/events', (request) => {
 *   const stream = request.respondSSE()
 *   stream.send({ event: 'hello', data: `resuming after ${stream.lastEventId ?? 'nothing'}` })
 *   stream.subscribe('news') // every publish('news', text) arrives as a message event
 * })
 * ```
 */
export class SseStream extends ResponseStream {
  /**
   * The `Last-Event-ID` the client sent when it reconnected (on the handle `respondSSE()`
   * returned; `undefined` on handles made from an id, and when there was none).
   */
  readonly lastEventId: string | undefined

  constructor(id: number, lastEventId?: string) {
    super(id)
    this.lastEventId = lastEventId
  }

  /**
   * Sends one event. Returns `sent`, `buffered` or `dropped` as {@link ResponseStream.write}
   * does. Throws `ERR_MUMMY_SSE_INVALID_FIELD` for an `event` or `id` with a line break.
   */
  send(event: SseEvent): 'sent' | 'buffered' | 'dropped' {
    return this.write(encodeEvent(event))
  }

  /** Sends a comment (clients ignore it; it keeps proxies from timing the stream out). */
  comment(text = ''): 'sent' | 'buffered' | 'dropped' {
    return this.write(encodeComment(text))
  }

  /** Ends the stream (a client's `EventSource` will reconnect unless it closes itself). */
  close(): void {
    this.end()
  }

  /**
   * Subscribes this stream to `topic`: every text `publish(topic, data)` arrives as a
   * `message` event with that data (binary publishes go to WebSockets only), and every
   * `publishEvent(topic, event)` as that event. Where topics cross instances and `topic` keeps
   * history (`pubsub` option), a stream that came back with `Last-Event-ID` (on the handle
   * `respondSSE()` returned) first gets the events it missed, up to 1,000, on any instance.
   */
  subscribe(topic: string): void {
    currentChannel().post(['T', this.id, topic, this.lastEventId ?? null])
  }

  /** Unsubscribes this stream from `topic`. */
  unsubscribe(topic: string): void {
    currentChannel().post(['V', this.id, topic, null])
  }
}

/** Events an `sseHandler` receives: `close` once a stream is over (client gone or ended). */
export type SseHandlerEvent = 'close'

/**
 * Receives the end of every event stream, on a worker (in order with other work for the
 * same stream): for cleanup such as removing the stream's id from a store.
 *
 * @example
 * ```ts
 * export function sseHandler(stream: SseStream, event: 'close') {
 *   db.prepare('DELETE FROM listeners WHERE stream = ?').run(stream.id)
 * }
 * ```
 */
export type SseHandler = (stream: SseStream, event: SseHandlerEvent) => void | Promise<void>

/**
 * Sends `event` to every event stream subscribed to `topic` (WebSockets are not affected:
 * use `publish` for both). Unlike `publish`, the event keeps its type, id and retry (where the
 * topic keeps history across instances, its id is the history id instead). Encoded once, on
 * the IO thread; works on the IO thread and in every worker. Throws
 * `ERR_MUMMY_SSE_INVALID_FIELD` as `encodeEvent` does.
 *
 * @example
 * ```ts
 * import { publishEvent } from '@mummy/server'
 * publishEvent('room:lobby', { event: 'chat', id: String(rowId), data: JSON.stringify(message) })
 * ```
 */
export function publishEvent(topic: string, event: SseEvent): void {
  encodeEvent(event) // throws here, on the caller's thread, for a field that cannot be sent
  const { event: type, data, id, retry } = event
  currentChannel().post(['P', topic, { event: type, data, id, retry }])
}

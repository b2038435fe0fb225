import { AsyncLocalStorage } from 'node:async_hooks'
import { MummyError } from '@mummy/errors'
import { isPoolWorker, postToMain, flushToMain } from '@mummy/workers'
import { transferList, type StatusTable, type WsEvent } from './protocol.js'

/** What happened to a message given to {@link WebSocket.send}. */
export type SendStatus = 'sent' | 'buffered' | 'dropped'

/** The four events a WebSocket handler receives, in order per connection. */
export type WebSocketEvent = 'open' | 'message' | 'error' | 'close'

/**
 * What comes with an event: for `message`, the message (`text` as a string, the others as
 * bytes); for `close`, the close code and reason (1006 when the connection dropped without a
 * close frame); for `error`, a stable code and a description; nothing for `open`.
 */
export type Message =
  | { readonly kind: 'text'; readonly data: string }
  | { readonly kind: 'binary' | 'ping' | 'pong'; readonly data: Buffer }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string }

/**
 * Receives every WebSocket event, on a worker. Events of one connection arrive in order and
 * never concurrently; different connections run in parallel. It may block or be async.
 *
 * @example
 * ```ts
 * export function websocketHandler(ws: WebSocket, event: WebSocketEvent, message?: Message) {
 *   if (event === 'message' && message?.kind === 'text') ws.send(`echo: ${message.data}`)
 * }
 * ```
 */
export type WebSocketHandler = (
  ws: WebSocket,
  event: WebSocketEvent,
  message?: Message,
) => void | Promise<void>

/**
 * How a WebSocket takes a topic ({@link WebSocket.subscribe}).
 *
 * With `ids` (or `since`), every message of the topic arrives in an envelope: a text publish
 * as the text frame `{"topic":"room:1","id":"1733390000000-0","data":"<the text>"}`, a binary
 * one as a binary frame holding `{"topic":…,"id":…}`, a line feed (byte 10), then the bytes.
 * `id` is the message's history id where the topic keeps history (the `pubsub` option with
 * `history`: the same id on every instance, and the SSE id of the same message), else `null`.
 * A text frame `{"topic":…,"gap":true}` says that messages are missing at that point: `since`
 * was older than the history still kept (or not a history id, or the topic keeps none, or
 * Redis could not be read), or more than 1,000 were missed (the first 1,000 came).
 */
export interface SubscribeOptions {
  /** Messages come in the envelope, with their history ids (default `false`). */
  readonly ids?: boolean
  /**
   * The id of the last message the client got: the messages after it that history holds come
   * first (up to 1,000), then the live ones — none twice, none missing. Implies `ids`;
   * `null` or absent: live messages only.
   */
  readonly since?: string | null
}

/** Where a worker-side handle sends its commands, and how it predicts send results. */
export interface Channel {
  /** Posts `message`; `transfer` lists buffers it owns that may be moved instead of copied. */
  post(message: unknown, transfer?: ArrayBuffer[]): void
  table: StatusTable | null
  maxBackpressure: number
  policy: 'close' | 'drop'
}

/** The servers of this thread (a worker belongs to one; the IO thread may run several). */
const channels = new Set<Channel>()
/** The channel when this thread has exactly one (the fast path: no lookup). */
let only: Channel | null = null
/** Inline handlers' channel while several servers share the IO thread (created on first need). */
let scoped: AsyncLocalStorage<Channel> | null = null

/** @internal A server of this thread: handles used here post to `next`. */
export function addWebSocketChannel(next: Channel): void {
  channels.add(next)
  only = channels.size === 1 ? next : null
}

/** @internal The server closed. */
export function removeWebSocketChannel(ch: Channel): void {
  channels.delete(ch)
  only = channels.size === 1 ? (channels.values().next().value as Channel) : null
}

/**
 * @internal Runs an inline handler (on the IO thread) so that the handles it uses — now and
 * after any `await` — post to its own server's channel, however many servers share the thread.
 */
export function withChannel<T>(ch: Channel, fn: () => T): T {
  if (channels.size <= 1) return fn()
  scoped ??= new AsyncLocalStorage<Channel>()
  return scoped.run(ch, fn)
}

/** @internal The channel of this thread (for other handle types). */
export function currentChannel(): Channel {
  return current()
}

function current(): Channel {
  if (only !== null) return only
  const ch = scoped?.getStore()
  if (ch !== undefined) return ch
  if (channels.size === 0)
    throw new MummyError(
      'ERR_MUMMY_NO_SERVER',
      'no server is running in this thread: start one with createServer().listen()',
    )
  throw new MummyError(
    'ERR_MUMMY_AMBIGUOUS_SERVER',
    'several servers run in this thread: outside their handlers, use server.publish() / server.publishEvent()',
  )
}

/**
 * The bytes of `data`, copied: the caller may reuse its buffer as soon as the call returns
 * (commands leave later, batched). Small copies come from Node's buffer pool (measured
 * cheaper to clone than an exact buffer is to allocate or move); large ones own their
 * buffer and are moved to the IO thread instead of cloned ({@link transferList}).
 */
function toBytes(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)
}

/**
 * A WebSocket connection, as a handler sees it: a small serializable handle (just its `id`)
 * usable from any worker or the IO thread. `new WebSocket(id)` anywhere refers to the same
 * connection, so ids may be stored (e.g. in SQLite) and used later.
 *
 * @example
 * ```ts
 * const ws = request.upgradeToWebSocket()
 * ws.send('welcome')            // queued until the connection is open, never lost
 * ws.subscribe('room:lobby')
 * ```
 */
export class WebSocket {
  /** The connection's id: unique among the server's connections while it is open. */
  readonly id: number

  constructor(id: number) {
    this.id = id
  }

  /**
   * Sends a message: a string as `text` (UTF-8), bytes as `binary` (or as `kind` says).
   * Returns `sent` when nothing was waiting, `buffered` when it queues behind unsent bytes,
   * `dropped` when the connection is closed or over `maxBackpressure` (with the `close`
   * policy the connection is then closed with 1008).
   */
  send(
    data: string | Uint8Array,
    kind: 'text' | 'binary' = typeof data === 'string' ? 'text' : 'binary',
  ): SendStatus {
    const ch = current()
    const bytes = toBytes(data)
    const table = ch.table
    const buffered = table === null ? 0 : table.buffered(this.id)
    if (buffered < 0) return 'dropped'
    if (buffered > ch.maxBackpressure) {
      // Over the limit: with the `close` policy the IO thread must still hear of it (it closes
      // the connection and drops the message); with `drop` the message is simply not sent.
      if (ch.policy === 'close') {
        table?.posted(this.id, bytes.byteLength)
        ch.post(['s', this.id, kind, bytes], transferList(bytes))
      }
      return 'dropped'
    }
    // Counted as buffered until the IO thread takes it, so a tight loop of sends sees its own
    // backlog at once.
    table?.posted(this.id, bytes.byteLength)
    ch.post(['s', this.id, kind, bytes], transferList(bytes))
    return buffered > 0 ? 'buffered' : 'sent'
  }

  /** Starts the close handshake with `code` (default 1000) and `reason` (≤ 123 bytes). */
  close(code = 1000, reason = ''): void {
    current().post(['c', this.id, code, reason])
  }

  /**
   * Subscribes this connection to `topic`: it receives every {@link publish} to it, as
   * published — or, with `{ ids: true }` or `{ since }`, in an envelope that names the topic
   * and the message's history id (see {@link SubscribeOptions}), so a client that reconnects
   * can resume where it was, on any instance. Subscribing again to a topic changes how it is
   * received (and, with `since`, catches up again).
   *
   * @example
   * ```ts
   * // the page reconnects with ?since=<the last id it got>
   * ws.subscribe('room:1', { since: request.query.get('since') ?? null, ids: true })
   * ```
   */
  subscribe(topic: string, options?: SubscribeOptions): void {
    if (options === undefined) {
      current().post(['S', this.id, topic, null])
      return
    }
    const { ids, since } = options
    if (ids !== undefined && typeof ids !== 'boolean')
      throw new MummyError('ERR_MUMMY_INVALID_OPTION', `ids must be a boolean (got ${String(ids)})`)
    if (since !== undefined && since !== null && typeof since !== 'string')
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `since must be a string or null (got ${typeof since})`,
      )
    const withIds = ids === true || (since !== undefined && since !== null)
    current().post(['S', this.id, topic, withIds ? { since: since ?? null } : null])
  }

  /** Unsubscribes this connection from `topic` (however it was subscribed). */
  unsubscribe(topic: string): void {
    current().post(['U', this.id, topic, null])
  }

  /** Publishes to `topic`, to every subscriber except this connection. */
  publish(
    topic: string,
    data: string | Uint8Array,
    kind: 'text' | 'binary' = typeof data === 'string' ? 'text' : 'binary',
  ): void {
    const bytes = toBytes(data)
    current().post(['p', topic, kind, bytes, this.id], transferList(bytes))
  }

  /** `false` once the connection is known to be closed. */
  get isOpen(): boolean {
    const table = current().table
    return table === null || table.buffered(this.id) >= 0
  }

  /** JSON form: `{ id }`. */
  toJSON(): { id: number } {
    return { id: this.id }
  }
}

/**
 * Publishes `data` to every WebSocket subscribed to `topic`. Works on the IO thread and in
 * every worker (app-module handlers have no `server` object).
 *
 * @example
 * ```ts
 * import { publish } from '@mummy/server'
 * publish('news', JSON.stringify({ headline: 'hello' }))
 * ```
 */
export function publish(
  topic: string,
  data: string | Uint8Array,
  kind: 'text' | 'binary' = typeof data === 'string' ? 'text' : 'binary',
): void {
  const bytes = toBytes(data)
  current().post(['p', topic, kind, bytes, 0], transferList(bytes))
}

/**
 * Longest a command may wait in a worker's outbox while a handler keeps running (ms). Commands
 * are otherwise sent together when the handler returns or awaits: a handler that sends many
 * messages costs one hand-off, not one per message.
 */
const MAX_COMMAND_DELAY_MS = 2

/** @internal Worker-side channel: commands are batched per handler run, never held > 2 ms. */
export function workerChannel(
  table: StatusTable,
  maxBackpressure: number,
  policy: 'close' | 'drop',
): Channel {
  if (!isPoolWorker()) throw new MummyError('ERR_MUMMY_NOT_IN_WORKER', 'not in a worker')
  let oldest = -1
  return {
    post(message, transfer) {
      postToMain(message, transfer)
      const now = performance.now()
      if (oldest < 0) {
        oldest = now
        // The worker's own end-of-turn flush sends it; forget the mark once that has run.
        setImmediate(() => (oldest = -1))
      } else if (now - oldest >= MAX_COMMAND_DELAY_MS) {
        flushToMain()
        oldest = -1
      }
    },
    table,
    maxBackpressure,
    policy,
  }
}

/** @internal Turns a WebSocket event tuple into what the handler receives. */
export function toMessage(event: WsEvent): Message | undefined {
  switch (event[0]) {
    case 'message': {
      const data = Buffer.from(event[2].buffer, event[2].byteOffset, event[2].byteLength)
      return event[1] === 'text'
        ? { kind: 'text', data: data.toString('utf8') }
        : { kind: event[1], data }
    }
    case 'close':
      return { kind: 'close', code: event[1], reason: event[2] }
    case 'error':
      return { kind: 'error', code: event[1], message: event[2] }
    default:
      return undefined
  }
}

/**
 * Topics across instances: the seam between the server's local topics (WebSockets in the
 * transport, event streams in the SSE hub) and a pub/sub engine shared by several instances,
 * such as `@mummy/redis`. The server knows only the {@link PubSubEngine} contract.
 *
 * Local subscribers are always served locally: a publish is delivered here first and then
 * handed to the engine, which never gives an instance back its own messages — nothing is
 * delivered twice. The engine subscribes to a topic once per instance, with the first local
 * subscriber (WebSocket or event stream), and lets go with the last.
 */
import type { Transport, TransportWebSocket } from '@mummy/io-loop'
import { encodeEvent, type SseEvent } from '@mummy/sse'
import type { LogLevel } from './log.js'
import type { SseHub } from './sse-hub.js'
import type { IdSubscriptions } from './ws-ids.js'

/** A message crossing instances: a WebSocket publish (text or binary) or an event-stream event. */
export type EngineMessage =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'event'; event: { event?: string; data: string; id?: string } }

/**
 * A pub/sub engine shared by the instances of one app (`@mummy/redis`'s `redisPubSub()` is
 * one). The server calls `start` when it listens, `subscribe`/`unsubscribe` as its first
 * subscriber of a topic comes and its last goes, `publish` after delivering a message locally,
 * `history` when an event stream resumes with `Last-Event-ID`, and `close` when it closes.
 */
export interface PubSubEngine {
  /**
   * Connects; `deliver` then receives every message other instances publish to subscribed
   * topics, with its history id where the topic keeps history.
   */
  start(
    deliver: (topic: string, message: EngineMessage, historyId?: string | null) => void,
  ): Promise<void>
  /** This instance has its first subscriber of `topic`. */
  subscribe(topic: string): void
  /** This instance's last subscriber of `topic` left. */
  unsubscribe(topic: string): void
  /**
   * Hands a message published here to the other instances. Resolves with the message's
   * history id where the topic keeps history (it becomes the event's SSE id), else `null`;
   * never rejects (a message that cannot leave is counted as lost by the engine).
   */
  publish(topic: string, message: EngineMessage): Promise<string | null>
  /** Whether `topic` keeps history. */
  keepsHistory(topic: string): boolean
  /**
   * Entries of `topic` after `sinceId`, oldest first, at most `limit`; `null` when `sinceId`
   * is older than the history still held, or the topic keeps none.
   */
  history(
    topic: string,
    sinceId: string,
    limit: number,
  ): Promise<Array<{ id: string; message: EngineMessage }> | null>
  /** Disconnects. */
  close(): Promise<void>
}

/** Events replayed at most to a stream that resumes on a topic with history. */
export const CATCH_UP_LIMIT = 1000

/** `a` after `b`, for history ids (`ms-seq`, as Redis Streams writes them). */
export function historyAfter(a: string, b: string): boolean {
  const [am = '', as = '0'] = a.split('-')
  const [bm = '', bs = '0'] = b.split('-')
  if (am.length !== bm.length) return am.length > bm.length
  return am === bm ? Number(as) > Number(bs) : am > bm
}

/**
 * The server's topics: publishing to the WebSockets (through the transport) and event streams
 * subscribed here, and — with an engine — to those of the other instances.
 */
export class Topics {
  readonly engine: PubSubEngine | null
  /** The WebSockets that take topics with ids (and catch up from history). */
  readonly ids: IdSubscriptions
  readonly #transport: () => Transport | null
  readonly #sse: SseHub
  readonly #log: (level: LogLevel, message: string) => void
  /** Topic → local subscribers (WebSocket and event-stream subscriptions). */
  readonly #counts = new Map<string, number>()
  #started = false

  constructor(
    engine: PubSubEngine | null,
    transport: () => Transport | null,
    sse: SseHub,
    ids: IdSubscriptions,
    log: (level: LogLevel, message: string) => void,
  ) {
    this.engine = engine
    this.ids = ids
    this.#transport = transport
    this.#sse = sse
    this.#log = log
  }

  /** Connects the engine (when there is one). */
  async start(): Promise<void> {
    if (this.engine === null || this.#started) return
    await this.engine.start((topic, message, id) => this.#received(topic, message, id ?? null))
    this.#started = true
    for (const topic of this.#counts.keys()) this.engine.subscribe(topic)
  }

  /** Disconnects the engine. */
  async close(): Promise<void> {
    if (this.engine === null || !this.#started) return
    this.#started = false
    await this.engine.close()
  }

  /** Topics with local subscribers. */
  get topics(): number {
    return this.#counts.size
  }

  /** A local subscription to `topic` was made. */
  added(topic: string): void {
    if (this.engine === null) return
    const n = this.#counts.get(topic) ?? 0
    this.#counts.set(topic, n + 1)
    if (n === 0 && this.#started) this.engine.subscribe(topic)
  }

  /** A local subscription to `topic` ended. */
  removed(topic: string): void {
    if (this.engine === null) return
    const n = this.#counts.get(topic)
    if (n === undefined) return
    if (n > 1) {
      this.#counts.set(topic, n - 1)
      return
    }
    this.#counts.delete(topic)
    if (this.#started) this.engine.unsubscribe(topic)
  }

  /**
   * Publishes here — to WebSockets (framed once, not to `except`; those that take the topic
   * with ids get its envelope) and, for text, to event streams (encoded once) — then to the
   * other instances. Returns the local count.
   */
  publish(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    except?: TransportWebSocket,
  ): number {
    const engine = this.engine
    if (engine === null || !this.#started) return this.#deliver(topic, kind, data, null, except)
    const message: EngineMessage =
      kind === 'text' ? { kind, data: text(data) } : { kind, data: new Uint8Array(data) }
    if (!engine.keepsHistory(topic)) {
      const delivered = this.#deliver(topic, kind, data, null, except)
      void engine.publish(topic, message)
      return delivered
    }
    // On a topic with history, WebSockets that take it with ids and event streams wait for
    // the message's history id, which the other instances get too.
    const delivered = this.#transport()?.publish(topic, kind, data, except) ?? 0
    const later = kind === 'text' ? Buffer.from(data) : (message.data as Uint8Array)
    void engine.publish(topic, message).then((id) => {
      this.#later(topic, () => {
        this.ids.publish(topic, kind, later, id, except)
        if (kind === 'text' && this.#sse.has(topic))
          this.#sse.publish(topic, id === null ? { data: text(later) } : { data: text(later), id })
      })
    })
    return delivered
  }

  /** To this instance's subscribers. */
  #deliver(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    id: string | null,
    except?: TransportWebSocket,
  ): number {
    const delivered =
      (this.#transport()?.publish(topic, kind, data, except) ?? 0) +
      this.ids.publish(topic, kind, data, id, except)
    if (kind !== 'text' || !this.#sse.has(topic)) return delivered
    const event: SseEvent = id === null ? { data: text(data) } : { data: text(data), id }
    return delivered + this.#sse.publish(topic, event)
  }

  /**
   * An event published here: delivered locally and to the other instances. Where the topic
   * keeps history, the event takes its history id, so local delivery waits for it (in order:
   * the engine answers in the order it was asked). Returns the local count when known now.
   */
  publishEvent(topic: string, event: SseEvent): number {
    const engine = this.engine
    if (engine === null || !this.#started) return this.#sse.publish(topic, event)
    const message: EngineMessage = { kind: 'event', event: plain(event) }
    if (!engine.keepsHistory(topic)) {
      const delivered = this.#sse.publish(topic, event)
      void engine.publish(topic, message)
      return delivered
    }
    encodeEvent(event) // a field that cannot be sent throws here, to the caller, as without an engine
    void engine.publish(topic, message).then((id) => {
      this.#later(topic, () => this.#sse.publish(topic, id === null ? event : { ...event, id }))
    })
    return 0
  }

  /** Local delivery once the engine answered: a failure is logged, never an unhandled rejection. */
  #later(topic: string, deliver: () => void): void {
    try {
      deliver()
    } catch (error) {
      this.#log('error', `delivering a message of topic ${topic}: ${String(error)}`)
    }
  }

  /** A message from another instance (`id`: its history id). */
  #received(topic: string, message: EngineMessage, id: string | null): void {
    try {
      if (message.kind === 'event')
        this.#sse.publish(topic, id === null ? message.event : { ...message.event, id })
      else
        this.#deliver(
          topic,
          message.kind,
          message.kind === 'text' ? Buffer.from(message.data) : message.data,
          id,
        )
    } catch (error) {
      this.#log('error', `delivering a message of topic ${topic}: ${String(error)}`)
    }
  }
}

/** UTF-8 bytes as a string. */
function text(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString()
}

/** The fields of an event that cross instances. */
function plain(event: SseEvent): { event?: string; data: string; id?: string } {
  const out: { event?: string; data: string; id?: string } = { data: event.data }
  if (event.event !== undefined) out.event = event.event
  if (event.id !== undefined) out.id = event.id
  return out
}

/**
 * The event streams of the IO thread: their topics, `publishEvent` to a topic, the heartbeat
 * comment that keeps idle streams alive through proxies, and the `close` event handed to the
 * app's `sseHandler` when a stream ends.
 */
import type { Executor } from './executor.js'
import { JOB_SSE, type SseJob } from './protocol.js'
import type { SseListener, StreamHub } from './streams.js'

const HEARTBEAT = Buffer.from(':\n', 'latin1')

/** The event streams of one server. */
export class SseHub implements SseListener {
  readonly #executor: () => Executor
  #streams: StreamHub | null = null
  /** Topic → event streams subscribed to it. */
  readonly #topics = new Map<string, Set<number>>()
  /** Event stream → its topics. */
  readonly #subscriptions = new Map<number, Set<string>>()
  #heartbeat: NodeJS.Timeout | null = null
  /** Set when the executor is closing: `close` events are no longer handed to it. */
  closing = false

  /** @param executor - where `close` events go (read when the first one comes). */
  constructor(executor: () => Executor) {
    this.#executor = executor
  }

  /** The streams the event streams are among. */
  attach(streams: StreamHub): void {
    this.#streams = streams
  }

  /** Whether any event stream is subscribed to `topic`. */
  has(topic: string): boolean {
    return this.#topics.has(topic)
  }

  topic(op: 'T' | 'V', id: number, topic: string): void {
    const open = this.#streams?.get(id)
    if (open === undefined || !open.sse) return
    let set = this.#topics.get(topic)
    let mine = this.#subscriptions.get(id)
    if (op === 'T') {
      if (set === undefined) this.#topics.set(topic, (set = new Set()))
      if (mine === undefined) this.#subscriptions.set(id, (mine = new Set()))
      set.add(id)
      mine.add(topic)
    } else if (set !== undefined) {
      set.delete(id)
      mine?.delete(topic)
      if (set.size === 0) this.#topics.delete(topic)
    }
  }

  closed(id: number): void {
    const mine = this.#subscriptions.get(id)
    if (mine !== undefined) {
      this.#subscriptions.delete(id)
      for (const topic of mine) {
        const set = this.#topics.get(topic)
        set?.delete(id)
        if (set?.size === 0) this.#topics.delete(topic)
      }
    }
    if (!this.closing) this.#executor().submit([JOB_SSE, id, 'close'] satisfies SseJob, id)
  }

  /** Writes an encoded event to every event stream subscribed to `topic`; returns how many. */
  publish(topic: string, event: Uint8Array): number {
    const ids = this.#topics.get(topic)
    if (ids === undefined || this.#streams === null) return 0
    let delivered = 0
    for (const id of ids) if (this.#streams.write(id, event) !== 'dropped') delivered++
    return delivered
  }

  /** Every `after` ms without an event, a stream gets a comment (`0` = never). */
  startHeartbeat(after: number): void {
    if (after <= 0) return
    this.#heartbeat = setInterval(() => this.#beat(after), Math.max(100, after / 4))
    this.#heartbeat.unref()
  }

  stop(): void {
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat)
    this.#heartbeat = null
  }

  #beat(after: number): void {
    if (this.#streams === null) return
    const now = Date.now()
    for (const [id, open] of this.#streams.entries())
      if (open.sse && now - open.lastWrite >= after) this.#streams.write(id, HEARTBEAT)
  }
}

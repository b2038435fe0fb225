/**
 * The event streams of the IO thread: their topics, `publishEvent` to a topic, the heartbeat
 * comment that keeps idle streams alive through proxies, the catch-up of a stream that
 * resumes with `Last-Event-ID` on a topic with history, and the `close` event handed to the
 * app's `sseHandler` when a stream ends.
 */
import { encodeEvent, type SseEvent } from '@mummy/sse'
import type { Executor } from './executor.js'
import { JOB_SSE, type SseJob } from './protocol.js'
import { CATCH_UP_LIMIT, historyAfter, type Topics } from './pubsub.js'
import type { SseListener, StreamHub } from './streams.js'

/** A stream catching up on a topic: live events wait here until the history is written. */
interface CatchUp {
  held: Array<[id: string | undefined, bytes: Uint8Array]>
}

/** Most live events held for one stream while its history is read. */
const MAX_HELD = 10_000

const HEARTBEAT = Buffer.from(':\n', 'latin1')

/** The event streams of one server. */
export class SseHub implements SseListener {
  readonly #executor: () => Executor
  #streams: StreamHub | null = null
  /** Topic → event streams subscribed to it. */
  readonly #topics = new Map<string, Set<number>>()
  /** Event stream → its topics. */
  readonly #subscriptions = new Map<number, Set<string>>()
  /** Stream → topic → its catch-up in progress. */
  readonly #catchingUp = new Map<number, Map<string, CatchUp>>()
  #bridge: Topics | null = null
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

  /** Topics across instances: told of every topic a stream takes and leaves. */
  bridge(bridge: Topics): void {
    if (bridge.engine !== null) this.#bridge = bridge
  }

  /** Whether any event stream is subscribed to `topic`. */
  has(topic: string): boolean {
    return this.#topics.has(topic)
  }

  topic(op: 'T' | 'V', id: number, topic: string, since: string | null = null): void {
    const open = this.#streams?.get(id)
    if (open === undefined || !open.sse) return
    let set = this.#topics.get(topic)
    let mine = this.#subscriptions.get(id)
    if (op === 'T') {
      if (mine?.has(topic) === true) return
      if (set === undefined) this.#topics.set(topic, (set = new Set()))
      if (mine === undefined) this.#subscriptions.set(id, (mine = new Set()))
      set.add(id)
      mine.add(topic)
      this.#bridge?.added(topic)
      const engine = this.#bridge?.engine
      if (since !== null && engine?.keepsHistory(topic) === true) this.#catchUp(id, topic, since)
    } else if (set !== undefined && mine?.delete(topic) === true) {
      this.#catchingUp.get(id)?.delete(topic)
      set.delete(id)
      if (set.size === 0) this.#topics.delete(topic)
      this.#bridge?.removed(topic)
    }
  }

  closed(id: number): void {
    const mine = this.#subscriptions.get(id)
    this.#catchingUp.delete(id)
    if (mine !== undefined) {
      this.#subscriptions.delete(id)
      for (const topic of mine) {
        const set = this.#topics.get(topic)
        set?.delete(id)
        if (set?.size === 0) this.#topics.delete(topic)
        this.#bridge?.removed(topic)
      }
    }
    if (!this.closing) this.#executor().submit([JOB_SSE, id, 'close'] satisfies SseJob, id)
  }

  /**
   * Writes `event` to every event stream subscribed to `topic`; returns how many. (A stream
   * still catching up holds it until its history is written.)
   */
  publish(topic: string, event: SseEvent | Uint8Array): number {
    const ids = this.#topics.get(topic)
    if (ids === undefined || this.#streams === null) return 0
    const bytes = event instanceof Uint8Array ? event : Buffer.from(encodeEvent(event))
    let delivered = 0
    for (const id of ids) {
      const catching =
        this.#catchingUp.size === 0 ? undefined : this.#catchingUp.get(id)?.get(topic)
      if (catching !== undefined) {
        if (catching.held.length < MAX_HELD) {
          catching.held.push([event instanceof Uint8Array ? undefined : event.id, bytes])
          delivered++
        } else this.#streams.get(id)?.stream.abort()
      } else if (this.#streams.write(id, bytes) !== 'dropped') delivered++
    }
    return delivered
  }

  /**
   * Stream `id` resumes `topic` after `since`: what history holds after it is written first,
   * then the live events that came meanwhile and are newer.
   */
  #catchUp(id: number, topic: string, since: string): void {
    const engine = this.#bridge?.engine
    if (engine === null || engine === undefined) return
    const catching: CatchUp = { held: [] }
    let mine = this.#catchingUp.get(id)
    if (mine === undefined) this.#catchingUp.set(id, (mine = new Map()))
    mine.set(topic, catching)
    void engine
      .history(topic, since, CATCH_UP_LIMIT)
      .catch(() => null)
      .then((entries) => {
        if (mine.get(topic) !== catching || this.#streams === null) return
        mine.delete(topic)
        if (mine.size === 0 && this.#catchingUp.get(id) === mine) this.#catchingUp.delete(id)
        let last = since
        for (const entry of entries ?? []) {
          const message = entry.message
          // (Binary publishes are for WebSockets only.)
          if (message.kind === 'binary') continue
          const event: SseEvent =
            message.kind === 'event'
              ? { ...message.event, id: entry.id }
              : { data: message.data, id: entry.id }
          let bytes: Buffer
          try {
            bytes = Buffer.from(encodeEvent(event))
          } catch {
            continue // (written by something else than an instance of this server)
          }
          this.#streams.write(id, bytes)
          last = entry.id
        }
        for (const [eventId, bytes] of catching.held)
          if (eventId === undefined || historyAfter(eventId, last)) this.#streams.write(id, bytes)
      })
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

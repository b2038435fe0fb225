/**
 * WebSockets that take a topic with ids (`ws.subscribe(topic, { ids: true })` or
 * `{ since }`): each message of the topic reaches them in an envelope that names the topic and
 * the message's history id, and a connection that resumes after an id first gets what history
 * holds after it — the same catch-up event streams get with `Last-Event-ID`, on any instance.
 *
 * An envelope is built once per message and published to a second, internal topic of the
 * transport (so fan-out stays the transport's: framed once, backpressure per connection); a
 * connection catching up joins that topic only once its history is written, and the live
 * messages that came meanwhile wait for it here, newer ones only, so none is missing and
 * none comes twice.
 */
import type { Transport, TransportWebSocket } from '@mummy/io-loop'
import { CATCH_UP_LIMIT, historyAfter, type EngineMessage, type PubSubEngine } from './pubsub.js'

/** The transport topic that carries `topic`'s envelopes (no app topic starts with NUL). */
function envelopeTopic(topic: string): string {
  return `\u0000ids\u0000${topic}`
}

/** A message ready for the wire. */
interface Frame {
  kind: 'text' | 'binary'
  bytes: Uint8Array
}

/**
 * The envelope of one message: a text message becomes the text frame
 * `{"topic":…,"id":…,"data":…}`; a binary one the binary frame `{"topic":…,"id":…}`, a line
 * feed, then its bytes (JSON never holds a raw line feed).
 */
export function envelope(
  topic: string,
  kind: 'text' | 'binary',
  data: Uint8Array,
  id: string | null,
): Frame {
  if (kind === 'text') {
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString()
    return { kind, bytes: Buffer.from(JSON.stringify({ topic, id, data: text })) }
  }
  const head = Buffer.from(`${JSON.stringify({ topic, id })}\n`)
  const bytes = new Uint8Array(head.byteLength + data.byteLength)
  bytes.set(head, 0)
  bytes.set(data, head.byteLength)
  return { kind, bytes }
}

/** The notice that messages of `topic` are missing here (too old for history, or too many). */
function gapFrame(topic: string): Frame {
  return { kind: 'text', bytes: Buffer.from(JSON.stringify({ topic, gap: true })) }
}

/** A connection reading history: live envelopes wait here until it is written. */
interface CatchUp {
  conn: TransportWebSocket
  held: Array<[id: string | null, frame: Frame]>
}

/** Most live messages held for one connection while its history is read. */
const MAX_HELD = 10_000

/** The WebSockets of one server that take topics with ids. */
export class IdSubscriptions {
  readonly #transport: () => Transport | null
  readonly #engine: PubSubEngine | null
  /** Topic → connections taking it with ids (catching up included). */
  readonly #counts = new Map<string, number>()
  /** Connection id → its topics taken with ids. */
  readonly #mine = new Map<number, Set<string>>()
  /** Topic → connection id → its catch-up in progress. */
  readonly #catching = new Map<string, Map<number, CatchUp>>()

  constructor(transport: () => Transport | null, engine: PubSubEngine | null) {
    this.#transport = transport
    this.#engine = engine
  }

  /** Whether any connection takes `topic` with ids. */
  has(topic: string): boolean {
    return this.#counts.has(topic)
  }

  /**
   * `conn` takes `topic` with ids; with `since`, after the history it missed (a connection
   * that already had the topic with ids starts over from `since`).
   */
  join(conn: TransportWebSocket, topic: string, since: string | null): void {
    let mine = this.#mine.get(conn.id)
    if (mine?.has(topic) === true) {
      if (since === null) return
      this.leave(conn, topic)
      mine = this.#mine.get(conn.id)
    }
    if (mine === undefined) this.#mine.set(conn.id, (mine = new Set()))
    mine.add(topic)
    this.#counts.set(topic, (this.#counts.get(topic) ?? 0) + 1)
    const transport = this.#transport()
    if (since === null) {
      transport?.subscribe(conn, envelopeTopic(topic))
      return
    }
    const engine = this.#engine
    if (engine === null || !engine.keepsHistory(topic)) {
      send(conn, gapFrame(topic))
      transport?.subscribe(conn, envelopeTopic(topic))
      return
    }
    const catching: CatchUp = { conn, held: [] }
    let waiting = this.#catching.get(topic)
    if (waiting === undefined) this.#catching.set(topic, (waiting = new Map()))
    waiting.set(conn.id, catching)
    void engine
      .history(topic, since, CATCH_UP_LIMIT)
      .catch(() => null)
      .then((entries) => this.#caughtUp(topic, since, catching, entries))
  }

  /** History read for a catch-up: written, then the live messages that are newer, then live. */
  #caughtUp(
    topic: string,
    since: string,
    catching: CatchUp,
    entries: Array<{ id: string; message: EngineMessage }> | null,
  ): void {
    const conn = catching.conn
    const waiting = this.#catching.get(topic)
    if (waiting?.get(conn.id) !== catching) return // left, closed, or started over
    waiting.delete(conn.id)
    if (waiting.size === 0) this.#catching.delete(topic)
    let last = since
    if (entries === null) send(conn, gapFrame(topic))
    else {
      for (const { id, message } of entries) {
        last = id
        // (Events are for event streams only.)
        if (message.kind === 'text')
          send(conn, envelope(topic, 'text', Buffer.from(message.data), id))
        else if (message.kind === 'binary') send(conn, envelope(topic, 'binary', message.data, id))
      }
      // A full page: there may be more than one catch-up writes.
      if (entries.length >= CATCH_UP_LIMIT) send(conn, gapFrame(topic))
    }
    for (const [id, frame] of catching.held)
      if (id === null || historyAfter(id, last)) send(conn, frame)
    this.#transport()?.subscribe(conn, envelopeTopic(topic))
  }

  /** `conn` no longer takes `topic` with ids. */
  leave(conn: TransportWebSocket, topic: string): void {
    const mine = this.#mine.get(conn.id)
    if (mine?.delete(topic) !== true) return
    if (mine.size === 0) this.#mine.delete(conn.id)
    this.#forget(conn.id, topic)
    this.#transport()?.unsubscribe(conn, envelopeTopic(topic))
  }

  /** Connection `id` closed (the transport has dropped its subscriptions). */
  closed(id: number): void {
    const mine = this.#mine.get(id)
    if (mine === undefined) return
    this.#mine.delete(id)
    for (const topic of mine) this.#forget(id, topic)
  }

  #forget(id: number, topic: string): void {
    const n = this.#counts.get(topic) ?? 0
    if (n > 1) this.#counts.set(topic, n - 1)
    else this.#counts.delete(topic)
    const waiting = this.#catching.get(topic)
    if (waiting?.delete(id) === true && waiting.size === 0) this.#catching.delete(topic)
  }

  /**
   * A message of `topic` (history id `id`, or `null`) for the connections taking it with ids,
   * except `except`; returns how many it went to (or waits for, catching up).
   */
  publish(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    id: string | null,
    except?: TransportWebSocket,
  ): number {
    if (!this.#counts.has(topic)) return 0
    const frame = envelope(topic, kind, data, id)
    let delivered =
      this.#transport()?.publish(envelopeTopic(topic), frame.kind, frame.bytes, except) ?? 0
    const waiting = this.#catching.get(topic)
    if (waiting !== undefined)
      for (const catching of waiting.values()) {
        if (catching.conn === except) continue
        if (catching.held.length < MAX_HELD) {
          catching.held.push([id, frame])
          delivered++
        } else catching.conn.close(1013, 'too far behind')
      }
    return delivered
  }
}

function send(conn: TransportWebSocket, frame: Frame): void {
  conn.send(frame.kind, frame.bytes)
}

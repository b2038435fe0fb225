/**
 * The streamed responses of the IO thread (`respondStream`, event streams): opened by a
 * worker's `h` message, written by `w`, ended by `e`, dropped by `x`. Writes that overtake
 * their stream's head (posted by another worker) wait for it, in order; a reader more than
 * `limit` bytes behind loses its connection, because a body cannot skip bytes.
 */
import type { ResponseWriter, SendStatus, TransportStream } from '@mummy/io-loop'
import type { LogHandler } from './log.js'
import type {
  SseTopicMessage,
  StatusTable,
  StreamEndMessage,
  StreamWriteMessage,
} from './protocol.js'

/** A command for one streamed response. */
export type StreamCommand = StreamWriteMessage | StreamEndMessage | SseTopicMessage

/** What the streams tell the event-stream hub. */
export interface SseListener {
  /** Event stream `id` is over (or never opened). */
  closed(id: number): void
  /** Subscribe (`T`) or unsubscribe (`V`) open event stream `id`. */
  topic(op: 'T' | 'V', id: number, topic: string): void
}

/** An open streamed response. */
export interface OpenStream {
  readonly stream: TransportStream
  /** An event stream (`text/event-stream`, with topics and heartbeats). */
  readonly sse: boolean
  /** When it was last written to (ms). */
  lastWrite: number
}

/** The streamed responses of one server. */
export class StreamHub {
  readonly #table: StatusTable
  readonly #log: LogHandler
  readonly #limit: number
  readonly #sse: SseListener
  readonly #open = new Map<number, OpenStream>()
  /** Commands that reached a stream before its head did, by id. */
  readonly #early = new Map<number, StreamCommand[]>()

  /**
   * @param limit - unsent bytes above which a stream's connection is closed.
   * @param sse - told of event streams' topics and ends.
   */
  constructor(table: StatusTable, log: LogHandler, limit: number, sse: SseListener) {
    this.#table = table
    this.#log = log
    this.#limit = limit
    this.#sse = sse
  }

  /** Open streams. */
  get size(): number {
    return this.#open.size
  }

  /** Open stream `id`, if any. */
  get(id: number): OpenStream | undefined {
    return this.#open.get(id)
  }

  /** Every open stream, by id. */
  entries(): IterableIterator<[number, OpenStream]> {
    return this.#open.entries()
  }

  /** Starts streamed response `id` on `res` (or releases the id when the client is gone). */
  open(
    res: ResponseWriter | undefined,
    id: number,
    status: number,
    headers: string[],
    sse: boolean,
    length: number,
  ): void {
    if (res === undefined || res.closed || res.ended) {
      this.#table.release(id)
      this.#early.delete(id)
      if (sse) this.#sse.closed(id)
      return
    }
    const stream = res.stream(
      status,
      headers,
      {
        onDrain: () => this.#table.setBuffered(id, 0),
        onClose: () => {
          this.#open.delete(id)
          this.#table.release(id)
          if (sse) this.#sse.closed(id)
        },
      },
      false,
      length,
    )
    if (!stream.closed) this.#open.set(id, { stream, sse, lastWrite: Date.now() })
    const early = this.#early.get(id)
    if (early !== undefined) {
      this.#early.delete(id)
      for (const message of early) this.command(message)
    }
  }

  /** Write (`w`), end (`e`), drop (`x`) or (un)subscribe (`T`, `V`) a streamed response. */
  command(message: StreamCommand): void {
    const id = message[1]
    const open = this.#open.get(id)
    if (open === undefined) {
      if (this.#table.isOpen(id)) {
        // Claimed, and its head is still on its way from the worker that opened it.
        const early = this.#early.get(id)
        if (early !== undefined) early.push(message)
        else this.#early.set(id, [message])
      } else if (message[0] === 'w') this.#table.taken(id, message[2].byteLength)
      return
    }
    switch (message[0]) {
      case 'e':
        open.stream.end()
        return
      case 'x':
        this.#log('debug', `streamed response ${id}: over maxBackpressure, closing the connection`)
        open.stream.abort()
        return
      case 'T':
      case 'V':
        this.#sse.topic(message[0], id, message[2])
        return
      case 'w':
        this.#table.taken(id, message[2].byteLength)
        this.write(id, message[2])
        return
    }
  }

  /**
   * Writes to stream `id`, held to the end of this IO callback; a reader more than the limit
   * behind loses the connection instead.
   */
  write(id: number, bytes: Uint8Array): SendStatus {
    const open = this.#open.get(id)
    if (open === undefined) return 'dropped'
    const stream = open.stream
    if (stream.bufferedAmount > this.#limit) {
      this.#log('debug', `streamed response ${id}: over maxBackpressure, closing the connection`)
      stream.abort()
      return 'dropped'
    }
    stream.hold()
    const status = stream.write(bytes)
    this.#table.setBuffered(id, stream.bufferedAmount)
    open.lastWrite = Date.now()
    return status
  }

  /** Ends every open stream (`sseOnly`: every event stream). */
  endAll(sseOnly: boolean): void {
    for (const open of this.#open.values()) if (!sseOnly || open.sse) open.stream.end()
  }
}

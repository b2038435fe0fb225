/**
 * The streamed responses of the IO thread (`respondStream`, event streams): opened by a
 * worker's `h` message, written by `w`, ended by `e`, dropped by `x`. Writes that overtake
 * their stream's head (posted by another worker) wait for it, in order; a reader more than
 * `limit` bytes behind loses its connection, because a body cannot skip bytes.
 */
import fs from 'node:fs'
import type { ResponseWriter, SendStatus, TransportStream } from '@mummy/io-loop'
import type { LogHandler } from './log.js'
import type {
  FileMessage,
  SseTopicMessage,
  StatusTable,
  StreamEndMessage,
  StreamWriteMessage,
} from './protocol.js'

/** A command for one streamed response. */
export type StreamCommand = StreamWriteMessage | StreamEndMessage | SseTopicMessage | FileMessage

/** Bytes read from a file per write. */
const FILE_PIECE = 64 * 1024
/** Unsent bytes of a file above which reading it waits for the client. */
const FILE_HIGH_WATER = 512 * 1024

/** What the streams tell the event-stream hub. */
export interface SseListener {
  /** Event stream `id` is over (or never opened). */
  closed(id: number): void
  /**
   * Subscribe (`T`, catching up after `since` where the topic keeps history) or unsubscribe
   * (`V`) open event stream `id`.
   */
  topic(op: 'T' | 'V', id: number, topic: string, since: string | null): void
}

/** An open streamed response. */
export interface OpenStream {
  readonly stream: TransportStream
  /** An event stream (`text/event-stream`, with topics and heartbeats). */
  readonly sse: boolean
  /** When it was last written to (ms). */
  lastWrite: number
  /** Called once what was written so far has gone to the kernel (a file being sent waits). */
  onDrain: (() => void) | null
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
        onDrain: () => {
          this.#table.setBuffered(id, 0)
          const open = this.#open.get(id)
          const then = open?.onDrain
          if (then != null) {
            open!.onDrain = null
            then()
          }
        },
        onClose: () => {
          // A file waiting for the client to catch up sees the end, and closes its descriptor.
          const waiting = this.#open.get(id)?.onDrain
          this.#open.delete(id)
          this.#table.release(id)
          if (sse) this.#sse.closed(id)
          waiting?.()
        },
      },
      false,
      length,
    )
    if (!stream.closed) this.#open.set(id, { stream, sse, lastWrite: Date.now(), onDrain: null })
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
      else if (message[0] === 'f') fs.close(message[2], () => {})
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
        this.#sse.topic(message[0], id, message[2], message[3])
        return
      case 'f':
        this.#sendFile(id, open, message[2], message[3], message[4])
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

  /**
   * Sends `length` bytes of file `fd` from `position` on stream `id`, then ends it and closes
   * `fd`: read ahead of the client by at most {@link FILE_HIGH_WATER} (and half the limit), in
   * pieces of {@link FILE_PIECE} (at most a quarter of it), with asynchronous reads (the IO thread never waits on the disk). A file
   * that turns out shorter ends the stream short, which closes the connection.
   */
  #sendFile(id: number, open: OpenStream, fd: number, position: number, length: number): void {
    let left = length
    const highWater = Math.min(FILE_HIGH_WATER, Math.floor(this.#limit / 2))
    const size = Math.max(1024, Math.min(FILE_PIECE, Math.floor(this.#limit / 4)))
    const done = (): void => fs.close(fd, () => {})
    const next = (): void => {
      if (open.stream.closed) return done()
      if (left === 0) {
        open.stream.end()
        return done()
      }
      if (open.stream.bufferedAmount > highWater) {
        open.onDrain = next
        return
      }
      const piece = Buffer.allocUnsafeSlow(Math.min(size, left))
      fs.read(fd, piece, 0, piece.length, position, (error, read) => {
        if (open.stream.closed) return done()
        if (error !== null || read === 0) {
          if (error !== null) this.#log('warn', `streamed file ${id}: ${error.message}`)
          // Short of its length: ending it closes the connection.
          open.stream.end()
          return done()
        }
        position += read
        left -= read
        if (this.write(id, read === piece.length ? piece : piece.subarray(0, read)) === 'dropped')
          return done()
        next()
      })
    }
    next()
  }

  /** Ends every open stream (`sseOnly`: every event stream). */
  endAll(sseOnly: boolean): void {
    for (const open of this.#open.values()) if (!sseOnly || open.sse) open.stream.end()
  }
}

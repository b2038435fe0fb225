import { transferList } from './protocol.js'
import { currentChannel, type SendStatus } from './websocket.js'

/**
 * The body of a streamed response (`request.respondStream()`), as a handler sees it: a small
 * serializable handle (just its `id`) usable from any worker or the IO thread, for as long as
 * the response is open — `new ResponseStream(id)` anywhere refers to the same response.
 *
 * Pieces are written in the order one thread writes them. Memory is bounded: a write that
 * finds more than `maxBackpressure` bytes still unsent closes the connection and returns
 * `dropped` (a body cannot skip bytes), so a producer faster than its reader should pace on
 * the returned status, {@link bufferedAmount} or {@link drained}.
 *
 * @example
 * ```ts
 * router.get('/count', async (request) => {
 *   const stream = request.respondStream(200, { 'Content-Type': 'text/plain' })
 *   for (let i = 1; i <= 3; i++) {
 *     if (stream.write(`${i}\n`) === 'buffered') await stream.drained()
 *   }
 *   stream.end()
 * })
 * ```
 */
export class ResponseStream {
  /** The response's id: unique among the server's open responses and WebSockets. */
  readonly id: number

  constructor(id: number) {
    this.id = id
  }

  /**
   * Writes one piece of the body (a string as UTF-8). Returns `sent` when nothing was waiting,
   * `buffered` when it queues behind unsent bytes, `dropped` when the response is over (the
   * client left, or it was ended) or over `maxBackpressure` (the connection is then closed).
   */
  write(data: string | Uint8Array): SendStatus {
    const ch = currentChannel()
    // A copy: the caller may reuse its buffer as soon as we return (the message leaves later,
    // batched). A large one owns its buffer and is moved, not cloned, to the IO thread.
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)
    const table = ch.table
    const buffered = table === null ? 0 : table.buffered(this.id)
    if (buffered < 0) return 'dropped'
    if (bytes.byteLength === 0) return buffered > 0 ? 'buffered' : 'sent'
    if (buffered > ch.maxBackpressure) {
      // A body cannot skip bytes: the IO thread closes the connection.
      ch.post(['x', this.id])
      return 'dropped'
    }
    table?.posted(this.id, bytes.byteLength)
    ch.post(['w', this.id, bytes], transferList(bytes))
    return buffered > 0 ? 'buffered' : 'sent'
  }

  /** Writes `data` if given, then ends the body. Further writes are dropped. */
  end(data?: string | Uint8Array): void {
    if (data !== undefined) this.write(data)
    currentChannel().post(['e', this.id])
  }

  /** `false` once the response is over (ended and written, or the client left). */
  get isOpen(): boolean {
    const table = currentChannel().table
    return table === null || table.buffered(this.id) >= 0
  }

  /** Bytes written and not yet taken by the kernel (0 once the response is over). */
  get bufferedAmount(): number {
    const table = currentChannel().table
    return table === null ? 0 : Math.max(0, table.buffered(this.id))
  }

  /**
   * Resolves once at most `limit` bytes wait to be sent: `true`, or `false` when the response
   * is over instead.
   */
  async drained(limit = 0): Promise<boolean> {
    const table = currentChannel().table
    if (table === null) return true
    for (;;) {
      // The version first: a change after it wakes the wait below at once.
      const version = table.version(this.id)
      const buffered = table.buffered(this.id)
      if (buffered < 0) return false
      if (buffered <= limit) return true
      await table.changedSince(this.id, version)
    }
  }

  /** JSON form: `{ id }`. */
  toJSON(): { id: number } {
    return { id: this.id }
  }
}

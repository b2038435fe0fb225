/**
 * How a response's body is delimited and when its connection closes (RFC 9112 §6, §9.6):
 * decided here once for every transport. A transport writes what these decide, in its own
 * way (node:net writes the head bytes itself; uWebSockets.js writes some of them for us).
 */
import { isBodylessStatus } from '../status.js'

/**
 * How a streamed response's body is delimited: `none` (1xx/204/304: no body and no framing
 * headers), `length` (`Content-Length`), `chunked` (`Transfer-Encoding: chunked`, HTTP/1.1)
 * or `close` (HTTP/1.0 without a length: the body ends with the connection).
 */
export type StreamFraming = 'none' | 'length' | 'chunked' | 'close'

/**
 * The framing of a streamed response of `length` bytes (-1: unknown). A HEAD response gets
 * the framing headers a GET would get, and no body.
 *
 * @example
 * ```ts
 * streamFraming(200, 1, -1) // 'chunked'
 * streamFraming(200, 0, -1) // 'close'
 * streamFraming(304, 1, 10) // 'none'
 * ```
 */
export function streamFraming(status: number, versionMinor: 0 | 1, length: number): StreamFraming {
  if (isBodylessStatus(status)) return 'none'
  if (length >= 0) return 'length'
  return versionMinor === 1 ? 'chunked' : 'close'
}

/**
 * Whether the connection closes after an answer: the request did not keep it alive (HTTP/1.0
 * without `keep-alive`, or `Connection: close`), it asked for an upgrade that was not given
 * (the client may already be sending frames), the server is closing, the answer asked for it,
 * or its body is delimited by the close.
 */
export function closesAfter(
  keepAlive: boolean,
  refusedUpgrade: boolean,
  serverClosing: boolean,
  answerCloses: boolean,
): boolean {
  return !keepAlive || refusedUpgrade || serverClosing || answerCloses
}

/**
 * A body of a known length (`Content-Length`) written piece by piece: the length is exact, so
 * what goes past it is dropped, and an end short of it can only be told by closing the
 * connection. With no known length (`length` < 0) every piece passes whole.
 */
export class KnownLength {
  /** Bytes still to be written. */
  remaining: number
  /** Set by {@link clip} when it dropped bytes. */
  cut = false

  constructor(readonly length: number) {
    this.remaining = length < 0 ? 0 : length
  }

  /** `chunk`, cut to what is left of the length (and counted); strings pass when unknown. */
  clip(chunk: Uint8Array | string): Uint8Array | string {
    this.cut = false
    if (this.length < 0) return chunk
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (bytes.byteLength > this.remaining) {
      bytes = bytes.subarray(0, this.remaining)
      this.cut = true
    }
    this.remaining -= bytes.byteLength
    return bytes
  }

  /** Ended now, the body would be short of its length. */
  get short(): boolean {
    return this.remaining > 0
  }
}

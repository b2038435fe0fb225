/**
 * The parsed request-line and header section of one request, passed to
 * {@link ParserCallbacks.onHead}. The object and its arrays are fresh for every request and owned
 * by the receiver.
 *
 * @example
 * ```ts
 * // GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n
 * const head: RequestHead = {
 *   method: 'GET', target: '/a?b=1', versionMinor: 1, headers: ['Host', 'x'],
 *   contentLength: -1, chunked: false, keepAlive: true, upgrade: false, expectContinue: false,
 * }
 * ```
 */
export interface RequestHead {
  /** Method as received (case-sensitive, `tchar` only), e.g. `'GET'`. */
  method: string
  /** Raw request-target (visible ASCII), e.g. `'/a?b=1'`, `'*'`, `'http://h/p'` or `'h:443'`. */
  target: string
  /** `0` for HTTP/1.0, `1` for HTTP/1.1. */
  versionMinor: 0 | 1
  /**
   * Flat `[name, value, name, value, …]` in received order. Names are as received (not
   * case-folded); values have surrounding OWS removed and are decoded as latin1 (one char per
   * byte). Repeated fields stay separate entries.
   */
  headers: string[]
  /** Content-Length, or `-1` when absent. */
  contentLength: number
  /** `true` when the body uses the chunked transfer coding (the only coding accepted). */
  chunked: boolean
  /**
   * Whether the connection may stay open after this request. HTTP/1.1: `true` unless Connection
   * has the token `close`. HTTP/1.0: `true` only when Connection has `keep-alive` and not `close`.
   */
  keepAlive: boolean
  /** HTTP/1.1, Connection has the token `upgrade` and an Upgrade field is present. */
  upgrade: boolean
  /** HTTP/1.1 and Expect is `100-continue` (ASCII case-insensitive). */
  expectContinue: boolean
}

/**
 * Receivers of {@link RequestParser} events. They are called synchronously from
 * `execute()`, in order: `onHead`, zero or more `onBody`, `onComplete` for each request.
 * They must not call `execute()` or `reset()` on the same parser; an exception thrown by a
 * callback propagates out of `execute()` and leaves the parser in an unspecified state (call
 * `reset()` or drop it).
 *
 * @example
 * ```ts
 * const callbacks: ParserCallbacks = {
 *   onHead(head) { current = { head, chunks: [] } },
 *   onBody(chunk) { current.chunks.push(Buffer.from(chunk)) }, // copy: the view is reused
 *   onComplete(trailers) { queue.push(current); return queue.length >= 16 }, // pause when full
 * }
 * ```
 */
export interface ParserCallbacks {
  /** The request-line and header section were parsed and accepted. */
  onHead(head: RequestHead): void
  /**
   * Body bytes (de-chunked). `chunk` is a view into the buffer given to `execute()`: it is valid
   * only during this call; copy it to keep it.
   */
  onBody(chunk: Buffer): void
  /**
   * The request is complete. `trailers` is a flat `[name, value, …]` array (empty without a
   * chunked trailer section); it is never merged into the head. Return `true` to pause:
   * `execute()` returns right after this request with the number of bytes consumed.
   */
  onComplete(trailers: string[]): boolean | void
}

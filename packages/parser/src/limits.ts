import { MummyError } from '@mummy/errors'

/**
 * Bounds applied by {@link RequestParser}. Every limit is in bytes unless noted; each one, when
 * exceeded, ends the request with an {@link HttpParseError} carrying the status given below.
 *
 * @example
 * ```ts
 * const parser = new RequestParser(callbacks, { maxBodyLen: 10 * 1024 * 1024 })
 * ```
 */
export interface ParserLimits {
  /**
   * Request-line plus header section, from the first byte of the method through the CRLF of the
   * empty line. Exceeding it in the header section → 431 `ERR_MUMMY_HEADERS_TOO_LARGE`; exceeding
   * it while still in the request-line → 414 `ERR_MUMMY_URI_TOO_LONG`. Default 8192.
   */
  maxHeadersLen: number
  /** Request-target. Exceeding it → 414 `ERR_MUMMY_URI_TOO_LONG`. Default 8192. */
  maxUriLen: number
  /** Number of header fields (and, separately, of trailer fields). → 431. Default 100. */
  maxHeaderCount: number
  /**
   * Body. Checked against Content-Length as soon as the head is parsed (before `onHead`), and
   * against the running total of chunk sizes as each chunk-size line is read. → 413.
   * Default 1 MiB (1048576).
   */
  maxBodyLen: number
  /** Chunk extensions of one chunk-size line (everything after the size, before CRLF). → 400. Default 1024. */
  maxChunkExtLen: number
  /** Trailer section, including the CRLF of each field line and of the final empty line. → 431. Default 8192. */
  maxTrailersLen: number
}

/**
 * What {@link RequestParser}'s constructor takes: limits, and how it treats CONNECT.
 *
 * @example
 * ```ts
 * const parser = new RequestParser(callbacks, { maxBodyLen: 0, allowConnect: true }) // a proxy
 * ```
 */
export interface ParserOptions extends Partial<ParserLimits> {
  /**
   * Accept `CONNECT` requests (for a proxy). They end the HTTP part of the connection like an
   * upgrade ({@link RequestParser.upgraded}), and one that declares content (Content-Length or
   * Transfer-Encoding) is refused with 400 `ERR_MUMMY_CONNECT_WITH_BODY`: a proxy would read
   * those bytes as tunnel data, another hop as a body. Default `false`: an origin server does not
   * tunnel, so CONNECT is refused with 501 `ERR_MUMMY_CONNECT_UNSUPPORTED` as soon as its
   * request-line is read.
   */
  allowConnect?: boolean
}

/**
 * The limits used for every field not given to {@link RequestParser}'s constructor.
 *
 * @example
 * ```ts
 * DEFAULT_PARSER_LIMITS.maxHeadersLen // 8192
 * ```
 */
export const DEFAULT_PARSER_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxHeadersLen: 8192,
  maxUriLen: 8192,
  maxHeaderCount: 100,
  maxBodyLen: 1048576,
  maxChunkExtLen: 1024,
  maxTrailersLen: 8192,
})

/** Merges `limits` over the defaults; `undefined` fields take the default. Throws `ERR_MUMMY_INVALID_OPTION` for a negative or non-integer limit. */
export function resolveLimits(limits: Partial<ParserLimits> | undefined): ParserLimits {
  const out: ParserLimits = { ...DEFAULT_PARSER_LIMITS }
  if (limits === undefined) return out
  for (const key of Object.keys(DEFAULT_PARSER_LIMITS) as Array<keyof ParserLimits>) {
    const v = limits[key]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `parser limit ${key} must be a non-negative safe integer, got ${String(v)}`,
      )
    }
    out[key] = v
  }
  return out
}

import { MummyError } from '@mummy/errors'

/**
 * Every error code {@link RequestParser} reports, with the HTTP status the server answers with.
 * The table is the single source of truth: {@link HttpParseError} takes its status from here, and
 * the package README lists the same codes.
 *
 * @example
 * ```ts
 * HTTP_PARSE_ERROR_STATUS.ERR_MUMMY_URI_TOO_LONG // 414
 * ```
 */
export const HTTP_PARSE_ERROR_STATUS = {
  /** Method is empty, longer than 32 bytes or has a non-`tchar` byte; or too many empty lines before it. */
  ERR_MUMMY_INVALID_METHOD: 400,
  /** Request-target has a byte outside `0x21`–`0x7E`, or its form does not fit the method. */
  ERR_MUMMY_INVALID_TARGET: 400,
  /** Request-target longer than `maxUriLen`, or request-line longer than `maxHeadersLen`. */
  ERR_MUMMY_URI_TOO_LONG: 414,
  /** HTTP-version is not exactly `HTTP/` DIGIT `.` DIGIT followed by CRLF. */
  ERR_MUMMY_INVALID_VERSION: 400,
  /** Well-formed HTTP-version other than 1.0 and 1.1. */
  ERR_MUMMY_UNSUPPORTED_VERSION: 505,
  /** Field name is empty, has a non-`tchar` byte, whitespace before the colon, or no colon. */
  ERR_MUMMY_INVALID_HEADER_NAME: 400,
  /** Field value has NUL, another CTL or DEL. */
  ERR_MUMMY_INVALID_HEADER_VALUE: 400,
  /** A field line starts with SP or HTAB (obsolete line folding). */
  ERR_MUMMY_OBS_FOLD: 400,
  /** Request-line and header section longer than `maxHeadersLen`. */
  ERR_MUMMY_HEADERS_TOO_LARGE: 431,
  /** More than `maxHeaderCount` header (or trailer) fields. */
  ERR_MUMMY_TOO_MANY_HEADERS: 431,
  /** A line ends with a bare LF, or a CR is not followed by LF. */
  ERR_MUMMY_INVALID_EOL: 400,
  /** HTTP/1.1 request without a Host field. */
  ERR_MUMMY_MISSING_HOST: 400,
  /** More than one Host field. */
  ERR_MUMMY_DUPLICATE_HOST: 400,
  /** Host is not `uri-host [":" port]` (RFC 3986), or an absolute-form target's authority is not (userinfo, empty host). */
  ERR_MUMMY_INVALID_HOST: 400,
  /** A CONNECT request to a parser that does not allow it (an origin server does not tunnel). */
  ERR_MUMMY_CONNECT_UNSUPPORTED: 501,
  /** A CONNECT request with Content-Length or Transfer-Encoding. */
  ERR_MUMMY_CONNECT_WITH_BODY: 400,
  /** Content-Length repeated (even with equal values), a list, empty, not all digits, or > 2^53 - 1. */
  ERR_MUMMY_INVALID_CONTENT_LENGTH: 400,
  /** Both Content-Length and Transfer-Encoding are present. */
  ERR_MUMMY_CL_AND_TE: 400,
  /** Transfer-Encoding is empty, has a malformed element, or `chunked` with parameters. */
  ERR_MUMMY_INVALID_TRANSFER_ENCODING: 400,
  /** Transfer-Encoding has a coding other than `chunked` (gzip, unknown, …). */
  ERR_MUMMY_UNSUPPORTED_TRANSFER_ENCODING: 501,
  /** `chunked` is not the last transfer coding, or appears more than once. */
  ERR_MUMMY_CHUNKED_NOT_LAST: 400,
  /** Transfer-Encoding in an HTTP/1.0 request. */
  ERR_MUMMY_TE_IN_HTTP10: 400,
  /** Chunk size is empty, has a non-hex byte, a sign, a `0x` prefix or surrounding whitespace. */
  ERR_MUMMY_INVALID_CHUNK_SIZE: 400,
  /** Chunk size has more than 16 hex digits or exceeds 2^53 - 1. */
  ERR_MUMMY_CHUNK_SIZE_OVERFLOW: 400,
  /** Chunk extension is not `;name[=token|quoted-string]` (with optional BWS). */
  ERR_MUMMY_INVALID_CHUNK_EXT: 400,
  /** Chunk extensions of one chunk line longer than `maxChunkExtLen`. */
  ERR_MUMMY_CHUNK_EXT_TOO_LONG: 400,
  /** Chunk data is not followed by CRLF. */
  ERR_MUMMY_INVALID_CHUNK: 400,
  /** Trailer section longer than `maxTrailersLen`. */
  ERR_MUMMY_TRAILERS_TOO_LARGE: 431,
  /** Content-Length, or the running total of chunk sizes, exceeds `maxBodyLen`. */
  ERR_MUMMY_BODY_TOO_LARGE: 413,
  /** The connection ended (`finish()`) in the middle of a request. */
  ERR_MUMMY_INCOMPLETE_REQUEST: 400,
} as const

/**
 * A code {@link RequestParser} reports; see {@link HTTP_PARSE_ERROR_STATUS}.
 *
 * @example
 * ```ts
 * const code: HttpParseErrorCode = 'ERR_MUMMY_CL_AND_TE'
 * ```
 */
export type HttpParseErrorCode = keyof typeof HTTP_PARSE_ERROR_STATUS

/**
 * A malformed or over-limit request. `code` is stable (see {@link HTTP_PARSE_ERROR_STATUS}) and
 * `status` is always set: it is the HTTP status to answer with before closing the connection.
 *
 * @example
 * ```ts
 * const parser = new RequestParser(callbacks)
 * if (parser.execute(bytes) === -1) {
 *   const err = parser.error! // HttpParseError
 *   socket.end(`HTTP/1.1 ${err.status} Bad Request\r\nConnection: close\r\n\r\n`)
 * }
 * ```
 */
export class HttpParseError extends MummyError {
  declare readonly code: HttpParseErrorCode
  declare readonly status: number

  constructor(code: HttpParseErrorCode, message: string) {
    super(code, message, { status: HTTP_PARSE_ERROR_STATUS[code] })
    this.name = 'HttpParseError'
  }
}

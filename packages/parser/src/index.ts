/**
 * `@mummy/parser`: an incremental, strict HTTP/1.1 request parser (RFC 9112). Bytes in, events
 * out; no IO and no dependencies besides `@mummy/errors`.
 *
 * @example
 * ```ts
 * import { RequestParser } from '@mummy/parser'
 *
 * const parser = new RequestParser({
 *   onHead(head) { console.log(head.method, head.target, head.headers) },
 *   onBody(chunk) { console.log('body', chunk.length) },
 *   onComplete() { console.log('done') },
 * })
 * parser.execute(Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'))
 * ```
 *
 * @packageDocumentation
 */
export { RequestParser } from './parser.js'
export { HeadCheck } from './fields.js'
export { HttpParseError, HTTP_PARSE_ERROR_STATUS, type HttpParseErrorCode } from './errors.js'
export { DEFAULT_PARSER_LIMITS, type ParserLimits, type ParserOptions } from './limits.js'
export { isValidHost } from './host.js'
export type { ParserCallbacks, RequestHead } from './types.js'
export { isTokenChar } from './tables.js'
export {
  MultipartParser,
  MultipartError,
  MULTIPART_ERROR_STATUS,
  multipartBoundary,
  parseContentDisposition,
  type MultipartCallbacks,
  type MultipartErrorCode,
  type MultipartLimits,
  type PartHeaders,
} from './multipart.js'

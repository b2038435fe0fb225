import { HttpParseError, type HttpParseErrorCode } from './errors.js'
import {
  CONN_CLOSE,
  CONN_KEEP_ALIVE,
  CONN_UPGRADE,
  F_HOST,
  F_OTHER,
  FieldRules,
  MAX_METHOD_LEN,
  checkTarget,
  classifyField,
  isOws,
} from './fields.js'
import { resolveLimits, type ParserLimits, type ParserOptions } from './limits.js'
import { FIELD_CONTENT, HEX, OWS, QDTEXT, TARGET, TOKEN } from './tables.js'
import type { ParserCallbacks, RequestHead } from './types.js'

// Bytes.
const HTAB = 0x09
const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const DQUOTE = 0x22
const DOT = 0x2e
const SLASH = 0x2f
const COLON = 0x3a
const SEMI = 0x3b
const EQUALS = 0x3d
const BACKSLASH = 0x5c

/** Empty lines (CRLF) ignored before a request-line (RFC 9112 §2.2). */
const MAX_EMPTY_LINES = 4
/** Most hex digits in a chunk size (leading zeros included). */
const MAX_CHUNK_SIZE_DIGITS = 16
/** First allocation of the scratch buffer; it then doubles, capped by the section limits. */
const SCRATCH_INITIAL = 256

// States. The numeric order matters: every state >= S_METHOD is part of a header-like section
// (request-line, header section or trailer section) whose bytes count against a length limit;
// states S_CHUNK_SIZE_BWS..S_CHUNK_EXT_AFTER_VALUE count against maxChunkExtLen.
const S_DEAD = 0
const S_REQ_START = 1 // between requests; skips up to MAX_EMPTY_LINES CRLFs
const S_REQ_START_LF = 2
const S_BODY_CL = 3
const S_CHUNK_SIZE_START = 4
const S_CHUNK_SIZE = 5
const S_CHUNK_SIZE_BWS = 6 // whitespace after the size: must lead to ';'
const S_CHUNK_EXT_BWS1 = 7 // after ';'
const S_CHUNK_EXT_NAME = 8
const S_CHUNK_EXT_AFTER_NAME = 9
const S_CHUNK_EXT_BWS2 = 10 // after '='
const S_CHUNK_EXT_VALUE = 11
const S_CHUNK_EXT_QUOTED = 12
const S_CHUNK_EXT_QUOTED_ESC = 13
const S_CHUNK_EXT_AFTER_VALUE = 14
const S_CHUNK_SIZE_LF = 15
const S_CHUNK_DATA = 16
const S_CHUNK_DATA_CR = 17
const S_CHUNK_DATA_LF = 18
const S_METHOD = 20
const S_TARGET_START = 21
const S_TARGET = 22
const S_VER_PREFIX = 23 // inside the literal "HTTP/"
/** The bytes every HTTP-version starts with. */
const HTTP_SLASH = Buffer.from('HTTP/', 'latin1')
const S_VER_MAJOR = 28
const S_VER_DOT = 29
const S_VER_MINOR = 30
const S_REQ_LINE_CR = 31
const S_REQ_LINE_LF = 32
const S_FIELD_START = 33
const S_FIELD_NAME = 34
const S_FIELD_VALUE_START = 35
const S_FIELD_VALUE = 36
const S_FIELD_LF = 37
const S_FIELDS_END_LF = 38
const S_HEAD_DONE = 39 // onHead of a body-less request is running

/**
 * Field names seen in most requests, in the spellings clients send (Title-Case and lower-case).
 * A name whose bytes match one exactly reuses the string instead of allocating a new one.
 */
const COMMON_NAMES: ReadonlyArray<readonly string[] | undefined> = (() => {
  const names = [
    'Host',
    'Connection',
    'Content-Length',
    'Content-Type',
    'Transfer-Encoding',
    'User-Agent',
    'Accept',
    'Accept-Encoding',
    'Accept-Language',
    'Cookie',
    'Authorization',
    'Cache-Control',
    'Origin',
    'Referer',
    'Upgrade',
    'Expect',
    'If-None-Match',
    'If-Modified-Since',
    'Pragma',
    'Sec-WebSocket-Key',
    'Sec-WebSocket-Version',
    'Sec-WebSocket-Extensions',
    'Sec-WebSocket-Protocol',
    'X-Forwarded-For',
    'X-Forwarded-Proto',
    'X-Request-Id',
    'Range',
    'Keep-Alive',
    'Te',
    'Trailer',
  ]
  const byLength: string[][] = []
  for (const name of [...names, ...names.map((n) => n.toLowerCase())]) {
    ;(byLength[name.length] ??= []).push(name)
  }
  return byLength
})()

/** The interned spelling of the field name `buf[start, end)`, or null. */
function commonName(buf: Buffer, start: number, end: number): string | null {
  const candidates = COMMON_NAMES[end - start]
  if (candidates === undefined) return null
  next: for (let k = 0; k < candidates.length; k++) {
    const name = candidates[k] as string
    for (let b = 0; b < name.length; b++) {
      if (buf[start + b] !== name.charCodeAt(b)) continue next
    }
    return name
  }
  return null
}

/** Drops trailing SP/HTAB (leading OWS is skipped by the state machine). */
function trimOwsEnd(s: string): string {
  let e = s.length
  while (e > 0 && isOws(s.charCodeAt(e - 1))) e--
  return e === s.length ? s : s.slice(0, e)
}

/** `Buffer#latin1Slice`: what `toString('latin1', start, end)` calls, minus argument handling. */
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string }

const latin1: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Partial<Latin1Buffer>).latin1Slice === 'function'
    ? (buf, start, end) => (buf as Latin1Buffer).latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end)

function hexByte(c: number): string {
  return `0x${c.toString(16).padStart(2, '0')}`
}

/**
 * Incremental, strict HTTP/1.1 request parser (RFC 9112). Bytes in, events out; no IO.
 *
 * Feed it whatever the socket delivers with {@link RequestParser.execute}: input may be split at
 * any byte and may hold several pipelined requests. For every request it calls `onHead`, then
 * `onBody` for each piece of (de-chunked) body, then `onComplete`. Malformed or over-limit input
 * never throws: `execute()` returns `-1` and {@link RequestParser.error} holds an
 * {@link HttpParseError} whose `status` is the response to send before closing. After an error
 * the parser stays failed until {@link RequestParser.reset}.
 *
 * Memory is bounded: the only buffering is one scratch buffer holding the part of a method,
 * target, field name or field value that straddles two `execute()` calls, capped by the
 * `maxHeadersLen`/`maxTrailersLen` limits. Body bytes are handed out as views of the input.
 *
 * @example
 * ```ts
 * const parser = new RequestParser({
 *   onHead(head) { console.log(head.method, head.target) },
 *   onBody(chunk) { body.push(Buffer.from(chunk)) },
 *   onComplete(trailers) { respond() },
 * }, { maxBodyLen: 64 * 1024 })
 *
 * socket.on('data', (data) => {
 *   const n = parser.execute(data)
 *   if (n === -1) return reject(parser.error!.status)  // 400, 413, 414, 431, 501 or 505
 *   if (parser.upgraded) return handOver(data.subarray(n)) // bytes after an Upgrade/CONNECT
 * })
 * socket.on('end', () => { if (parser.finish() !== null) socket.destroy() })
 * ```
 */
export class RequestParser {
  readonly #cb: ParserCallbacks
  readonly #limits: ParserLimits
  readonly #allowConnect: boolean

  #st = S_REQ_START
  #err: HttpParseError | null = null
  #upg = false

  // Partial token bytes carried between execute() calls.
  #scratch: Buffer = Buffer.alloc(0)
  #scratchLen = 0

  // Section accounting.
  #headLen = 0
  #headMax = 0
  #uriLen = 0
  #methodLen = 0
  #emptyLines = 0
  #fieldCount = 0
  #fieldKind = F_OTHER
  #inTrailers = false

  // The request being parsed.
  #method = ''
  #target = ''
  /** Bytes of "HTTP/" matched so far. */
  #verPos = 0
  #versionMajor = 0
  #versionMinor = 0
  #headers: string[] = []
  /** The authority of an absolute-form target (it replaces the Host value), else `null`. */
  #authority: string | null = null
  /** What the interpreted fields say (Host, Content-Length, Transfer-Encoding, …). */
  readonly #rules = new FieldRules()
  #switchesProtocol = false
  #trailers: string[] = []

  // Body.
  #remaining = 0
  #chunkSize = 0
  #sizeDigits = 0
  #bodyTotal = 0
  #extLen = 0

  /**
   * @param callbacks - receivers of the request events (see {@link ParserCallbacks}).
   * @param limits - overrides of {@link DEFAULT_PARSER_LIMITS} (and `allowConnect`, see
   *   {@link ParserOptions}); a negative or non-integer value
   *   throws a `MummyError` with code `ERR_MUMMY_INVALID_OPTION`.
   *
   * @example
   * ```ts
   * const parser = new RequestParser(callbacks, { maxHeadersLen: 16 * 1024 })
   * ```
   */
  constructor(callbacks: ParserCallbacks, limits?: ParserOptions) {
    this.#cb = callbacks
    this.#limits = resolveLimits(limits)
    this.#allowConnect = limits?.allowConnect === true
  }

  /**
   * The error that stopped the parser, or `null`. Once set, it stays until {@link reset}.
   *
   * @example
   * ```ts
   * if (parser.execute(data) === -1) console.log(parser.error?.code, parser.error?.status)
   * ```
   */
  get error(): HttpParseError | null {
    return this.#err
  }

  /**
   * `true` once a request with `head.upgrade` (Connection: upgrade + Upgrade) or method CONNECT
   * has completed. The parser then stops: the bytes after the offset returned by that `execute()`
   * belong to the new protocol, and further `execute()` calls consume nothing (return 0).
   *
   * @example
   * ```ts
   * const n = parser.execute(data)
   * if (parser.upgraded) websocket.receive(data.subarray(n))
   * ```
   */
  get upgraded(): boolean {
    return this.#upg
  }

  /**
   * `true` between requests: no byte of a next request has been received (empty lines before a
   * request-line do not count). `false` while a request is partially parsed, after an error and
   * after an upgrade. The IO loop uses it to choose between the keep-alive timeout (idle) and the
   * headers/body timeouts, and to know whether a 408 may be sent.
   *
   * @example
   * ```ts
   * if (timedOut) parser.idle ? socket.end() : reply408AndClose()
   * ```
   */
  get idle(): boolean {
    return (
      this.#err === null && !this.#upg && (this.#st === S_REQ_START || this.#st === S_REQ_START_LF)
    )
  }

  /**
   * @internal Size in bytes of the scratch buffer that carries a token split across `execute()`
   * calls (tests check that it stays within the section limits).
   */
  get scratchCapacity(): number {
    return this.#scratch.length
  }

  /**
   * Returns the parser to its initial state, clearing any error, upgrade and partial request. The
   * limits and callbacks are kept.
   *
   * @example
   * ```ts
   * parser.reset() // reuse the parser for a new connection
   * ```
   */
  reset(): void {
    this.#st = S_REQ_START
    this.#err = null
    this.#upg = false
    this.#scratchLen = 0
    if (this.#scratch.length > SCRATCH_INITIAL * 16) this.#scratch = Buffer.alloc(0)
    this.#emptyLines = 0
    this.#beginRequest()
    this.#st = S_REQ_START
  }

  /**
   * Tells the parser the connection reached EOF. Returns `null` when it is idle (or upgraded),
   * otherwise fails with `ERR_MUMMY_INCOMPLETE_REQUEST` (400) and returns that error. If the
   * parser had already failed, returns that earlier error.
   *
   * @example
   * ```ts
   * socket.on('end', () => {
   *   const err = parser.finish()
   *   if (err !== null) log.warn(err.code)
   * })
   * ```
   */
  finish(): HttpParseError | null {
    if (this.#err !== null) return this.#err
    if (this.#upg || this.idle) return null
    this.#fail('ERR_MUMMY_INCOMPLETE_REQUEST', 'connection ended in the middle of a request')
    return this.#err
  }

  /**
   * Parses `chunk`, calling the callbacks for every event it completes.
   *
   * Returns the number of bytes consumed: `chunk.length`, unless `onComplete` returned `true`
   * (pause: the offset right after that request; call `execute()` again with the rest to resume)
   * or an upgrade/CONNECT request completed (the offset where the non-HTTP bytes start;
   * {@link upgraded} becomes `true`). Returns `-1` on malformed input; {@link error} is then set
   * and every later call returns `-1` until {@link reset}.
   *
   * The parser keeps no reference to `chunk` after returning.
   *
   * @example
   * ```ts
   * let offset = 0
   * while (offset < data.length) {
   *   const n = parser.execute(offset === 0 ? data : data.subarray(offset))
   *   if (n === -1 || parser.upgraded) break
   *   offset += n
   *   if (offset < data.length) await drainResponses() // paused by onComplete
   * }
   * ```
   */
  execute(chunk: Buffer): number {
    if (this.#err !== null) return -1
    if (this.#upg) return 0
    const buf = chunk
    const len = buf.length
    let i = 0
    const s0 = this.#st
    // Start of the token in progress inside `buf`, or -1. A token that began in an earlier chunk
    // continues at offset 0; its first bytes are in the scratch buffer.
    let mark =
      s0 === S_METHOD || s0 === S_TARGET || s0 === S_FIELD_NAME || s0 === S_FIELD_VALUE ? 0 : -1

    while (i < len) {
      const state = this.#st
      const c = buf[i] as number
      if (state >= S_METHOD) {
        if (this.#headLen >= this.#headMax) return this.#failSectionLimit()
        this.#headLen++
      } else if (state >= S_CHUNK_SIZE_BWS && state <= S_CHUNK_EXT_AFTER_VALUE && c !== CR) {
        if (++this.#extLen > this.#limits.maxChunkExtLen) return this.#failExtTooLong()
      }

      switch (state) {
        // ---- between requests ------------------------------------------------------------
        case S_REQ_START: {
          if (c === CR) {
            if (this.#emptyLines >= MAX_EMPTY_LINES) {
              return this.#fail(
                'ERR_MUMMY_INVALID_METHOD',
                'too many empty lines before the request-line',
              )
            }
            this.#st = S_REQ_START_LF
            i++
            break
          }
          if (c === LF)
            return this.#fail('ERR_MUMMY_INVALID_EOL', 'bare LF before the request-line')
          this.#beginRequest()
          mark = i
          break // the same byte is parsed again as the first byte of the method
        }
        case S_REQ_START_LF: {
          if (c !== LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'CR not followed by LF')
          this.#emptyLines++
          this.#st = S_REQ_START
          i++
          break
        }

        // ---- request-line ----------------------------------------------------------------
        case S_METHOD: {
          if (TOKEN[c] === 1) {
            if (++this.#methodLen > MAX_METHOD_LEN) {
              return this.#fail(
                'ERR_MUMMY_INVALID_METHOD',
                `method longer than ${MAX_METHOD_LEN} bytes`,
              )
            }
            i++
            break
          }
          if (c === SP && this.#methodLen > 0) {
            this.#method = this.#take(buf, mark, i)
            mark = -1
            this.#st = S_TARGET_START
            i++
            break
          }
          return this.#fail('ERR_MUMMY_INVALID_METHOD', `invalid byte ${hexByte(c)} in method`)
        }
        case S_TARGET_START: {
          if (TARGET[c] === 1) {
            if (this.#limits.maxUriLen < 1) return this.#failUriTooLong()
            this.#uriLen = 1
            mark = i
            this.#st = S_TARGET
            i++
            break
          }
          return this.#fail(
            'ERR_MUMMY_INVALID_TARGET',
            c === SP
              ? 'more than one SP after the method'
              : `invalid byte ${hexByte(c)} in request-target`,
          )
        }
        case S_TARGET: {
          if (TARGET[c] === 1) {
            if (this.#uriLen >= this.#limits.maxUriLen) return this.#failUriTooLong()
            this.#uriLen++
            let j = i + 1
            const stop = Math.min(
              len,
              j + (this.#headMax - this.#headLen),
              j + (this.#limits.maxUriLen - this.#uriLen),
            )
            while (j < stop && TARGET[buf[j] as number] === 1) j++
            const n = j - i - 1
            this.#headLen += n
            this.#uriLen += n
            i = j
            break
          }
          if (c === SP) {
            this.#target = this.#take(buf, mark, i)
            mark = -1
            // Beyond origin-form (the hot path, checked here): the target's form, CONNECT, an
            // absolute-form authority, by the rules of fields.ts.
            if (this.#target.charCodeAt(0) !== SLASH || this.#method === 'CONNECT') {
              const form = checkTarget(this.#method, this.#target, this.#allowConnect)
              if (form instanceof HttpParseError) return this.#failWith(form)
              this.#authority = form
            }
            this.#st = S_VER_PREFIX
            this.#verPos = 0
            i++
            break
          }
          if (c === CR || c === LF) {
            return this.#fail('ERR_MUMMY_INVALID_VERSION', 'request-line has no HTTP-version')
          }
          return this.#fail(
            'ERR_MUMMY_INVALID_TARGET',
            `invalid byte ${hexByte(c)} in request-target`,
          )
        }
        case S_VER_PREFIX:
          if (c !== (HTTP_SLASH[this.#verPos] as number)) return this.#failVersion()
          if (++this.#verPos === HTTP_SLASH.length) this.#st = S_VER_MAJOR
          i++
          break
        case S_VER_MAJOR:
          if (c < 0x30 || c > 0x39) return this.#failVersion()
          this.#versionMajor = c - 0x30
          this.#st = S_VER_DOT
          i++
          break
        case S_VER_DOT:
          if (c !== DOT) return this.#failVersion()
          this.#st = S_VER_MINOR
          i++
          break
        case S_VER_MINOR:
          if (c < 0x30 || c > 0x39) return this.#failVersion()
          this.#versionMinor = c - 0x30
          this.#st = S_REQ_LINE_CR
          i++
          break
        case S_REQ_LINE_CR:
          if (c === CR) {
            this.#st = S_REQ_LINE_LF
            i++
            break
          }
          if (c === LF)
            return this.#fail('ERR_MUMMY_INVALID_EOL', 'request-line ends with a bare LF')
          return this.#failVersion()
        case S_REQ_LINE_LF:
          if (c !== LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'CR not followed by LF')
          if (this.#versionMajor !== 1 || this.#versionMinor > 1) {
            return this.#fail(
              'ERR_MUMMY_UNSUPPORTED_VERSION',
              `HTTP/${this.#versionMajor}.${this.#versionMinor} is not supported`,
            )
          }
          this.#st = S_FIELD_START
          i++
          break

        // ---- header and trailer fields ---------------------------------------------------
        case S_FIELD_START: {
          if (TOKEN[c] === 1) {
            if (this.#fieldCount >= this.#limits.maxHeaderCount) {
              return this.#fail(
                'ERR_MUMMY_TOO_MANY_HEADERS',
                `more than ${this.#limits.maxHeaderCount} ${this.#inTrailers ? 'trailer' : 'header'} fields`,
              )
            }
            this.#fieldCount++
            mark = i
            this.#st = S_FIELD_NAME
            i = this.#skipRun(buf, i + 1, len, TOKEN)
            break
          }
          if (c === CR) {
            this.#st = S_FIELDS_END_LF
            i++
            break
          }
          if (c === SP || c === HTAB) {
            return this.#fieldCount > 0
              ? this.#fail(
                  'ERR_MUMMY_OBS_FOLD',
                  'obsolete line folding (field line starts with whitespace)',
                )
              : this.#fail(
                  'ERR_MUMMY_INVALID_HEADER_NAME',
                  'whitespace before the first field line',
                )
          }
          if (c === LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'bare LF in the field section')
          return this.#fail(
            'ERR_MUMMY_INVALID_HEADER_NAME',
            `invalid byte ${hexByte(c)} in field name`,
          )
        }
        case S_FIELD_NAME: {
          if (TOKEN[c] === 1) {
            i = this.#skipRun(buf, i + 1, len, TOKEN)
            break
          }
          if (c === COLON) {
            const name =
              (this.#scratchLen === 0 ? commonName(buf, mark, i) : null) ?? this.#take(buf, mark, i)
            mark = -1
            if (this.#inTrailers) {
              this.#trailers.push(name)
            } else {
              this.#headers.push(name)
              this.#fieldKind = classifyField(name)
            }
            this.#st = S_FIELD_VALUE_START
            i = this.#skipRun(buf, i + 1, len, OWS)
            break
          }
          return this.#fail(
            'ERR_MUMMY_INVALID_HEADER_NAME',
            c === SP || c === HTAB
              ? 'whitespace between field name and colon'
              : `invalid byte ${hexByte(c)} in field name`,
          )
        }
        case S_FIELD_VALUE_START: {
          if (c === SP || c === HTAB) {
            i++
            break
          }
          if (c === CR) {
            if (this.#fieldValue('') === -1) return -1
            this.#st = S_FIELD_LF
            i++
            break
          }
          if (FIELD_CONTENT[c] === 1) {
            mark = i
            this.#st = S_FIELD_VALUE
            i = this.#skipRun(buf, i + 1, len, FIELD_CONTENT)
            break
          }
          if (c === LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'field line ends with a bare LF')
          return this.#fail(
            'ERR_MUMMY_INVALID_HEADER_VALUE',
            `invalid byte ${hexByte(c)} in field value`,
          )
        }
        case S_FIELD_VALUE: {
          if (FIELD_CONTENT[c] === 1) {
            i = this.#skipRun(buf, i + 1, len, FIELD_CONTENT)
            break
          }
          if (c === CR) {
            const value = trimOwsEnd(this.#take(buf, mark, i))
            mark = -1
            if (this.#fieldValue(value) === -1) return -1
            i++
            if (i < len && buf[i] === LF && this.#headLen < this.#headMax) {
              // the LF that must follow: consume it in this step (same checks as S_FIELD_LF)
              this.#headLen++
              this.#st = S_FIELD_START
              i++
            } else {
              this.#st = S_FIELD_LF
            }
            break
          }
          if (c === LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'field line ends with a bare LF')
          return this.#fail(
            'ERR_MUMMY_INVALID_HEADER_VALUE',
            `invalid byte ${hexByte(c)} in field value`,
          )
        }
        case S_FIELD_LF:
          if (c !== LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'CR not followed by LF')
          this.#st = S_FIELD_START
          i++
          break
        case S_FIELDS_END_LF: {
          if (c !== LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'CR not followed by LF')
          i++
          if (this.#inTrailers) {
            if (this.#complete(this.#trailers)) return i
            break
          }
          const hasBody = this.#headDone()
          if (hasBody === -1) return -1
          if (hasBody === 0 && this.#complete([])) return i
          break
        }

        // ---- Content-Length body ---------------------------------------------------------
        case S_BODY_CL: {
          const n = Math.min(this.#remaining, len - i)
          const start = i
          i += n
          this.#remaining -= n
          this.#cb.onBody(buf.subarray(start, i))
          if (this.#remaining === 0 && this.#complete([])) return i
          break
        }

        // ---- chunked body ----------------------------------------------------------------
        case S_CHUNK_SIZE_START: {
          const v = HEX[c] as number
          if (v === 0xff) {
            return this.#fail(
              'ERR_MUMMY_INVALID_CHUNK_SIZE',
              c === CR || c === LF
                ? 'empty chunk size'
                : `invalid byte ${hexByte(c)} in chunk size`,
            )
          }
          this.#chunkSize = v
          this.#sizeDigits = 1
          this.#st = S_CHUNK_SIZE
          i++
          break
        }
        case S_CHUNK_SIZE: {
          const v = HEX[c] as number
          if (v !== 0xff) {
            const size = this.#chunkSize * 16 + v
            if (++this.#sizeDigits > MAX_CHUNK_SIZE_DIGITS || size > Number.MAX_SAFE_INTEGER) {
              return this.#fail('ERR_MUMMY_CHUNK_SIZE_OVERFLOW', 'chunk size too large')
            }
            this.#chunkSize = size
            i++
            break
          }
          if (c === CR) {
            if (this.#checkChunkTotal() === -1) return -1
            this.#st = S_CHUNK_SIZE_LF
            i++
            break
          }
          if (c === SEMI || c === SP || c === HTAB) {
            if (this.#checkChunkTotal() === -1) return -1
            this.#extLen = 1
            if (this.#extLen > this.#limits.maxChunkExtLen) return this.#failExtTooLong()
            this.#st = c === SEMI ? S_CHUNK_EXT_BWS1 : S_CHUNK_SIZE_BWS
            i++
            break
          }
          if (c === LF)
            return this.#fail('ERR_MUMMY_INVALID_EOL', 'chunk-size line ends with a bare LF')
          return this.#fail(
            'ERR_MUMMY_INVALID_CHUNK_SIZE',
            `invalid byte ${hexByte(c)} in chunk size`,
          )
        }
        case S_CHUNK_SIZE_BWS:
          if (c === SP || c === HTAB) {
            i++
            break
          }
          if (c === SEMI) {
            this.#st = S_CHUNK_EXT_BWS1
            i++
            break
          }
          if (c === LF)
            return this.#fail('ERR_MUMMY_INVALID_EOL', 'chunk-size line ends with a bare LF')
          return this.#fail('ERR_MUMMY_INVALID_CHUNK_SIZE', 'whitespace in chunk size')
        case S_CHUNK_EXT_BWS1:
          if (c === SP || c === HTAB) {
            i++
            break
          }
          if (TOKEN[c] === 1) {
            this.#st = S_CHUNK_EXT_NAME
            i++
            break
          }
          return this.#failExt(c)
        case S_CHUNK_EXT_NAME:
          if (TOKEN[c] === 1) {
            i++
            break
          }
          if (c === SP || c === HTAB) this.#st = S_CHUNK_EXT_AFTER_NAME
          else if (c === EQUALS) this.#st = S_CHUNK_EXT_BWS2
          else if (c === SEMI) this.#st = S_CHUNK_EXT_BWS1
          else if (c === CR) this.#st = S_CHUNK_SIZE_LF
          else return this.#failExt(c)
          i++
          break
        case S_CHUNK_EXT_AFTER_NAME:
          if (c === SP || c === HTAB) {
            i++
            break
          }
          if (c === EQUALS) this.#st = S_CHUNK_EXT_BWS2
          else if (c === SEMI) this.#st = S_CHUNK_EXT_BWS1
          else if (c === CR) this.#st = S_CHUNK_SIZE_LF
          else return this.#failExt(c)
          i++
          break
        case S_CHUNK_EXT_BWS2:
          if (c === SP || c === HTAB) {
            i++
            break
          }
          if (c === DQUOTE) this.#st = S_CHUNK_EXT_QUOTED
          else if (TOKEN[c] === 1) this.#st = S_CHUNK_EXT_VALUE
          else return this.#failExt(c)
          i++
          break
        case S_CHUNK_EXT_VALUE:
          if (TOKEN[c] === 1) {
            i++
            break
          }
          if (c === SP || c === HTAB) this.#st = S_CHUNK_EXT_AFTER_VALUE
          else if (c === SEMI) this.#st = S_CHUNK_EXT_BWS1
          else if (c === CR) this.#st = S_CHUNK_SIZE_LF
          else return this.#failExt(c)
          i++
          break
        case S_CHUNK_EXT_QUOTED:
          if (QDTEXT[c] === 1) {
            i++
            break
          }
          if (c === BACKSLASH) this.#st = S_CHUNK_EXT_QUOTED_ESC
          else if (c === DQUOTE) this.#st = S_CHUNK_EXT_AFTER_VALUE
          else return this.#failExt(c)
          i++
          break
        case S_CHUNK_EXT_QUOTED_ESC:
          // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): the same bytes as field-content.
          if (FIELD_CONTENT[c] !== 1) return this.#failExt(c)
          this.#st = S_CHUNK_EXT_QUOTED
          i++
          break
        case S_CHUNK_EXT_AFTER_VALUE:
          if (c === SP || c === HTAB) {
            i++
            break
          }
          if (c === SEMI) this.#st = S_CHUNK_EXT_BWS1
          else if (c === CR) this.#st = S_CHUNK_SIZE_LF
          else return this.#failExt(c)
          i++
          break
        case S_CHUNK_SIZE_LF:
          if (c !== LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'CR not followed by LF')
          i++
          if (this.#chunkSize === 0) {
            this.#inTrailers = true
            this.#headLen = 0
            this.#headMax = this.#limits.maxTrailersLen
            this.#fieldCount = 0
            this.#trailers = []
            this.#st = S_FIELD_START
            break
          }
          this.#bodyTotal += this.#chunkSize
          this.#remaining = this.#chunkSize
          this.#st = S_CHUNK_DATA
          break
        case S_CHUNK_DATA: {
          const n = Math.min(this.#remaining, len - i)
          const start = i
          i += n
          this.#remaining -= n
          if (this.#remaining === 0) this.#st = S_CHUNK_DATA_CR
          this.#cb.onBody(buf.subarray(start, i))
          break
        }
        case S_CHUNK_DATA_CR:
          if (c !== CR)
            return this.#fail('ERR_MUMMY_INVALID_CHUNK', 'chunk data not followed by CRLF')
          this.#st = S_CHUNK_DATA_LF
          i++
          break
        case S_CHUNK_DATA_LF:
          if (c !== LF)
            return this.#fail('ERR_MUMMY_INVALID_CHUNK', 'chunk data not followed by CRLF')
          this.#st = S_CHUNK_SIZE_START
          i++
          break

        default:
          return this.#fail('ERR_MUMMY_INCOMPLETE_REQUEST', `parser in unexpected state ${state}`)
      }
    }

    if (mark !== -1) this.#appendScratch(buf, mark, len)
    return len
  }

  /** Clears the per-request fields and enters the method state. */
  #beginRequest(): void {
    this.#st = S_METHOD
    this.#headLen = 0
    this.#headMax = this.#limits.maxHeadersLen
    this.#uriLen = 0
    this.#methodLen = 0
    this.#fieldCount = 0
    this.#fieldKind = F_OTHER
    this.#inTrailers = false
    this.#method = ''
    this.#target = ''
    this.#versionMajor = 0
    this.#versionMinor = 0
    this.#headers = []
    this.#authority = null
    this.#rules.reset()
    this.#switchesProtocol = false
    this.#trailers = []
    this.#remaining = 0
    this.#chunkSize = 0
    this.#sizeDigits = 0
    this.#bodyTotal = 0
    this.#extLen = 0
  }

  /** The token `buf[start, end)`, prefixed by the bytes kept from earlier chunks. */
  /**
   * Skips the run of bytes of class `table` starting at `from`, without passing the head-size
   * limit (the caller's next step reports it), and counts them into the head size. Returns
   * the index of the first byte not skipped.
   */
  #skipRun(buf: Buffer, from: number, len: number, table: Readonly<Uint8Array>): number {
    let j = from
    const stop = Math.min(len, from + (this.#headMax - this.#headLen))
    while (j < stop && table[buf[j] as number] === 1) j++
    this.#headLen += j - from
    return j
  }

  #take(buf: Buffer, start: number, end: number): string {
    if (this.#scratchLen === 0) return latin1(buf, start, end)
    this.#appendScratch(buf, start, end)
    const s = latin1(this.#scratch, 0, this.#scratchLen)
    this.#scratchLen = 0
    return s
  }

  #appendScratch(buf: Buffer, start: number, end: number): void {
    const n = end - start
    if (n === 0) return
    const need = this.#scratchLen + n
    if (need > this.#scratch.length) {
      // A token never outgrows its section, so capping by the section limit bounds the buffer.
      const grown = Math.min(Math.max(this.#scratch.length * 2, SCRATCH_INITIAL), this.#headMax)
      const next = Buffer.allocUnsafe(Math.max(need, grown))
      this.#scratch.copy(next, 0, 0, this.#scratchLen)
      this.#scratch = next
    }
    buf.copy(this.#scratch, this.#scratchLen, start, end)
    this.#scratchLen = need
  }

  /** Records a field value and applies the rules of the fields the parser interprets. */
  #fieldValue(value: string): number {
    if (this.#inTrailers) {
      this.#trailers.push(value)
      return 0
    }
    this.#headers.push(value)
    const kind = this.#fieldKind
    if (kind === F_OTHER) return 0
    const authority = this.#authority !== null
    const error = this.#rules.apply(kind, value, this.#versionMinor, authority)
    if (error !== null) return this.#failWith(error)
    // A Host beside an absolute-form target: handlers see the target's authority in its place.
    if (kind === F_HOST && authority) this.#headers[this.#headers.length - 1] = this.#authority!
    return 0
  }

  /**
   * End of the header section: checks the whole-head rules, then calls onHead.
   * Returns -1 on error, 1 when a body follows, 0 when the request has no body.
   */
  #headDone(): number {
    const rules = this.#rules
    const error = rules.finish(this.#method, this.#versionMinor, this.#limits.maxBodyLen)
    if (error !== null) return this.#failWith(error)
    const conn = rules.connection
    const keepAlive =
      (conn & CONN_CLOSE) === 0 && (this.#versionMinor === 1 || (conn & CONN_KEEP_ALIVE) !== 0)
    // RFC 9110 §7.8 and §10.1.1: Upgrade and 100-continue are ignored in HTTP/1.0 requests.
    const http11 = this.#versionMinor === 1
    const upgrade = http11 && (conn & CONN_UPGRADE) !== 0 && rules.hasUpgradeField
    this.#switchesProtocol = upgrade || this.#method === 'CONNECT'
    const head: RequestHead = {
      method: this.#method,
      target: this.#target,
      versionMinor: this.#versionMinor === 1 ? 1 : 0,
      headers: this.#headers,
      contentLength: rules.contentLength,
      chunked: rules.chunked,
      keepAlive,
      upgrade,
      expectContinue: http11 && rules.expectContinue,
    }
    let hasBody = 1
    if (rules.chunked) {
      this.#st = S_CHUNK_SIZE_START
    } else if (rules.contentLength > 0) {
      this.#remaining = rules.contentLength
      this.#st = S_BODY_CL
    } else {
      this.#st = S_HEAD_DONE
      hasBody = 0
    }
    this.#cb.onHead(head)
    return hasBody
  }

  /** Cumulative chunked body size against maxBodyLen, checked when a chunk-size is complete. */
  #checkChunkTotal(): number {
    if (this.#bodyTotal + this.#chunkSize > this.#limits.maxBodyLen) {
      return this.#fail(
        'ERR_MUMMY_BODY_TOO_LARGE',
        `chunked body exceeds ${this.#limits.maxBodyLen} bytes`,
      )
    }
    return 0
  }

  /** The request is complete. Returns true when execute() must stop (pause or upgrade). */
  #complete(trailers: string[]): boolean {
    this.#st = S_REQ_START
    this.#emptyLines = 0
    if (this.#switchesProtocol) {
      this.#upg = true
      this.#cb.onComplete(trailers)
      return true
    }
    return this.#cb.onComplete(trailers) === true
  }

  #fail(code: HttpParseErrorCode, message: string): -1 {
    return this.#failWith(new HttpParseError(code, message))
  }

  #failWith(error: HttpParseError): -1 {
    this.#err = error
    this.#st = S_DEAD
    this.#scratchLen = 0
    return -1
  }

  #failSectionLimit(): -1 {
    if (this.#st <= S_REQ_LINE_LF) {
      return this.#fail(
        'ERR_MUMMY_URI_TOO_LONG',
        `request-line exceeds ${this.#limits.maxHeadersLen} bytes`,
      )
    }
    if (this.#inTrailers) {
      return this.#fail(
        'ERR_MUMMY_TRAILERS_TOO_LARGE',
        `trailer section exceeds ${this.#limits.maxTrailersLen} bytes`,
      )
    }
    return this.#fail(
      'ERR_MUMMY_HEADERS_TOO_LARGE',
      `header section exceeds ${this.#limits.maxHeadersLen} bytes`,
    )
  }

  #failUriTooLong(): -1 {
    return this.#fail(
      'ERR_MUMMY_URI_TOO_LONG',
      `request-target exceeds ${this.#limits.maxUriLen} bytes`,
    )
  }

  #failVersion(): -1 {
    return this.#fail(
      'ERR_MUMMY_INVALID_VERSION',
      'HTTP-version is not HTTP/DIGIT.DIGIT followed by CRLF',
    )
  }

  #failExt(c: number): -1 {
    if (c === LF) return this.#fail('ERR_MUMMY_INVALID_EOL', 'chunk-size line ends with a bare LF')
    return this.#fail(
      'ERR_MUMMY_INVALID_CHUNK_EXT',
      `invalid byte ${hexByte(c)} in chunk extension`,
    )
  }

  #failExtTooLong(): -1 {
    return this.#fail(
      'ERR_MUMMY_CHUNK_EXT_TOO_LONG',
      `chunk extensions exceed ${this.#limits.maxChunkExtLen} bytes`,
    )
  }
}

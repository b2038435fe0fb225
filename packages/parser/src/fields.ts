/**
 * The rules of a request head above the byte level, written once: which request-targets fit
 * which method, what Host, Content-Length, Transfer-Encoding, Connection, Upgrade and Expect
 * mean and when they conflict, and what the whole head must hold. {@link RequestParser} applies
 * them field by field as its state machine reads bytes; {@link HeadCheck} applies the same ones
 * (with the byte-level rules for names, values and targets) to a head that another parser
 * already split into fields, such as uWebSockets.js's.
 */
import { HttpParseError, type HttpParseErrorCode } from './errors.js'
import { absoluteFormAuthority, isValidHost } from './host.js'
import { resolveLimits, type ParserLimits, type ParserOptions } from './limits.js'
import { FIELD_CONTENT, TARGET, TOKEN, equalsAsciiLower } from './tables.js'

const HTAB = 0x09
const SP = 0x20
const DOT = 0x2e
const SLASH = 0x2f
const COLON = 0x3a
const SEMI = 0x3b

/** Longest accepted method, in bytes. */
export const MAX_METHOD_LEN = 32

// Header fields whose meaning the rules know.
/** @internal */
export const F_OTHER = 0
/** @internal */
export const F_HOST = 1
/** @internal */
export const F_CONTENT_LENGTH = 2
/** @internal */
export const F_TRANSFER_ENCODING = 3
/** @internal */
export const F_CONNECTION = 4
/** @internal */
export const F_UPGRADE = 5
/** @internal */
export const F_EXPECT = 6

// Connection tokens.
/** @internal */
export const CONN_CLOSE = 1
/** @internal */
export const CONN_KEEP_ALIVE = 2
/** @internal */
export const CONN_UPGRADE = 4

/** @internal Which of the known fields `name` is (any case). */
export function classifyField(name: string): number {
  switch (name.length) {
    case 4:
      return equalsAsciiLower(name, 0, 4, 'host') ? F_HOST : F_OTHER
    case 6:
      return equalsAsciiLower(name, 0, 6, 'expect') ? F_EXPECT : F_OTHER
    case 7:
      return equalsAsciiLower(name, 0, 7, 'upgrade') ? F_UPGRADE : F_OTHER
    case 10:
      return equalsAsciiLower(name, 0, 10, 'connection') ? F_CONNECTION : F_OTHER
    case 14:
      return equalsAsciiLower(name, 0, 14, 'content-length') ? F_CONTENT_LENGTH : F_OTHER
    case 17:
      return equalsAsciiLower(name, 0, 17, 'transfer-encoding') ? F_TRANSFER_ENCODING : F_OTHER
    default:
      return F_OTHER
  }
}

/** @internal SP or HTAB. */
export function isOws(c: number): boolean {
  return c === SP || c === HTAB
}

/** `1*DIGIT` up to 2^53 - 1, or -1. */
function parseContentLength(value: string): number {
  const n = value.length
  if (n === 0) return -1
  let v = 0
  for (let k = 0; k < n; k++) {
    const d = value.charCodeAt(k) - 0x30
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
    if (v > Number.MAX_SAFE_INTEGER) return -1
  }
  return v
}

/** Bitmask of the `close`, `keep-alive` and `upgrade` tokens of a Connection value. */
function connectionTokens(value: string): number {
  let flags = 0
  const n = value.length
  let start = 0
  while (start <= n) {
    let end = value.indexOf(',', start)
    if (end === -1) end = n
    let a = start
    let b = end
    while (a < b && isOws(value.charCodeAt(a))) a++
    while (b > a && isOws(value.charCodeAt(b - 1))) b--
    if (equalsAsciiLower(value, a, b, 'close')) flags |= CONN_CLOSE
    else if (equalsAsciiLower(value, a, b, 'keep-alive')) flags |= CONN_KEEP_ALIVE
    else if (equalsAsciiLower(value, a, b, 'upgrade')) flags |= CONN_UPGRADE
    start = end + 1
  }
  return flags
}

/** `authority-form` (RFC 9112 §3.2.3): `host:port`, no path, query, fragment or userinfo. */
function isAuthorityForm(target: string): boolean {
  const colon = target.lastIndexOf(':')
  if (colon <= 0 || colon === target.length - 1) return false
  for (let k = colon + 1; k < target.length; k++) {
    const c = target.charCodeAt(k)
    if (c < 0x30 || c > 0x39) return false
  }
  for (let k = 0; k < colon; k++) {
    const c = target.charCodeAt(k)
    if (c === SLASH || c === 0x3f || c === 0x23 || c === 0x40) return false // / ? # @
  }
  return true
}

/**
 * `absolute-form` (RFC 9112 §3.2.2): `scheme "://" authority …` with a non-empty authority.
 * Returns the index of the colon after the scheme, or -1.
 */
function absoluteFormScheme(target: string): number {
  const n = target.length
  let k = 0
  for (; k < n; k++) {
    const c = target.charCodeAt(k)
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    if (alpha) continue
    if (k > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === DOT)) continue
    break
  }
  if (k === 0 || k + 3 >= n) return -1
  if (target.charCodeAt(k) !== COLON) return -1
  if (target.charCodeAt(k + 1) !== SLASH || target.charCodeAt(k + 2) !== SLASH) return -1
  const first = target.charCodeAt(k + 3)
  return first !== SLASH && first !== 0x3f && first !== 0x23 ? k : -1
}

/**
 * @internal The request-line rules above the bytes: the target's form fits the method, CONNECT
 * only where allowed, and an absolute-form target's authority is valid. Returns the error, or
 * the authority of an absolute-form target (which stands for the Host field), or `null`.
 */
export function checkTarget(
  method: string,
  target: string,
  allowConnect: boolean,
): HttpParseError | string | null {
  // origin-form, the usual case: nothing more to check.
  if (target.charCodeAt(0) === SLASH && method !== 'CONNECT') return null
  return checkOtherTarget(method, target, allowConnect)
}

/** {@link checkTarget} for every form but origin-form (and for CONNECT). */
function checkOtherTarget(
  method: string,
  target: string,
  allowConnect: boolean,
): HttpParseError | string | null {
  const valid =
    method === 'CONNECT'
      ? isAuthorityForm(target)
      : target === '*'
        ? method === 'OPTIONS'
        : target.charCodeAt(0) === SLASH || absoluteFormScheme(target) !== -1
  if (!valid) {
    return new HttpParseError(
      'ERR_MUMMY_INVALID_TARGET',
      `request-target form not allowed for ${method}`,
    )
  }
  if (method === 'CONNECT') {
    return allowConnect
      ? null
      : new HttpParseError(
          'ERR_MUMMY_CONNECT_UNSUPPORTED',
          'CONNECT is not supported: this server is not a proxy',
        )
  }
  if (target === '*') return null
  // absolute-form: its authority is the request's host (RFC 9112 §3.2.2).
  const authority = absoluteFormAuthority(target, absoluteFormScheme(target))
  return (
    authority ?? new HttpParseError('ERR_MUMMY_INVALID_HOST', 'invalid authority in request-target')
  )
}

// The refusals of single fields, by code and message.
const DUPLICATE_HOST = ['ERR_MUMMY_DUPLICATE_HOST', 'more than one Host field'] as const
const INVALID_HOST = ['ERR_MUMMY_INVALID_HOST', 'invalid Host value'] as const
const TE_IN_HTTP10 = ['ERR_MUMMY_TE_IN_HTTP10', 'Transfer-Encoding in an HTTP/1.0 request'] as const
const CL_AND_TE = ['ERR_MUMMY_CL_AND_TE', 'both Content-Length and Transfer-Encoding'] as const
const CL_REPEATED = [
  'ERR_MUMMY_INVALID_CONTENT_LENGTH',
  'more than one Content-Length field',
] as const
const CL_INVALID = ['ERR_MUMMY_INVALID_CONTENT_LENGTH', 'invalid Content-Length value'] as const

/** The error for a refusal above (built only when there is one). */
function refuse([code, message]: readonly [HttpParseErrorCode, string]): HttpParseError {
  return new HttpParseError(code, message)
}

/**
 * @internal What the fields of one head mean, gathered field by field: the framing fields and
 * their conflicts (RFC 9112 §6), Host (RFC 9112 §3.2), the Connection tokens, Upgrade and
 * Expect. Reused across requests ({@link reset}).
 */
export class FieldRules {
  hostCount = 0
  /** -1: no Content-Length. */
  contentLength = -1
  teSeen = false
  chunked = false
  /** Connection tokens (CONN_*). */
  connection = 0
  hasUpgradeField = false
  expectContinue = false

  /** Forgets the previous head. */
  reset(): void {
    this.hostCount = 0
    this.contentLength = -1
    this.teSeen = false
    this.chunked = false
    this.connection = 0
    this.hasUpgradeField = false
    this.expectContinue = false
  }

  /**
   * Applies one field value of kind `kind` (from {@link classifyField}); `authority`: the
   * request-target carries the host (the Host field is then only counted). Returns the error,
   * or `null`.
   */
  apply(
    kind: number,
    value: string,
    versionMinor: number,
    authority: boolean,
  ): HttpParseError | null {
    // Small steps, so that the parser's hot path inlines them; errors are built out of line.
    switch (kind) {
      case F_HOST:
        if (++this.hostCount > 1) return refuse(DUPLICATE_HOST)
        return authority || isValidHost(value) ? null : refuse(INVALID_HOST)
      case F_CONTENT_LENGTH:
        return this.#contentLength(value)
      case F_TRANSFER_ENCODING:
        if (versionMinor === 0) return refuse(TE_IN_HTTP10)
        if (this.contentLength !== -1) return refuse(CL_AND_TE)
        this.teSeen = true
        return this.#transferCodings(value)
      case F_CONNECTION:
        this.connection |= connectionTokens(value)
        return null
      case F_UPGRADE:
        this.hasUpgradeField = true
        return null
      case F_EXPECT:
        if (equalsAsciiLower(value, 0, value.length, '100-continue')) this.expectContinue = true
        return null
      default:
        return null
    }
  }

  #contentLength(value: string): HttpParseError | null {
    if (this.contentLength !== -1) return refuse(CL_REPEATED)
    if (this.teSeen) return refuse(CL_AND_TE)
    const n = parseContentLength(value)
    if (n === -1) return refuse(CL_INVALID)
    this.contentLength = n
    return null
  }

  /**
   * The rules of the whole head, once every field is in: Host present in HTTP/1.1, a
   * Transfer-Encoding that names a coding, no content on CONNECT, Content-Length within
   * `maxBodyLen`. Returns the error, or `null`.
   */
  finish(method: string, versionMinor: number, maxBodyLen: number): HttpParseError | null {
    if (
      (versionMinor === 1 && this.hostCount === 0) ||
      this.teSeen !== this.chunked ||
      method === 'CONNECT' ||
      this.contentLength > maxBodyLen
    )
      return this.#finishError(method, versionMinor, maxBodyLen)
    return null
  }

  #finishError(method: string, versionMinor: number, maxBodyLen: number): HttpParseError | null {
    if (versionMinor === 1 && this.hostCount === 0) {
      return new HttpParseError('ERR_MUMMY_MISSING_HOST', 'HTTP/1.1 request without Host')
    }
    if (this.teSeen && !this.chunked) {
      return new HttpParseError(
        'ERR_MUMMY_INVALID_TRANSFER_ENCODING',
        'Transfer-Encoding has no coding',
      )
    }
    if (method === 'CONNECT' && (this.teSeen || this.contentLength !== -1)) {
      // A proxy would read these bytes as tunnel data, another hop as a body.
      return new HttpParseError(
        'ERR_MUMMY_CONNECT_WITH_BODY',
        'a CONNECT request carries no content',
      )
    }
    if (this.contentLength > maxBodyLen) {
      return new HttpParseError(
        'ERR_MUMMY_BODY_TOO_LARGE',
        `Content-Length ${this.contentLength} exceeds ${maxBodyLen}`,
      )
    }
    return null
  }

  /**
   * One Transfer-Encoding field value: a comma list of codings (empty elements ignored). Only
   * `chunked` is supported, it must be the last coding and appear once, across all lines.
   */
  #transferCodings(value: string): HttpParseError | null {
    const n = value.length
    let start = 0
    while (start <= n) {
      let end = value.indexOf(',', start)
      if (end === -1) end = n
      let a = start
      let b = end
      start = end + 1
      while (a < b && isOws(value.charCodeAt(a))) a++
      while (b > a && isOws(value.charCodeAt(b - 1))) b--
      if (a === b) continue
      let nameEnd = a
      while (nameEnd < b && TOKEN[value.charCodeAt(nameEnd)] === 1) nameEnd++
      let k = nameEnd
      while (k < b && isOws(value.charCodeAt(k))) k++
      const hasParams = k < b && value.charCodeAt(k) === SEMI
      if (nameEnd === a || (k < b && !hasParams)) {
        return new HttpParseError(
          'ERR_MUMMY_INVALID_TRANSFER_ENCODING',
          'malformed transfer coding',
        )
      }
      if (this.chunked) {
        return new HttpParseError(
          'ERR_MUMMY_CHUNKED_NOT_LAST',
          'chunked is not the last transfer coding',
        )
      }
      if (!equalsAsciiLower(value, a, nameEnd, 'chunked')) {
        return new HttpParseError(
          'ERR_MUMMY_UNSUPPORTED_TRANSFER_ENCODING',
          `unsupported transfer coding ${JSON.stringify(value.slice(a, nameEnd))}`,
        )
      }
      if (hasParams) {
        return new HttpParseError(
          'ERR_MUMMY_INVALID_TRANSFER_ENCODING',
          'chunked takes no parameters',
        )
      }
      this.chunked = true
    }
    return null
  }
}

/** `0x..` of a byte or character, for messages. */
function hex(c: number): string {
  return `0x${c.toString(16).padStart(2, '0')}`
}

/** Index of the first character of `s` not allowed by `table` (past 0xFF: `high`), or -1. */
function firstOutside(s: string, table: Readonly<Uint8Array>, high: boolean): number {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k)
    if (c > 0xff ? !high : table[c] !== 1) return k
  }
  return -1
}

/**
 * Applies {@link RequestParser}'s rules to a request head that another HTTP parser has already
 * split into method, target and fields (uWebSockets.js's, for one): the same limits and the same
 * answers (an {@link HttpParseError} with the parser's code and status) for a bad method,
 * target or field, a missing, repeated or invalid Host, a repeated, malformed or too large
 * Content-Length, a Transfer-Encoding other than one final `chunked`, Content-Length with
 * Transfer-Encoding, too many fields, and a head over `maxHeadersLen` — counted as the
 * request-line and field lines written `name: value`. What only bytes can show (line endings,
 * obsolete folding, whitespace before a colon) is the other parser's to refuse.
 *
 * Characters above 0xFF in a value (a parser that decoded UTF-8) count as `obs-text`.
 *
 * @example
 * ```ts
 * const heads = new HeadCheck({ maxHeadersLen: 8192 })
 * heads.check('GET', '/', 1, ['host', 'example.com', 'content-length', '1, 2'])
 * // → HttpParseError ERR_MUMMY_INVALID_CONTENT_LENGTH (400)
 * ```
 */
export class HeadCheck {
  readonly #limits: ParserLimits
  readonly #allowConnect: boolean
  readonly #rules = new FieldRules()

  /** Throws `ERR_MUMMY_INVALID_OPTION` for a negative or non-integer limit. */
  constructor(options: ParserOptions = {}) {
    this.#limits = resolveLimits(options)
    this.#allowConnect = options.allowConnect === true
  }

  /**
   * Checks one head. `headers` alternates names and values as received (any case). Returns the
   * error to answer with, or `null` when the head is acceptable.
   */
  check(
    method: string,
    target: string,
    versionMinor: 0 | 1,
    headers: readonly string[],
  ): HttpParseError | null {
    // Positions are those of the head written out ("METHOD SP target SP HTTP/1.x CRLF", then
    // "name: value CRLF" per field and a final CRLF), so that of two faults the one the byte
    // parser would meet first is the one reported.
    const limits = this.#limits
    const max = limits.maxHeadersLen
    if (method.length === 0 || method.length > MAX_METHOD_LEN) {
      return new HttpParseError(
        'ERR_MUMMY_INVALID_METHOD',
        method.length === 0 ? 'empty method' : `method longer than ${MAX_METHOD_LEN} bytes`,
      )
    }
    const badMethod = firstOutside(method, TOKEN, false)
    if (badMethod !== -1) {
      return new HttpParseError(
        'ERR_MUMMY_INVALID_METHOD',
        `invalid byte ${hex(method.charCodeAt(badMethod))} in method`,
      )
    }
    if (target.length === 0)
      return new HttpParseError('ERR_MUMMY_INVALID_TARGET', 'empty request-target')
    // Target bytes within both limits are read before either limit is met.
    const within = Math.min(target.length, limits.maxUriLen, max - method.length - 1)
    const badTarget = firstOutside(
      within === target.length ? target : target.slice(0, within),
      TARGET,
      false,
    )
    if (badTarget !== -1) {
      return new HttpParseError(
        'ERR_MUMMY_INVALID_TARGET',
        `invalid byte ${hex(target.charCodeAt(badTarget))} in request-target`,
      )
    }
    if (within < target.length || method.length + target.length + 2 > max) {
      return new HttpParseError(
        'ERR_MUMMY_URI_TOO_LONG',
        target.length > limits.maxUriLen
          ? `request-target exceeds ${limits.maxUriLen} bytes`
          : `request-line exceeds ${max} bytes`,
      )
    }
    const form = checkTarget(method, target, this.#allowConnect)
    if (form instanceof HttpParseError) return form
    let size = method.length + target.length + 12
    if (size > max)
      return new HttpParseError('ERR_MUMMY_URI_TOO_LONG', `request-line exceeds ${max} bytes`)
    const authority = form !== null
    const rules = this.#rules
    rules.reset()
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i] as string
      const value = headers[i + 1] as string
      if (size + 1 > max) return tooLarge(max)
      if (i >>> 1 >= limits.maxHeaderCount) {
        return new HttpParseError(
          'ERR_MUMMY_TOO_MANY_HEADERS',
          `more than ${limits.maxHeaderCount} header fields`,
        )
      }
      const badName = name.length === 0 ? 0 : firstOutside(name, TOKEN, false)
      if (badName !== -1) {
        if (size + badName + 1 > max) return tooLarge(max)
        return new HttpParseError(
          'ERR_MUMMY_INVALID_HEADER_NAME',
          name.length === 0
            ? 'empty field name'
            : `invalid byte ${hex(name.charCodeAt(badName))} in field name`,
        )
      }
      // After "name: ", the value's bytes, then the CR at which the field is judged.
      const valueAt = size + name.length + 2
      const badValue = firstOutside(value, FIELD_CONTENT, true)
      if (badValue !== -1) {
        if (valueAt + badValue + 1 > max) return tooLarge(max)
        return new HttpParseError(
          'ERR_MUMMY_INVALID_HEADER_VALUE',
          `invalid byte ${hex(value.charCodeAt(badValue))} in field value`,
        )
      }
      if (valueAt + value.length + 1 > max) return tooLarge(max)
      // Leading and trailing whitespace is not part of a value (RFC 9112 §5.1).
      const error = rules.apply(classifyField(name), trimOws(value), versionMinor, authority)
      if (error !== null) return error
      size = valueAt + value.length + 2
    }
    if (size + 2 > max) return tooLarge(max)
    return rules.finish(method, versionMinor, limits.maxBodyLen)
  }
}

/** The header section did not fit. */
function tooLarge(max: number): HttpParseError {
  return new HttpParseError('ERR_MUMMY_HEADERS_TOO_LARGE', `header section exceeds ${max} bytes`)
}

/** `s` without leading and trailing SP/HTAB. */
function trimOws(s: string): string {
  let a = 0
  let b = s.length
  while (a < b && isOws(s.charCodeAt(a))) a++
  while (b > a && isOws(s.charCodeAt(b - 1))) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

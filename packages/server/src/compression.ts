/**
 * Response compression: content-coding negotiation (RFC 9110 §12.5.3), the compressible-type
 * test, and gzip / deflate with `node:zlib`'s synchronous functions (on the calling thread —
 * a worker — not libuv's pool). Pure functions, no IO.
 *
 * HTTP `deflate` is the zlib format (RFC 1950), not raw DEFLATE: `deflateSync` produces it.
 * Native zlib took 25–30 % of fflate's time for JSON from 64 B to 1 MiB on a worker thread, and
 * 30–95 % for less repetitive text, with smaller output
 * (`node benchmarks/src/experiments/gzip-worker.mjs`).
 */
import { deflateSync, gzipSync } from 'node:zlib'

/**
 * A content coding the server can produce.
 *
 * @example
 * ```ts
 * const coding: ContentCoding = 'gzip'
 * ```
 */
export type ContentCoding = 'gzip' | 'deflate'

/**
 * A compression level: 0 (store only) to 9 (smallest, slowest).
 *
 * @example
 * ```ts
 * const level: CompressionLevel = 6
 * ```
 */
export type CompressionLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9

/**
 * The `compression` server option.
 *
 * @example
 * ```ts
 * createServer(router, { compression: { ...DEFAULT_COMPRESSION, level: 4, encodings: ['gzip'] } })
 * ```
 */
export interface CompressionOptions {
  /** Compress responses at all. */
  enabled: boolean
  /** Smallest body, in bytes, worth compressing. Default 860 (Mummy's). */
  threshold: number
  /** Compression level, 0–9. Default 6. */
  level: CompressionLevel
  /** Codings offered, in the server's order of preference. Default `['gzip', 'deflate']`. */
  encodings: readonly ContentCoding[]
}

/**
 * The defaults: on, above 860 bytes, level 6, gzip preferred over deflate.
 *
 * @example
 * ```ts
 * const options: CompressionOptions = { ...DEFAULT_COMPRESSION, threshold: 1024 }
 * ```
 */
export const DEFAULT_COMPRESSION: Readonly<CompressionOptions> = Object.freeze({
  enabled: true,
  threshold: 860,
  level: 6,
  encodings: Object.freeze(['gzip', 'deflate'] as const),
})

/**
 * Picks the content coding to answer with, from `offered` (the server's preference order) and the
 * request's `Accept-Encoding` value, per RFC 9110 §12.5.3:
 *
 * - entries are `coding;q=weight`, comma-separated; codings are case-insensitive; `x-gzip` is
 *   `gzip`; an entry with an invalid weight (not 0–1 with at most 3 decimals) or an invalid coding
 *   token is ignored; a coding listed twice keeps its first weight;
 * - `*` gives its weight to every coding not listed explicitly; `q=0` means "not acceptable";
 * - the offered coding with the highest weight wins; ties go to the earlier one in `offered`.
 *
 * Returns `null` when nothing offered is acceptable, including when the header is absent or empty
 * (send the body uncompressed). `identity` is never returned. Never throws.
 *
 * @example
 * ```ts
 * negotiateEncoding('gzip;q=0.5, deflate', ['gzip', 'deflate'])  // 'deflate'
 * negotiateEncoding('*;q=0, gzip', ['gzip', 'deflate'])           // 'gzip'
 * negotiateEncoding(undefined, ['gzip'])                          // null
 * ```
 */
export function negotiateEncoding(
  acceptEncoding: string | undefined,
  offered: readonly ContentCoding[],
): ContentCoding | null {
  if (typeof acceptEncoding !== 'string' || acceptEncoding.length === 0 || offered.length === 0) {
    return null
  }
  // Weights in thousandths; -1 = not listed.
  let gzip = -1
  let deflate = -1
  let star = -1
  const header = acceptEncoding
  const length = header.length
  let position = 0
  while (position <= length) {
    let end = header.indexOf(',', position)
    if (end < 0) end = length
    const entry = parseEntry(header, position, end)
    if (entry !== undefined) {
      const [coding, weight] = entry
      if (coding === 'gzip' || coding === 'x-gzip') {
        if (gzip < 0) gzip = weight
      } else if (coding === 'deflate') {
        if (deflate < 0) deflate = weight
      } else if (coding === '*') {
        if (star < 0) star = weight
      }
    }
    position = end + 1
  }

  let best: ContentCoding | null = null
  let bestWeight = 0
  for (const coding of offered) {
    let weight = coding === 'gzip' ? gzip : coding === 'deflate' ? deflate : -1
    if (weight < 0) weight = star
    if (weight > bestWeight) {
      best = coding
      bestWeight = weight
    }
  }
  return best
}

/**
 * Parses one `coding [ ; q=weight ]` entry of `header[start, end)`. Returns the lower-cased coding
 * and its weight in thousandths, or `undefined` for an empty or malformed entry.
 */
function parseEntry(header: string, start: number, end: number): [string, number] | undefined {
  const codingEnd = semicolonBefore(header, start, end)
  const coding = asciiLower(header.slice(start, codingEnd).trim())
  if (coding.length === 0 || !TOKEN.test(coding)) return undefined
  let weight = 1000
  let paramStart = codingEnd
  while (paramStart < end) {
    const paramEnd = semicolonBefore(header, paramStart + 1, end)
    const param = header.slice(paramStart + 1, paramEnd)
    const equals = param.indexOf('=')
    const name = (equals < 0 ? param : param.slice(0, equals)).trim()
    if (name === 'q' || name === 'Q') {
      const parsed = equals < 0 ? -1 : parseWeight(param.slice(equals + 1).trim())
      if (parsed < 0) return undefined
      weight = parsed
    }
    paramStart = paramEnd
  }
  return [coding, weight]
}

/** Index of the first `;` in `header[from, end)`, or `end`; never scans past `end`. */
function semicolonBefore(header: string, from: number, end: number): number {
  for (let i = from; i < end; i++) if (header.charCodeAt(i) === 0x3b) return i
  return end
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/** `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths, or -1. */
function parseWeight(text: string): number {
  if (!QVALUE.test(text)) return -1
  return Math.round(Number(text) * 1000)
}

/** Lower-cases ASCII letters only (`'\u212A'.toLowerCase()` is `'k'`; that must not match). */
function asciiLower(text: string): string {
  let lower = ''
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    lower += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 0x20) : (text[i] as string)
  }
  return lower
}

const COMPRESSIBLE_TYPES = new Set([
  'application/json',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/xml',
  'application/x-www-form-urlencoded',
  'image/svg+xml',
])

/**
 * `true` when a body of this `Content-Type` is worth compressing: `text/*` (except
 * `text/event-stream`: SSE is never compressed), `application/json`, `application/javascript`,
 * `application/xml`, `application/x-www-form-urlencoded`, `image/svg+xml` and any `+json` / `+xml`
 * type. Parameters (`; charset=utf-8`) are ignored; matching is ASCII case-insensitive. Already
 * compressed formats (images, video, `application/wasm`, archives) and a missing type are `false`.
 *
 * @example
 * ```ts
 * isCompressibleType('application/json; charset=utf-8') // true
 * isCompressibleType('application/problem+json')        // true
 * isCompressibleType('text/event-stream')               // false
 * isCompressibleType('image/png')                       // false
 * ```
 */
export function isCompressibleType(contentType: string | undefined): boolean {
  if (typeof contentType !== 'string') return false
  const semicolon = contentType.indexOf(';')
  const type = asciiLower((semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim())
  const slash = type.indexOf('/')
  if (slash <= 0 || slash === type.length - 1) return false
  if (type.startsWith('text/')) return type !== 'text/event-stream'
  if (COMPRESSIBLE_TYPES.has(type)) return true
  return type.endsWith('+json') || type.endsWith('+xml')
}

/**
 * Compresses `body` with `coding` at `level` (0–9; fractions are truncated, out-of-range values
 * clamped, `NaN` means 6). gzip output carries no modification time, so equal bodies give equal
 * bytes. `deflate` is the zlib format, as HTTP requires.
 *
 * @example
 * ```ts
 * const gz = compressBody(new TextEncoder().encode(json), 'gzip', 6)
 * headers.set('Content-Encoding', 'gzip')
 * ```
 */
export function compressBody(body: Uint8Array, coding: ContentCoding, level: number): Uint8Array {
  const options = { level: clampLevel(level) }
  const out = coding === 'gzip' ? gzipSync(body, options) : deflateSync(body, options)
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength) // a plain view, not a Buffer
}

function clampLevel(level: number): number {
  if (Number.isNaN(level)) return 6
  return Math.min(9, Math.max(0, Math.trunc(level)))
}

/**
 * The coding to compress one response with, or `null` to send it as is. Combines every rule:
 * compression enabled, a non-empty body of at least `threshold` bytes, no `Content-Encoding` already set
 * (other than `identity`), a compressible `Content-Type`, and a coding the client accepts.
 *
 * Whatever the answer, a response whose type is compressible should carry
 * `Vary: Accept-Encoding`, since another client could have been answered differently.
 *
 * @example
 * ```ts
 * const coding = chooseCompression(options, {
 *   acceptEncoding: request.headers.get('accept-encoding'),
 *   contentType: 'application/json',
 *   contentEncoding: undefined,
 *   bodyLength: body.byteLength,
 * })
 * if (coding !== null) body = compressBody(body, coding, options.level)
 * ```
 */
export function chooseCompression(
  options: Readonly<CompressionOptions>,
  response: {
    /** The request's `Accept-Encoding` value. */
    acceptEncoding: string | undefined
    /** The response's `Content-Type` value. */
    contentType: string | undefined
    /** The response's `Content-Encoding` value, if the handler set one. */
    contentEncoding: string | undefined
    /** Body size in bytes. */
    bodyLength: number
  },
): ContentCoding | null {
  const length = response.bodyLength
  if (!options.enabled || !(length > 0 && length >= options.threshold)) return null
  const encoding = response.contentEncoding
  if (
    encoding !== undefined &&
    encoding.trim() !== '' &&
    asciiLower(encoding.trim()) !== 'identity'
  ) {
    return null
  }
  if (!isCompressibleType(response.contentType)) return null
  return negotiateEncoding(response.acceptEncoding, options.encodings)
}

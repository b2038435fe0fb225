/**
 * What serving a file needs besides the bytes (RFC 9110): validators (`ETag`,
 * `Last-Modified`), the conditional requests that use them (§13), byte ranges (§14), and a
 * media type from the file name. Pure functions: no IO (the media-type table is loaded on first
 * use).
 */
import { createRequire } from 'node:module'
import type * as Mime from 'mime-types'

/**
 * The `mime-types` table, loaded on first use: its data costs every worker about 1.3 MB of
 * heap, which a server that never sends a file should not pay.
 */
let mime: typeof Mime | undefined

/** A file's validators and size, as `respondFile` serves it. */
export interface FileFacts {
  readonly size: number
  /** Modification time, ms since the epoch. */
  readonly mtimeMs: number
  /** A content coding the bytes are in (`gzip` for a precompressed file), if any. */
  readonly coding?: string
}

/**
 * The strong entity tag of a file version: its size and modification time (like nginx), and
 * its content coding if it has one (a representation of its own).
 */
export function fileETag(facts: FileFacts): string {
  const coding = facts.coding === undefined ? '' : `-${facts.coding}`
  return `"${Math.floor(facts.mtimeMs).toString(16)}-${facts.size.toString(16)}${coding}"`
}

/** `Last-Modified` (IMF-fixdate; HTTP dates have whole seconds). */
export function lastModified(facts: FileFacts): string {
  return new Date(facts.mtimeMs).toUTCString()
}

/** The entity tags of an `If-Match` / `If-None-Match` list; `'*'` for a wildcard; `null` when malformed. */
export function parseETagList(value: string): string[] | '*' | null {
  const v = value.trim()
  if (v === '*') return '*'
  const tags: string[] = []
  let at = 0
  while (at < v.length) {
    // (Empty list elements are allowed and ignored: RFC 9110 §5.6.1.2.)
    SEPARATORS.lastIndex = at
    at += SEPARATORS.exec(v)![0].length
    if (at >= v.length) break
    ETAG.lastIndex = at
    const m = ETAG.exec(v)
    if (m === null) return null
    tags.push(m[1]!)
    at = ETAG.lastIndex
  }
  return tags
}

/** One entity tag, then the end of the list or a comma (a tag may hold commas: `"a,b"`). */
const ETAG = /((?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|$)/y
const SEPARATORS = /[ \t,]*/y

const opaque = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag)

/** Strong comparison (§8.8.3.2): both strong, same opaque tag. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b
}

/** Weak comparison: same opaque tag, weak or not. */
export function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b)
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const MONTH = MONTHS.join('|')
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
)
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
)
const ASCTIME_DATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) ( \\d|\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`,
)

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms, all
 * in GMT) in seconds since the epoch; `null` for anything else, which preconditions ignore.
 */
export function parseHttpDate(value: string, now = Date.now()): number | null {
  const v = value.trim()
  // [day, month, year, hours, minutes, seconds]
  let parts: [string, string, number, string, string, string]
  let m: RegExpExecArray | null
  if ((m = IMF_FIXDATE.exec(v)) !== null) parts = [m[1]!, m[2]!, Number(m[3]), m[4]!, m[5]!, m[6]!]
  else if ((m = RFC850_DATE.exec(v)) !== null) {
    // A two-digit year more than 50 years ahead is the most recent such year in the past.
    const thisYear = new Date(now).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3])
    if (year > thisYear + 50) year -= 100
    parts = [m[1]!, m[2]!, year, m[4]!, m[5]!, m[6]!]
  } else if ((m = ASCTIME_DATE.exec(v)) !== null)
    parts = [m[2]!.trim(), m[1]!, Number(m[6]), m[3]!, m[4]!, m[5]!]
  else return null
  const [day, month, year, hours, minutes, seconds] = parts
  const mon = MONTHS.indexOf(month)
  const d = Number(day)
  const hh = Number(hours)
  const mm = Number(minutes)
  const ss = Number(seconds)
  if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return null
  const ms = Date.UTC(year, mon, d, hh, mm, ss)
  // (No 31 February: the date must not have rolled over into the next month.)
  if (new Date(ms).getUTCMonth() !== mon && ss !== 60) return null
  return Math.floor(ms / 1000)
}

const httpDateSeconds = (value: string): number | null => parseHttpDate(value)

/** What the preconditions of a request say (§13.2.2): go on, or answer 304 / 412 now. */
export type Precondition = 'ok' | 304 | 412

/**
 * Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since`, in the
 * order RFC 9110 §13.2.2 gives, for a GET or HEAD of the file.
 *
 * @param header - a request header by lower-case name
 */
export function evaluatePreconditions(
  header: (name: string) => string | undefined,
  facts: FileFacts,
): Precondition {
  const etag = fileETag(facts)
  const modified = Math.floor(facts.mtimeMs / 1000)
  const ifMatch = header('if-match')
  if (ifMatch !== undefined) {
    const tags = parseETagList(ifMatch)
    if (tags !== '*' && (tags === null || !tags.some((t) => strongMatch(t, etag)))) return 412
  } else {
    const since = header('if-unmodified-since')
    const date = since === undefined ? null : httpDateSeconds(since)
    if (date !== null && modified > date) return 412
  }
  const ifNoneMatch = header('if-none-match')
  if (ifNoneMatch !== undefined) {
    const tags = parseETagList(ifNoneMatch)
    if (tags === '*' || (tags !== null && tags.some((t) => weakMatch(t, etag)))) return 304
  } else {
    const since = header('if-modified-since')
    const date = since === undefined ? null : httpDateSeconds(since)
    if (date !== null && modified <= date) return 304
  }
  return 'ok'
}

/** What a `Range` header asks of a file of `size` bytes. */
export type RangeAnswer =
  /** Send the whole file (no Range, one that is not `bytes=`, malformed, or several ranges). */
  | { kind: 'whole' }
  /** Send bytes `start`…`end` (inclusive) with 206. */
  | { kind: 'partial'; start: number; end: number }
  /** None of the ranges overlaps the file: 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' }

const RANGE_SPEC = /^\s*(\d*)\s*-\s*(\d*)\s*$/

/**
 * Reads a `Range` header (§14.1.2) for a file of `size` bytes. One range is served as asked
 * (`bytes=0-99`, `bytes=100-`, `bytes=-100`, the end clipped to the file); several ranges are
 * answered with the whole file, which the RFC allows (a multipart/byteranges body is rarely
 * worth its cost); a header that is malformed or of another unit is ignored.
 */
export function parseRange(value: string | undefined, size: number): RangeAnswer {
  if (value === undefined) return { kind: 'whole' }
  const eq = value.indexOf('=')
  if (eq === -1 || value.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'whole' }
  const specs = value.slice(eq + 1).split(',')
  const ranges: { start: number; end: number }[] = []
  for (const spec of specs) {
    if (spec.trim() === '') continue
    const m = RANGE_SPEC.exec(spec)
    if (m === null || (m[1] === '' && m[2] === '')) return { kind: 'whole' }
    const first = m[1] === '' ? null : Number(m[1])
    const last = m[2] === '' ? null : Number(m[2])
    if (
      (first !== null && !Number.isSafeInteger(first)) ||
      (last !== null && !Number.isSafeInteger(last))
    )
      return { kind: 'whole' }
    if (first === null) {
      // The last `last` bytes.
      if (last === 0) continue
      ranges.push({ start: Math.max(0, size - last!), end: size - 1 })
      continue
    }
    if (last !== null && last < first) return { kind: 'whole' }
    if (first >= size) continue
    ranges.push({ start: first, end: last === null ? size - 1 : Math.min(last, size - 1) })
  }
  if (ranges.length === 0) {
    // Only unsatisfiable ranges (or an empty file): 416, unless the header had none at all.
    return specs.some((s) => s.trim() !== '') ? { kind: 'unsatisfiable' } : { kind: 'whole' }
  }
  if (ranges.length > 1 || size === 0) return { kind: 'whole' }
  const [range] = ranges
  return { kind: 'partial', start: range!.start, end: range!.end }
}

/**
 * Whether an `If-Range` value (§13.1.5) still names this version of the file: an entity tag
 * by strong comparison, or exactly its `Last-Modified` date. When it does not, the whole file
 * is sent instead of the range.
 */
export function ifRangeHolds(value: string | undefined, facts: FileFacts): boolean {
  if (value === undefined) return true
  const v = value.trim()
  if (v.startsWith('"') || v.startsWith('W/')) return strongMatch(v, fileETag(facts))
  const date = httpDateSeconds(v)
  return date !== null && date === Math.floor(facts.mtimeMs / 1000)
}

/**
 * A media type from a file name's extension, from the maintained `mime-types` table (with
 * `charset=utf-8` for text types); `application/octet-stream` when unknown.
 */
export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.')
  const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'))
  if (dot <= slash + 1) return 'application/octet-stream'
  mime ??= createRequire(import.meta.url)('mime-types') as typeof Mime
  return mime.contentType(name.slice(dot + 1).toLowerCase()) || 'application/octet-stream'
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * A `Content-Disposition: attachment` value for `name`: an ASCII `filename` (other characters
 * replaced) and, when the name is not plain ASCII, an RFC 8187 `filename*`.
 */
export function attachment(name: string): string {
  // (A lone UTF-16 surrogate cannot be encoded: it becomes U+FFFD.)
  name = name.replace(LONE_SURROGATE, '\uFFFD')
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  if (ascii === name) return `attachment; filename="${ascii}"`
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

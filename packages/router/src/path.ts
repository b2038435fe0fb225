/**
 * A reusable, allocation-free view of a request-target's path segments.
 *
 * `load(uri)` finds the path part of the request-target (origin-form `/a/b?x` or absolute-form
 * `http://host/a/b`), cuts it at `?` / `#`, and records where every `/`-separated segment starts
 * and ends. Nothing is sliced or decoded up front: matchers compare literals in place with
 * `startsWith`, and only segments containing `%` are decoded — once, on first use, per segment,
 * after splitting (so `%2F` never creates a new segment).
 *
 * The arrays are grown, never shrunk, and reused across calls: a view is only valid until the next
 * `load`. The router keeps one view per module and never calls user code while it is loaded.
 */

const SLASH = 0x2f
const QUESTION = 0x3f
const HASH = 0x23
const PERCENT = 0x25
const COLON = 0x3a

/**
 * Segments of one request path, valid until the next {@link PathView.load}.
 *
 * @example
 * ```ts
 * const view = new PathView()
 * view.load('/users/J%C3%B6rg?tab=1') // true
 * view.count                           // 2
 * view.value(1)                        // 'Jörg'
 * ```
 */
export class PathView {
  /** The request-target last loaded. */
  uri = ''
  /** Number of segments; `/` has one (empty) segment, `/a/` has two (`'a'` and `''`). */
  count = 0
  #starts = new Int32Array(16)
  #ends = new Int32Array(16)
  #percent = new Uint8Array(16)
  // Decoded text of segments that contain '%': undefined = not decoded yet, null = invalid.
  #decoded: (string | null | undefined)[] = []

  /**
   * Loads `uri` and splits its path. Returns `false` (and `count` 0) when the request-target has
   * no path a route could match: asterisk-form (`*`), authority-form (`host:443`), empty, or
   * anything else not starting with `/` that is not absolute-form.
   *
   * @example
   * ```ts
   * view.load('http://example.com')   // true: the path is '/'
   * view.load('*')                    // false
   * ```
   */
  load(uri: string): boolean {
    this.uri = uri
    this.count = 0
    const length = uri.length
    const pathStart = uri.charCodeAt(0) === SLASH ? 0 : absolutePathStart(uri)
    if (pathStart < 0) return false

    if (pathStart >= length || isPathEnd(uri.charCodeAt(pathStart))) {
      // Absolute-form with an empty path ('http://h', 'http://h?x'): the path is '/'.
      this.#push(pathStart, pathStart, 0)
      return true
    }

    let start = pathStart + 1
    let percent = 0
    let i = start
    for (; i < length; i++) {
      const c = uri.charCodeAt(i)
      if (c === SLASH) {
        this.#push(start, i, percent)
        start = i + 1
        percent = 0
      } else if (c === PERCENT) {
        percent = 1
      } else if (c === QUESTION || c === HASH) {
        break
      }
    }
    this.#push(start, i, percent)
    return true
  }

  /** Start offset of segment `index` in {@link PathView.uri}. */
  start(index: number): number {
    return this.#starts[index] ?? 0
  }

  /** End offset (exclusive) of segment `index` in {@link PathView.uri}. */
  end(index: number): number {
    return this.#ends[index] ?? 0
  }

  /** `true` when segment `index` contains `%` and must be decoded before comparing. */
  isEncoded(index: number): boolean {
    return this.#percent[index] === 1
  }

  /**
   * The percent-decoded text of segment `index`, or `null` when its percent-encoding (or the
   * UTF-8 it encodes) is invalid. Segments without `%` are sliced, never decoded.
   *
   * @example
   * ```ts
   * view.load('/a%2Fb/100%')
   * view.value(0) // 'a/b'
   * view.value(1) // null
   * ```
   */
  value(index: number): string | null {
    const start = this.start(index)
    const end = this.end(index)
    if (this.#percent[index] !== 1) return this.uri.slice(start, end)
    let decoded = this.#decoded[index]
    if (decoded === undefined) {
      decoded = tryDecode(this.uri.slice(start, end))
      this.#decoded[index] = decoded
    }
    return decoded
  }

  #push(start: number, end: number, percent: number): void {
    const index = this.count
    if (index === this.#starts.length) this.#grow()
    this.#starts[index] = start
    this.#ends[index] = end
    this.#percent[index] = percent
    if (percent === 1) this.#decoded[index] = undefined
    this.count = index + 1
  }

  #grow(): void {
    const size = this.#starts.length * 2
    const starts = new Int32Array(size)
    const ends = new Int32Array(size)
    const percent = new Uint8Array(size)
    starts.set(this.#starts)
    ends.set(this.#ends)
    percent.set(this.#percent)
    this.#starts = starts
    this.#ends = ends
    this.#percent = percent
  }
}

/**
 * Where the path of an absolute-form request-target (`scheme://authority/path`) starts: the index
 * of its first `/`, `?` or `#` after the authority (or the string's length), or -1 when `uri` is
 * not absolute-form.
 */
function absolutePathStart(uri: string): number {
  const length = uri.length
  let i = 0
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  for (; i < length; i++) {
    const c = uri.charCodeAt(i)
    const alpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a
    if (alpha) continue
    if (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) continue
    break
  }
  if (i === 0 || uri.charCodeAt(i) !== COLON) return -1
  if (uri.charCodeAt(i + 1) !== SLASH || uri.charCodeAt(i + 2) !== SLASH) return -1
  for (i += 3; i < length; i++) {
    const c = uri.charCodeAt(i)
    if (c === SLASH || isPathEnd(c)) return i
  }
  return length
}

function isPathEnd(c: number): boolean {
  return c === QUESTION || c === HASH
}

/**
 * `decodeURIComponent` that returns `null` instead of throwing on malformed input.
 *
 * @example
 * ```ts
 * tryDecode('a%20b') // 'a b'
 * tryDecode('%E0%A4%A') // null
 * ```
 */
export function tryDecode(text: string): string | null {
  try {
    return decodeURIComponent(text)
  } catch {
    return null
  }
}

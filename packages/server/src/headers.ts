/**
 * Case-insensitive, multi-value request headers.
 *
 * Built over the flat `[name, value, …]` list the parser produces; names are folded with an
 * ASCII-only lower-casing (never `String#toLowerCase`, which maps `K` (U+212A) to `k`).
 * Backed by a `Map`, so hostile names such as `__proto__` are ordinary keys.
 */

/** ASCII-only lower-casing: letters A–Z become a–z, every other byte is left alone. */
export function asciiLower(name: string): string {
  let upper = false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c > 0x7f) return name.replace(/[A-Z]+/g, (m) => m.toLowerCase())
    if (c >= 65 && c <= 90) upper = true
  }
  // On an all-ASCII string `toLowerCase` is exactly the ASCII mapping (and native).
  return upper ? name.toLowerCase() : name
}

/**
 * Request headers: `get` joins repeated fields with `, ` (RFC 9110 §5.3), `getAll` returns
 * each value, iteration yields `[lower-cased name, value]` pairs in the order received.
 *
 * @example
 * ```ts
 * request.headers.get('content-type')   // 'application/json'
 * request.headers.getAll('Cookie')      // ['a=1', 'b=2']
 * for (const [name, value] of request.headers) console.log(name, value)
 * ```
 */
export class Headers implements Iterable<[string, string]> {
  readonly #raw: readonly string[]
  #map: Map<string, string[]> | null = null

  /** @param raw flat `[name, value, …]` list. */
  constructor(raw: readonly string[] = []) {
    this.#raw = raw
  }

  #index(): Map<string, string[]> {
    if (this.#map !== null) return this.#map
    const map = new Map<string, string[]>()
    const raw = this.#raw
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = asciiLower(raw[i]!)
      const list = map.get(key)
      if (list === undefined) map.set(key, [raw[i + 1]!])
      else list.push(raw[i + 1]!)
    }
    this.#map = map
    return map
  }

  /** The field's value (repeated fields joined with `, `), or `undefined`. */
  get(name: string): string | undefined {
    const raw = this.#raw
    // Small header sets: a linear scan beats building the map.
    if (this.#map === null && raw.length <= 16) {
      const key = asciiLower(name)
      let found: string | undefined
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (asciiLower(raw[i]!) === key)
          found = found === undefined ? raw[i + 1]! : found + ', ' + raw[i + 1]!
      }
      return found
    }
    const list = this.#index().get(asciiLower(name))
    return list === undefined ? undefined : list.length === 1 ? list[0] : list.join(', ')
  }

  /** Every value of the field, in order (empty when absent). */
  getAll(name: string): string[] {
    return [...(this.#index().get(asciiLower(name)) ?? [])]
  }

  /** Whether the field is present. */
  has(name: string): boolean {
    return this.get(name) !== undefined
  }

  /** Number of header lines. */
  get size(): number {
    return this.#raw.length >> 1
  }

  /** The flat `[name, value, …]` list as received (names not folded). */
  raw(): readonly string[] {
    return this.#raw
  }

  /** `[lower-cased name, value]` pairs, one per header line, in order received. */
  *entries(): IterableIterator<[string, string]> {
    const raw = this.#raw
    for (let i = 0; i + 1 < raw.length; i += 2) yield [asciiLower(raw[i]!), raw[i + 1]!]
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }

  /** A plain object (null prototype) of the headers, repeated values joined with `, `. */
  toJSON(): Record<string, string> {
    const out = Object.create(null) as Record<string, string>
    for (const [key, list] of this.#index()) out[key] = list.join(', ')
    return out
  }
}

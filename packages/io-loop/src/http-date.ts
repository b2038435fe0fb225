/**
 * The `Date` response header value (RFC 9110 §5.6.7 IMF-fixdate), formatted at most once
 * per second.
 *
 * @example
 * ```ts
 * head += 'Date: ' + httpDate() + '\r\n'
 * ```
 */
let cachedSecond = -1
let cached = ''

/** Returns the current time as an IMF-fixdate string, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function httpDate(now: number = Date.now()): string {
  const second = Math.floor(now / 1000)
  if (second !== cachedSecond) {
    cachedSecond = second
    cached = new Date(second * 1000).toUTCString()
  }
  return cached
}

/**
 * Byte-class lookup tables for HTTP/1.1 (RFC 9110 §5.6, RFC 9112 §3).
 *
 * Each table is a `Uint8Array(256)` indexed by a byte value; a non-zero entry means the byte
 * belongs to the class. They are built once at module load and never mutated.
 */

function table(predicate: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256)
  for (let c = 0; c < 256; c++) t[c] = predicate(c) ? 1 : 0
  return t
}

const TCHAR_EXTRA = "!#$%&'*+-.^_`|~"

function isTchar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || // DIGIT
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    TCHAR_EXTRA.includes(String.fromCharCode(c))
  )
}

/**
 * `tchar` (RFC 9110 §5.6.2): the bytes allowed in a method, a field name, a transfer coding
 * and a chunk-extension name or token value.
 *
 * @example
 * ```ts
 * TOKEN[0x41] // 1 ('A')
 * TOKEN[0x3a] // 0 (':')
 * ```
 */
export const TOKEN: Readonly<Uint8Array> = table(isTchar)

/**
 * Bytes allowed in a request-target: visible ASCII `0x21`–`0x7E` (no SP, CTL, DEL or non-ASCII).
 *
 * @example
 * ```ts
 * TARGET[0x2f] // 1 ('/')
 * TARGET[0x20] // 0 (SP)
 * ```
 */
export const TARGET: Readonly<Uint8Array> = table((c) => c >= 0x21 && c <= 0x7e)

/**
 * Bytes allowed inside a field value (`field-content`, RFC 9110 §5.5): HTAB, SP, VCHAR and
 * obs-text (`0x80`–`0xFF`). NUL, CR, LF, the other CTLs and DEL are excluded.
 *
 * @example
 * ```ts
 * FIELD_CONTENT[0x09] // 1 (HTAB)
 * FIELD_CONTENT[0x7f] // 0 (DEL)
 * ```
 */
export const FIELD_CONTENT: Readonly<Uint8Array> = table(
  (c) => c === 0x09 || c === 0x20 || (c >= 0x21 && c <= 0x7e) || c >= 0x80,
)

/**
 * Optional whitespace (`OWS`, RFC 9110 §5.6.3): SP and HTAB.
 *
 * @example
 * ```ts
 * OWS[0x20] // 1
 * ```
 */
export const OWS: Readonly<Uint8Array> = table((c) => c === 0x09 || c === 0x20)

/**
 * Bytes allowed inside a quoted-string (`qdtext`, RFC 9110 §5.6.4): HTAB, SP, `!`, `#`–`[`,
 * `]`–`~` and obs-text. `"` and `\` are handled by the caller.
 *
 * @example
 * ```ts
 * QDTEXT[0x61] // 1 ('a')
 * QDTEXT[0x22] // 0 ('"')
 * ```
 */
export const QDTEXT: Readonly<Uint8Array> = table(
  (c) =>
    c === 0x09 ||
    c === 0x20 ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x5b) ||
    (c >= 0x5d && c <= 0x7e) ||
    c >= 0x80,
)

/**
 * Value of a hexadecimal digit, or `0xff` for any other byte.
 *
 * @example
 * ```ts
 * HEX[0x66] // 15 ('f')
 * HEX[0x78] // 255 ('x')
 * ```
 */
export const HEX: Readonly<Uint8Array> = (() => {
  const t = new Uint8Array(256).fill(0xff)
  for (let c = 0x30; c <= 0x39; c++) t[c] = c - 0x30
  for (let c = 0x41; c <= 0x46; c++) t[c] = c - 0x41 + 10
  for (let c = 0x61; c <= 0x66; c++) t[c] = c - 0x61 + 10
  return t
})()

/**
 * `true` when the byte (or the char code of a latin1 string character) is a `tchar`, the
 * character class of methods, field names and transfer codings.
 *
 * @example
 * ```ts
 * isTokenChar('G'.charCodeAt(0)) // true
 * isTokenChar(0x20)              // false (SP)
 * ```
 */
export function isTokenChar(code: number): boolean {
  return code >= 0 && code < 256 && TOKEN[code] === 1
}

/**
 * `true` when `s` is a non-empty `token` (RFC 9110 §5.6.2).
 *
 * @example
 * ```ts
 * isToken('chunked') // true
 * isToken('a b')     // false
 * ```
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false
  for (let k = 0; k < s.length; k++) if (!isTokenChar(s.charCodeAt(k))) return false
  return true
}

/**
 * ASCII-only, case-insensitive comparison of `s.slice(start, end)` with `lower`, which must be
 * lowercase ASCII. Only `A`–`Z` are folded, so non-ASCII look-alikes (for example the Kelvin sign
 * `U+212A`, whose `toLowerCase()` is `k`) never match.
 *
 * @example
 * ```ts
 * equalsAsciiLower('Chunked', 0, 7, 'chunked')      // true
 * equalsAsciiLower('chun\u212Aed', 0, 7, 'chunked') // false
 * ```
 */
export function equalsAsciiLower(s: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false
  for (let k = 0; k < lower.length; k++) {
    let c = s.charCodeAt(start + k)
    if (c >= 0x41 && c <= 0x5a) c |= 0x20
    if (c !== lower.charCodeAt(k)) return false
  }
  return true
}

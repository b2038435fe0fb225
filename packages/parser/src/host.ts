/**
 * The Host rules of RFC 9112 §3.2: a Host field value, and the authority of an absolute-form
 * request-target, is `uri-host [ ":" port ]` as RFC 3986 §3.2.2–3.2.3 defines it. Pure string
 * checks, no allocation.
 */

/** 1 for the bytes a reg-name may hold: unreserved, sub-delims and `%` (checked as pct-encoded). */
const REG_NAME = new Uint8Array(128)
for (let c = 0x30; c <= 0x39; c++) REG_NAME[c] = 1
for (let c = 0x41; c <= 0x5a; c++) REG_NAME[c] = 1
for (let c = 0x61; c <= 0x7a; c++) REG_NAME[c] = 1
for (const ch of "-._~!$&'()*+,;=%") REG_NAME[ch.charCodeAt(0)] = 1

/** {@link REG_NAME} without `%`: the bytes of a host that needs no further check. */
const HOST_PLAIN = REG_NAME.slice()
HOST_PLAIN[0x25] = 0

const COLON = 0x3a
const PERCENT = 0x25
const DOT = 0x2e

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

/** `reg-name` over `s[a, b)`: unreserved / pct-encoded / sub-delims, possibly empty. */
function isRegName(s: string, a: number, b: number): boolean {
  for (let k = a; k < b; k++) {
    const c = s.charCodeAt(k)
    if (c >= 128 || REG_NAME[c] !== 1) return false
    if (c === PERCENT) {
      if (k + 2 >= b || !isHex(s.charCodeAt(k + 1)) || !isHex(s.charCodeAt(k + 2))) return false
      k += 2
    }
  }
  return true
}

/** `dec-octet "." dec-octet "." dec-octet "." dec-octet` over `s[a, b)`. */
function isIPv4(s: string, a: number, b: number): boolean {
  let parts = 0
  let k = a
  while (k <= b) {
    let e = k
    while (e < b && isDigit(s.charCodeAt(e))) e++
    const n = e - k
    // 1 to 3 digits, no leading zero, at most 255.
    if (n === 0 || n > 3 || (n > 1 && s.charCodeAt(k) === 0x30)) return false
    if (Number(s.slice(k, e)) > 255) return false
    parts++
    if (e === b) break
    if (s.charCodeAt(e) !== DOT || parts === 4) return false
    k = e + 1
  }
  return parts === 4
}

/** `IPv6address` (RFC 3986 §3.2.2) over `s[a, b)`: 8 groups, `::` once, an IPv4 tail allowed. */
function isIPv6(s: string, a: number, b: number): boolean {
  let groups = 0
  let elided = false
  let k = a
  if (b - a >= 2 && s.charCodeAt(a) === COLON && s.charCodeAt(a + 1) === COLON) {
    elided = true
    k = a + 2
    if (k === b) return true
  } else if (s.charCodeAt(a) === COLON) {
    return false
  }
  while (k < b) {
    let e = k
    while (e < b && isHex(s.charCodeAt(e))) e++
    if (e < b && s.charCodeAt(e) === DOT) {
      // The last 32 bits as a dotted quad.
      if (!isIPv4(s, k, b)) return false
      groups += 2
      break
    }
    const n = e - k
    if (n === 0 || n > 4) return false
    groups++
    if (e === b) break
    if (s.charCodeAt(e) !== COLON) return false
    if (e + 1 < b && s.charCodeAt(e + 1) === COLON) {
      if (elided) return false
      elided = true
      k = e + 2
      if (k === b) break
    } else {
      k = e + 1
      if (k === b) return false // a trailing single colon
    }
  }
  return elided ? groups <= 7 : groups === 8
}

/** `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )` over `s[a, b)`. */
function isIPvFuture(s: string, a: number, b: number): boolean {
  if (b - a < 4 || (s.charCodeAt(a) | 0x20) !== 0x76) return false
  let k = a + 1
  while (k < b && isHex(s.charCodeAt(k))) k++
  if (k === a + 1 || k >= b - 1 || s.charCodeAt(k) !== DOT) return false
  for (k++; k < b; k++) {
    const c = s.charCodeAt(k)
    if (c !== COLON && (c >= 128 || c === PERCENT || REG_NAME[c] !== 1)) return false
  }
  return true
}

/**
 * Whether `s[a, b)` is `uri-host [ ":" port ]` (RFC 3986): an IP-literal in brackets (IPv6 or
 * IPvFuture), or a reg-name (which includes IPv4 addresses), then an optional port of digits.
 * With `requireHost`, the host part may not be empty.
 */
function isHostPort(s: string, a: number, b: number, requireHost: boolean): boolean {
  let hostEnd: number
  if (a < b && s.charCodeAt(a) === 0x5b) {
    const close = s.indexOf(']', a)
    if (close === -1 || close >= b) return false
    if (!isIPv6(s, a + 1, close) && !isIPvFuture(s, a + 1, close)) return false
    hostEnd = close + 1
    if (hostEnd < b && s.charCodeAt(hostEnd) !== COLON) return false
  } else {
    hostEnd = a
    while (hostEnd < b && s.charCodeAt(hostEnd) !== COLON) hostEnd++
    if (!isRegName(s, a, hostEnd)) return false
    if (requireHost && hostEnd === a) return false
  }
  for (let k = hostEnd + 1; k < b; k++) if (!isDigit(s.charCodeAt(k))) return false
  return true
}

/**
 * Whether `value` is a valid Host field value (RFC 9112 §3.2): `uri-host [ ":" port ]`. An
 * empty value is valid (the target URI had no authority). Whitespace, `@` (userinfo), `/`, a
 * second colon outside brackets, a bad percent-escape or a malformed IP literal are not.
 *
 * @example
 * ```ts
 * isValidHost('example.com:8080') // true
 * isValidHost('[::1]') // true
 * isValidHost('a@b') // false
 * ```
 */
export function isValidHost(value: string): boolean {
  // Fast path, one pass: a reg-name without percent-escapes, then an optional `:port`.
  const n = value.length
  let k = 0
  for (; k < n; k++) {
    const c = value.charCodeAt(k)
    if (c < 128 && HOST_PLAIN[c] === 1) continue
    if (c !== COLON) return isHostPort(value, 0, n, false)
    break
  }
  for (k++; k < n; k++) if (!isDigit(value.charCodeAt(k))) return false
  return true
}

/**
 * The authority of an absolute-form request-target (`scheme "://" authority …`), or `null` when
 * it is not a valid `http`-style authority: userinfo is refused (RFC 9110 §4.2.4) and the host
 * may not be empty. `schemeEnd` is the index of the `:` after the scheme.
 */
export function absoluteFormAuthority(target: string, schemeEnd: number): string | null {
  const a = schemeEnd + 3
  let b = a
  while (b < target.length) {
    const c = target.charCodeAt(b)
    if (c === 0x2f || c === 0x3f || c === 0x23) break // / ? #
    b++
  }
  return isHostPort(target, a, b, true) ? target.slice(a, b) : null
}

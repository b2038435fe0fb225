import { createHash } from 'node:crypto'
import { invalidArgument } from './errors.js'
import { isToken } from './tokens.js'

/** The GUID RFC 6455 §1.3 appends to the client's key. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/**
 * The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2):
 * base64(SHA-1(key + GUID)).
 *
 * @example
 * ```ts
 * acceptKey('dGhlIHNhbXBsZSBub25jZQ==') // 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
 * ```
 */
export function acceptKey(secWebSocketKey: string): string {
  return createHash('sha1')
    .update(secWebSocketKey + GUID, 'latin1')
    .digest('base64')
}

/**
 * Case-insensitive header access, as `Request.headers` and `Headers` provide: `get(name)` returns
 * the field value (several lines joined with `, `) or `undefined`.
 *
 * @example
 * ```ts
 * const headers: HeaderLookup = new Headers({ upgrade: 'websocket' })
 * ```
 */
export interface HeaderLookup {
  get(name: string): string | undefined | null
}

/**
 * The outcome of {@link checkUpgradeRequest}: the parts of a valid opening handshake, or the
 * status to answer with (and extra response headers as `[name, value, …]`).
 *
 * @example
 * ```ts
 * const check: UpgradeCheck = { ok: false, status: 426, reason: 'unsupported version',
 *   headers: ['Sec-WebSocket-Version', '13'] }
 * ```
 */
export type UpgradeCheck =
  | { ok: true; key: string; protocols: string[]; extensions: string }
  | { ok: false; status: 400 | 405 | 426; reason: string; headers: string[] }

const KEY = /^[A-Za-z0-9+/]{22}==$/

function reject(status: 400 | 405 | 426, reason: string, headers: string[] = []): UpgradeCheck {
  return { ok: false, status, reason, headers }
}

/** Splits a comma-separated list of tokens; `null` when an element is not a token. */
function tokenList(value: string): string[] | null {
  const out: string[] = []
  for (const part of value.split(',')) {
    const item = part.replace(/^[ \t]+|[ \t]+$/g, '')
    if (item === '') continue // empty list elements are allowed (RFC 9110 §5.6.1)
    if (!isToken(item)) return null
    out.push(item)
  }
  return out
}

/** ASCII-only case-insensitive membership test over a comma-separated list. */
function hasToken(value: string | undefined | null, token: string): boolean {
  if (value === undefined || value === null) return false
  for (const part of value.split(',')) {
    let item = part.replace(/^[ \t]+|[ \t]+$/g, '')
    // An Upgrade element may carry a version ("websocket/13"); compare the name.
    const slash = item.indexOf('/')
    if (slash !== -1) item = item.slice(0, slash)
    if (item.length !== token.length) continue
    let same = true
    for (let i = 0; i < item.length; i++) {
      let c = item.charCodeAt(i)
      if (c >= 0x41 && c <= 0x5a) c += 0x20 // ASCII only: U+212A (Kelvin) never matches 'k'
      if (c !== token.charCodeAt(i)) {
        same = false
        break
      }
    }
    if (same) return true
  }
  return false
}

/**
 * Checks a WebSocket opening handshake request (RFC 6455 §4.2.1). In order:
 *
 * 1. method `GET` — else **405** (with `Allow: GET`);
 * 2. HTTP/1.1 — else **400**;
 * 3. `Upgrade` lists `websocket` (ASCII case-insensitive) — else **400** (`Upgrade: h2c` is never a
 *    WebSocket upgrade);
 * 4. `Connection` lists `upgrade` — else **400**;
 * 5. `Sec-WebSocket-Version: 13` — else **426** with `Sec-WebSocket-Version: 13`;
 * 6. `Sec-WebSocket-Key` is base64 of 16 bytes — else **400**;
 * 7. `Sec-WebSocket-Protocol`, if present, is a list of tokens — else **400**.
 *
 * On success returns the key, the offered subprotocols (in the client's order) and the raw
 * `Sec-WebSocket-Extensions` value (`''` when absent) for {@link negotiateDeflate}.
 *
 * @example
 * ```ts
 * const check = checkUpgradeRequest(req.method, req.versionMinor, req.headers)
 * if (!check.ok) return respond(check.status, check.headers, check.reason)
 * const protocol = chooseSubprotocol(check.protocols.join(', '), ['chat.v2', 'chat.v1'])
 * socket.write(buildUpgradeResponse(acceptKey(check.key), protocol, null), 'latin1')
 * ```
 */
export function checkUpgradeRequest(
  method: string,
  httpVersionMinor: 0 | 1,
  headers: HeaderLookup,
): UpgradeCheck {
  if (method !== 'GET') return reject(405, 'WebSocket upgrade requires GET', ['Allow', 'GET'])
  if (httpVersionMinor !== 1) return reject(400, 'WebSocket upgrade requires HTTP/1.1')
  const upgrade = headers.get('upgrade')
  if (!hasToken(upgrade, 'websocket')) {
    if (hasToken(upgrade, 'h2c')) return reject(400, 'Upgrade: h2c is not a WebSocket upgrade')
    return reject(400, 'missing Upgrade: websocket')
  }
  if (!hasToken(headers.get('connection'), 'upgrade'))
    return reject(400, 'missing Connection: Upgrade')
  const version = headers.get('sec-websocket-version')?.trim()
  if (version !== '13')
    return reject(426, 'unsupported Sec-WebSocket-Version', ['Sec-WebSocket-Version', '13'])
  const key = headers.get('sec-websocket-key')?.trim()
  if (key === undefined || !KEY.test(key)) return reject(400, 'invalid Sec-WebSocket-Key')
  let protocols: string[] = []
  const protocolHeader = headers.get('sec-websocket-protocol')
  if (protocolHeader !== undefined && protocolHeader !== null) {
    const list = tokenList(protocolHeader)
    if (list === null || list.length === 0) return reject(400, 'invalid Sec-WebSocket-Protocol')
    protocols = list
  }
  const extensions = headers.get('sec-websocket-extensions') ?? ''
  return { ok: true, key, protocols, extensions }
}

/**
 * Picks the subprotocol to answer with: the first of `supported` (the server's preference order)
 * that the client offered in `offered` (its `Sec-WebSocket-Protocol` value; names are compared
 * case-sensitively). `null` when none matches — then the response carries no
 * `Sec-WebSocket-Protocol` and the client decides whether to go on.
 *
 * @example
 * ```ts
 * chooseSubprotocol('chat.v1, chat.v2', ['chat.v2', 'chat.v1']) // 'chat.v2'
 * chooseSubprotocol('mqtt', ['chat.v2']) // null
 * ```
 */
export function chooseSubprotocol(offered: string, supported: readonly string[]): string | null {
  const list = tokenList(offered)
  if (list === null || list.length === 0) return null
  for (const name of supported) if (list.includes(name)) return name
  return null
}

/**
 * The complete `101 Switching Protocols` response head, ending with CRLF CRLF, as a latin1 string
 * (write it with `'latin1'` encoding). `protocol` and `extensions` are included when not `null`.
 *
 * Throws `ERR_MUMMY_WS_INVALID_ARGUMENT` when `protocol` is not a token or a value contains CR, LF,
 * NUL or a character above U+00FF.
 *
 * @example
 * ```ts
 * buildUpgradeResponse('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'chat', null)
 * // 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
 * // 'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n'
 * ```
 */
export function buildUpgradeResponse(
  accept: string,
  protocol: string | null,
  extensions: string | null,
): string {
  checkValue('Sec-WebSocket-Accept', accept)
  let head =
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n`
  if (protocol !== null) {
    if (!isToken(protocol))
      invalidArgument(`subprotocol ${JSON.stringify(protocol)} is not a token`)
    head += `Sec-WebSocket-Protocol: ${protocol}\r\n`
  }
  if (extensions !== null && extensions !== '') {
    checkValue('Sec-WebSocket-Extensions', extensions)
    head += `Sec-WebSocket-Extensions: ${extensions}\r\n`
  }
  return head + '\r\n'
}

function checkValue(name: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === 0x0d || c === 0x0a || c === 0 || c > 0xff)
      invalidArgument(`${name} value has CR, LF, NUL or a non-latin1 character`)
  }
}

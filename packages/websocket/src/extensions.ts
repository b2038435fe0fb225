import { checkDeflateNumbers, type DeflateParams } from './deflate.js'
import { isTchar } from './tokens.js'
import { invalidOption } from './errors.js'

/**
 * One element of a `Sec-WebSocket-Extensions` list: an extension name and its parameters in the
 * order they appeared. Names are ASCII-lowercased; a parameter without `=` has the value `true`;
 * quoted-string values are unescaped.
 *
 * @example
 * ```ts
 * parseExtensions('permessage-deflate; client_max_window_bits')
 * // [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }]
 * ```
 */
export interface ExtensionOffer {
  name: string
  params: Array<[name: string, value: string | true]>
}

/**
 * Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1; several header lines joined with
 * `,`). Returns `null` when the value is not syntactically valid: a name or parameter that is not
 * a token, a bad quoted-string, stray characters. Empty list elements are skipped.
 *
 * @example
 * ```ts
 * parseExtensions('permessage-deflate; server_max_window_bits=10, permessage-deflate')
 * // [{ name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
 * //  { name: 'permessage-deflate', params: [] }]
 * parseExtensions('permessage-deflate; =1') // null
 * ```
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = []
  const n = value.length
  let i = 0
  const skipOws = (): void => {
    while (i < n) {
      const c = value.charCodeAt(i)
      if (c !== 0x20 && c !== 0x09) break
      i++
    }
  }
  const token = (): string => {
    const start = i
    while (i < n && isTchar(value.charCodeAt(i))) i++
    return value.slice(start, i).toLowerCase() // tokens are ASCII: no Unicode case folding
  }
  for (;;) {
    skipOws()
    if (i >= n) break
    if (value.charCodeAt(i) === 0x2c) {
      i++ // empty list element
      continue
    }
    const name = token()
    if (name === '') return null
    const params: ExtensionOffer['params'] = []
    skipOws()
    while (i < n && value.charCodeAt(i) === 0x3b) {
      i++
      skipOws()
      const key = token()
      if (key === '') return null
      skipOws()
      let v: string | true = true
      if (i < n && value.charCodeAt(i) === 0x3d) {
        i++
        skipOws()
        if (i < n && value.charCodeAt(i) === 0x22) {
          i++
          let s = ''
          let closed = false
          while (i < n) {
            let c = value.charCodeAt(i++)
            if (c === 0x22) {
              closed = true
              break
            }
            if (c === 0x5c) {
              if (i >= n) return null
              c = value.charCodeAt(i++) // quoted-pair
            }
            if (!isQuotedChar(c)) return null
            s += String.fromCharCode(c)
          }
          if (!closed) return null
          v = s
        } else {
          const t = value.slice(i, (i = skipToken(value, i)))
          if (t === '') return null
          v = t
        }
        skipOws()
      }
      params.push([key, v])
    }
    if (i < n && value.charCodeAt(i) !== 0x2c) return null
    out.push({ name, params })
  }
  return out
}

/** HTAB, SP, VCHAR and obs-text: what may appear (escaped or not) inside a quoted-string. */
function isQuotedChar(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0xff && c !== 0x7f)
}

function skipToken(value: string, start: number): number {
  let i = start
  while (i < value.length && isTchar(value.charCodeAt(i))) i++
  return i
}

/**
 * The server's permessage-deflate settings. Every field is optional.
 *
 * @example
 * ```ts
 * const options: DeflateOptions = { serverNoContextTakeover: true, threshold: 256 }
 * ```
 */
export interface DeflateOptions {
  /** Compress every server message with an empty window (less memory, worse ratio). Default `false`. */
  serverNoContextTakeover?: boolean
  /** Ask the client to compress every message with an empty window (we keep no inflate history). Default `false`. */
  clientNoContextTakeover?: boolean
  /** Limit the server's compression window to 2^bits bytes (9–15). Default 15, not sent. */
  serverMaxWindowBits?: number
  /** Limit the client's window (8–15); offers that do not allow it are declined. Default: not limited. */
  clientMaxWindowBits?: number
  /** Messages shorter than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number
  /** zlib level 0–9 (-1: zlib's default). Default 1: compression runs inline on the IO thread. */
  level?: number
}

/**
 * The default {@link DeflateOptions.threshold}: messages under 1 KiB are rarely worth the
 * compression call.
 *
 * @example
 * ```ts
 * negotiateDeflate(offer, { threshold: DEFAULT_DEFLATE_THRESHOLD / 4 })
 * ```
 */
export const DEFAULT_DEFLATE_THRESHOLD = 1024
/**
 * The default {@link DeflateOptions.level}: compression runs inline on the IO thread, and level 1
 * is about twice as fast as zlib's default (6) for a somewhat larger output.
 *
 * @example
 * ```ts
 * negotiateDeflate(offer, { level: DEFAULT_DEFLATE_LEVEL + 2 }) // trade CPU for ratio
 * ```
 */
export const DEFAULT_DEFLATE_LEVEL = 1

const WINDOW_BITS = /^(?:8|9|1[0-5])$/

/**
 * Answers a client's permessage-deflate offers (RFC 7692 §5, §7): picks the first acceptable
 * `permessage-deflate` offer in `offerHeader` (the request's `Sec-WebSocket-Extensions`) and
 * returns the response header value and the agreed parameters — or `null` when there is no
 * acceptable offer (then the connection runs without compression).
 *
 * An offer is declined (skipped) when it has an unknown or repeated parameter, a value on
 * `server_no_context_takeover` / `client_no_context_takeover`, a window-bits value other than
 * 8–15 (no leading zeros; `client_max_window_bits` may have no value), or does not
 * allow the `clientMaxWindowBits` limit the server wants. A value that does not parse as an
 * extension list at all is treated as no offer. Throws `ERR_MUMMY_INVALID_OPTION` for out-of-range
 * `options`.
 *
 * @example
 * ```ts
 * const agreed = negotiateDeflate('permessage-deflate; client_max_window_bits', {})
 * agreed?.response // 'permessage-deflate'
 * negotiateDeflate('permessage-deflate; server_max_window_bits=10', { serverNoContextTakeover: true })
 *   ?.response // 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10'
 * ```
 */
export function negotiateDeflate(
  offerHeader: string | undefined,
  options: DeflateOptions,
): { response: string; params: DeflateParams } | null {
  checkDeflateNumbers(options)
  if (options.serverMaxWindowBits !== undefined && options.serverMaxWindowBits < 9)
    invalidOption(
      'permessage-deflate serverMaxWindowBits must be 9–15 (zlib cannot compress with 8)',
    )
  if (offerHeader === undefined) return null
  const offers = parseExtensions(offerHeader)
  if (offers === null) return null
  for (const offer of offers) {
    if (offer.name !== 'permessage-deflate') continue
    const accepted = acceptOffer(offer.params, options)
    if (accepted !== null) return accepted
  }
  return null
}

function acceptOffer(
  params: ExtensionOffer['params'],
  options: DeflateOptions,
): { response: string; params: DeflateParams } | null {
  let serverNoContext = false
  let clientNoContext = false
  let serverBits: number | undefined
  let clientBits: number | true | undefined
  const seen = new Set<string>()
  for (const [key, value] of params) {
    if (seen.has(key)) return null
    seen.add(key)
    switch (key) {
      case 'server_no_context_takeover':
        if (value !== true) return null
        serverNoContext = true
        break
      case 'client_no_context_takeover':
        if (value !== true) return null
        clientNoContext = true
        break
      case 'server_max_window_bits':
        if (value === true || !WINDOW_BITS.test(value)) return null
        serverBits = Number(value)
        break
      case 'client_max_window_bits':
        if (value === true) clientBits = true
        else if (WINDOW_BITS.test(value)) clientBits = Number(value)
        else return null
        break
      default:
        return null
    }
  }

  const response = ['permessage-deflate']
  // Server → client direction.
  const sNoContext = serverNoContext || options.serverNoContextTakeover === true
  if (sNoContext) response.push('server_no_context_takeover')
  let sBits = options.serverMaxWindowBits ?? 15
  if (serverBits !== undefined) {
    sBits = Math.min(sBits, serverBits)
    response.push(`server_max_window_bits=${sBits}`)
  } else if (options.serverMaxWindowBits !== undefined) {
    response.push(`server_max_window_bits=${sBits}`)
  }
  // Client → server direction.
  const cNoContext = clientNoContext || options.clientNoContextTakeover === true
  if (cNoContext) response.push('client_no_context_takeover')
  let cBits = 15
  if (clientBits === undefined) {
    if (options.clientMaxWindowBits !== undefined) return null
  } else if (clientBits === true) {
    if (options.clientMaxWindowBits !== undefined) {
      cBits = options.clientMaxWindowBits
      response.push(`client_max_window_bits=${cBits}`)
    }
  } else {
    cBits = Math.min(clientBits, options.clientMaxWindowBits ?? 15)
    response.push(`client_max_window_bits=${cBits}`)
  }

  return {
    response: response.join('; '),
    params: {
      serverNoContextTakeover: sNoContext,
      clientNoContextTakeover: cNoContext,
      serverMaxWindowBits: sBits,
      clientMaxWindowBits: cBits,
      // A 256-byte window is agreed, but the server then sends every message uncompressed
      // (RFC 7692 lets a sender leave any message uncompressed): zlib cannot honour it.
      threshold:
        sBits < 9 ? Number.MAX_SAFE_INTEGER : (options.threshold ?? DEFAULT_DEFLATE_THRESHOLD),
      level: options.level ?? DEFAULT_DEFLATE_LEVEL,
    },
  }
}

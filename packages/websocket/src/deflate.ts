import { constants as bufferConstants } from 'node:buffer'
import zlib from 'node:zlib'
import { WebSocketError, invalidArgument, invalidOption } from './errors.js'

/**
 * The permessage-deflate parameters of one connection: what {@link negotiateDeflate} agreed with
 * the client, plus the server's own compression settings.
 *
 * @example
 * ```ts
 * const params: DeflateParams = {
 *   serverNoContextTakeover: false, clientNoContextTakeover: false,
 *   serverMaxWindowBits: 15, clientMaxWindowBits: 15, threshold: 1024, level: 1,
 * }
 * const pmd = new PerMessageDeflate(params, { maxMessageLen: 1 << 20 })
 * ```
 */
export interface DeflateParams {
  /** The server starts every message it compresses with an empty window. */
  serverNoContextTakeover: boolean
  /** The client starts every message it compresses with an empty window. */
  clientNoContextTakeover: boolean
  /** Base-2 logarithm of the window the server compresses with (9–15). */
  serverMaxWindowBits: number
  /** Base-2 logarithm of the largest window the client compresses with (8–15). */
  clientMaxWindowBits: number
  /** Messages shorter than this many bytes are sent uncompressed (see {@link encodeMessage}). */
  threshold: number
  /** zlib compression level, 0–9 (or -1 for zlib's default). */
  level: number
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff])
const { Z_SYNC_FLUSH } = zlib.constants

/** Checks the numeric fields of `params` (used by the constructor and by negotiation). */
export function checkDeflateNumbers(
  p: Partial<
    Pick<DeflateParams, 'serverMaxWindowBits' | 'clientMaxWindowBits' | 'threshold' | 'level'>
  >,
): void {
  const { serverMaxWindowBits: s, clientMaxWindowBits: c, threshold: t, level: l } = p
  // 8 is agreed only to a client that asks for it, and then the server never compresses (zlib
  // cannot compress raw DEFLATE with a 256-byte window); see negotiateDeflate.
  if (s !== undefined && !(Number.isInteger(s) && s >= 8 && s <= 15))
    invalidOption(
      `permessage-deflate serverMaxWindowBits must be an integer 8–15, got ${String(s)}`,
    )
  if (c !== undefined && !(Number.isInteger(c) && c >= 8 && c <= 15))
    invalidOption(
      `permessage-deflate clientMaxWindowBits must be an integer 8–15, got ${String(c)}`,
    )
  if (t !== undefined && !(Number.isSafeInteger(t) && t >= 0))
    invalidOption(`permessage-deflate threshold must be a non-negative integer, got ${String(t)}`)
  if (l !== undefined && !(Number.isInteger(l) && l >= -1 && l <= 9))
    invalidOption(`permessage-deflate level must be an integer -1–9, got ${String(l)}`)
}

/**
 * The sliding-window history of one direction: the last `capacity` bytes of everything
 * (de)compressed so far, replayed as a preset dictionary into the next message's zlib call. This is
 * what keeps the LZ77 context across messages ("context takeover") with zlib's one-shot,
 * synchronous API, which would otherwise start every message from an empty window.
 */
class History {
  readonly #buf: Buffer
  #len = 0

  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(capacity)
  }

  /** The history, or `undefined` while empty (zlib rejects an empty dictionary). */
  get dictionary(): Buffer | undefined {
    return this.#len === 0 ? undefined : this.#buf.subarray(0, this.#len)
  }

  /** Appends `data`, keeping only the last `capacity` bytes. Copies: `data` may be changed later. */
  push(data: Uint8Array): void {
    const cap = this.#buf.length
    const n = data.length
    if (n >= cap) {
      this.#buf.set(data.subarray(n - cap))
      this.#len = cap
      return
    }
    const keep = Math.min(this.#len, cap - n)
    if (keep > 0 && keep < this.#len) this.#buf.copyWithin(0, this.#len - keep, this.#len)
    this.#buf.set(data, keep)
    this.#len = keep + n
  }
}

/**
 * permessage-deflate (RFC 7692) for one connection: inflates the messages the client sent with
 * RSV1 set and deflates the messages the server sends. Synchronous (it runs inline on the IO
 * thread) and built on node:zlib's one-shot API.
 *
 * - **Context takeover** is honoured in both directions: unless `clientNoContextTakeover` /
 *   `serverNoContextTakeover` was agreed, the last window of plaintext (2^bits bytes, at most
 *   32 KiB per direction) is kept and used as the preset dictionary for the next message, which
 *   is exactly the state a continuous DEFLATE stream with sync flushes carries.
 * - **Bounded inflation**: zlib stops as soon as the output passes `maxMessageLen`, so a
 *   "zip bomb" allocates at most `maxMessageLen` plus one 16 KiB output chunk before failing with
 *   `ERR_MUMMY_WS_MESSAGE_TOO_LARGE` (1009).
 *
 * Calls must follow the wire order: inflate messages in the order they were received, and send
 * deflated messages in the order they were produced.
 *
 * @example
 * ```ts
 * const agreed = negotiateDeflate(headers.get('sec-websocket-extensions'), {})
 * const pmd = agreed && new PerMessageDeflate(agreed.params, { maxMessageLen: 1 << 20 })
 * const receiver = new FrameReceiver(callbacks, { deflate: pmd, maxMessageLen: 1 << 20 })
 * socket.write(Buffer.concat(encodeMessage('text', Buffer.from('hello'), pmd)))
 * ```
 */
export class PerMessageDeflate {
  /** The agreed parameters and the server's compression settings. */
  readonly params: Readonly<DeflateParams>
  /**
   * Non-null when {@link PerMessageDeflate.deflate}'s output depends only on its input (the server
   * compresses without context takeover). Two instances with the same key produce identical bytes
   * for the same message, so a message published to many connections can be compressed once per
   * key. `null` with context takeover: each connection must compress for itself, in send order.
   */
  readonly cacheKey: string | null
  readonly #maxMessageLen: number
  readonly #inflateHistory: History | null
  readonly #deflateHistory: History | null

  constructor(params: DeflateParams, options: { maxMessageLen: number }) {
    checkDeflateNumbers(params)
    const max = options.maxMessageLen
    if (!(Number.isSafeInteger(max) && max >= 0))
      invalidOption(`maxMessageLen must be a non-negative safe integer, got ${String(max)}`)
    this.params = Object.freeze({ ...params })
    this.#maxMessageLen = max
    this.#inflateHistory = params.clientNoContextTakeover
      ? null
      : new History(1 << params.clientMaxWindowBits)
    this.#deflateHistory =
      params.serverNoContextTakeover || params.serverMaxWindowBits < 9
        ? null
        : new History(1 << params.serverMaxWindowBits)
    this.cacheKey = params.serverNoContextTakeover
      ? `${params.level}:${params.serverMaxWindowBits}`
      : null
  }

  /** Messages shorter than this are better sent uncompressed (see {@link encodeMessage}). */
  get threshold(): number {
    return this.params.threshold
  }

  /**
   * Decompresses one whole message: the payloads of all its frames, in order, as received (RSV1
   * was set on the first). Appends the `00 00 ff ff` tail the sender removed.
   *
   * Throws a {@link WebSocketError}: `ERR_MUMMY_WS_MESSAGE_TOO_LARGE` (1009) as soon as the output
   * passes `maxMessageLen` — inflation stops there, so memory stays bounded — or
   * `ERR_MUMMY_WS_INFLATE_FAILED` (1007) for data that is not DEFLATE. After an error the
   * connection must be closed: the context is lost.
   *
   * @example
   * ```ts
   * const text = pmd.inflate([firstFramePayload, continuationPayload]).toString('utf8')
   * ```
   */
  inflate(fragments: readonly Buffer[]): Buffer {
    const input = Buffer.concat([...fragments, TRAILER])
    const options: zlib.ZlibOptions = {
      finishFlush: Z_SYNC_FLUSH,
      windowBits: 15, // a 15-bit window decodes every smaller window too
      maxOutputLength: Math.max(1, Math.min(this.#maxMessageLen, bufferConstants.MAX_LENGTH)),
    }
    const dictionary = this.#inflateHistory?.dictionary
    if (dictionary !== undefined) options.dictionary = dictionary
    let out: Buffer
    try {
      out = zlib.inflateRawSync(input, options)
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw this.#tooLarge()
      const reason = err instanceof Error ? err.message : String(err)
      const error = new WebSocketError(
        'ERR_MUMMY_WS_INFLATE_FAILED',
        `permessage-deflate: invalid compressed data (${reason})`,
      )
      throw error
    }
    if (out.length > this.#maxMessageLen) throw this.#tooLarge()
    this.#inflateHistory?.push(out)
    return out
  }

  /**
   * Compresses one whole message and returns the payload to send with RSV1 set (the trailing
   * `00 00 ff ff` removed, RFC 7692 §7.2.1). The result is a fresh buffer the caller owns.
   *
   * @example
   * ```ts
   * const payload = pmd.deflate(Buffer.from(JSON.stringify(state)))
   * socket.write(Buffer.concat(encodeFrame(Opcode.Text, payload, { rsv1: true })))
   * ```
   */
  deflate(data: Uint8Array): Buffer {
    const { level, serverMaxWindowBits } = this.params
    if (serverMaxWindowBits < 9) {
      // Only ever agreed with a threshold no message reaches (see negotiateDeflate).
      invalidArgument(
        'cannot compress with server_max_window_bits=8: send this message uncompressed',
      )
    }
    const options: zlib.ZlibOptions = {
      finishFlush: Z_SYNC_FLUSH,
      level,
      windowBits: serverMaxWindowBits,
    }
    const dictionary = this.#deflateHistory?.dictionary
    if (dictionary !== undefined) options.dictionary = dictionary
    const out = zlib.deflateRawSync(data, options)
    this.#deflateHistory?.push(data)
    // A sync flush always ends with an empty stored block: 00 00 ff ff.
    return out.subarray(0, out.length - 4)
  }

  #tooLarge(): WebSocketError {
    return new WebSocketError(
      'ERR_MUMMY_WS_MESSAGE_TOO_LARGE',
      `inflated message longer than maxMessageLen (${this.#maxMessageLen})`,
    )
  }
}

import { MummyError } from '@mummy/errors'

/**
 * Every error code {@link MultipartParser} reports, with the HTTP status a server answers with.
 *
 * @example
 * ```ts
 * MULTIPART_ERROR_STATUS.ERR_MUMMY_MULTIPART_TOO_MANY_PARTS // 413
 * ```
 */
export const MULTIPART_ERROR_STATUS = {
  /** The Content-Type is not `multipart/…` with a valid `boundary` parameter (1–70 bchars). */
  ERR_MUMMY_MULTIPART_BOUNDARY: 400,
  /** Bytes that are not a multipart body: no delimiter line, junk after a delimiter, a bad part header line, a part without a `form-data` Content-Disposition with a name. */
  ERR_MUMMY_MULTIPART_MALFORMED: 400,
  /** A part's header section is longer than `maxPartHeadersLen`. */
  ERR_MUMMY_MULTIPART_HEADERS_TOO_LARGE: 413,
  /** More than `maxParts` parts. */
  ERR_MUMMY_MULTIPART_TOO_MANY_PARTS: 413,
  /** The body ended (`finish()`) before the close delimiter. */
  ERR_MUMMY_MULTIPART_TRUNCATED: 400,
} as const

/** A code {@link MultipartParser} reports; see {@link MULTIPART_ERROR_STATUS}. */
export type MultipartErrorCode = keyof typeof MULTIPART_ERROR_STATUS

/**
 * A malformed or over-limit multipart body. `code` is stable and `status` is the HTTP status
 * to answer with.
 *
 * @example
 * ```ts
 * try { parser.execute(chunk) } catch (e) { if (e instanceof MultipartError) answer(e.status) }
 * ```
 */
export class MultipartError extends MummyError {
  declare readonly code: MultipartErrorCode
  declare readonly status: number

  constructor(code: MultipartErrorCode, message: string) {
    super(code, message, { status: MULTIPART_ERROR_STATUS[code] })
    this.name = 'MultipartError'
  }
}

/** One part's header section, as {@link MultipartCallbacks.onPartBegin} receives it. */
export interface PartHeaders {
  /** The form field name (`Content-Disposition: form-data; name="…"`). */
  readonly name: string
  /** The file name when the part is a file (`filename*` preferred over `filename`), else `undefined`. */
  readonly filename: string | undefined
  /** The part's Content-Type (`text/plain` when absent, as RFC 7578 says). */
  readonly contentType: string
  /** Every header line, `[name, value, …]`, names lower-cased. */
  readonly headers: readonly string[]
}

/** What a {@link MultipartParser} reports, in order, part by part. */
export interface MultipartCallbacks {
  /** A part begins (its headers are complete). */
  onPartBegin(part: PartHeaders): void
  /** A piece of the current part's content. The view is only valid during the call. */
  onPartData(chunk: Buffer): void
  /** The current part is complete. */
  onPartEnd(): void
  /** The close delimiter was read: the body is complete (what follows is ignored). */
  onEnd?(): void
}

/** Limits of a {@link MultipartParser}. */
export interface MultipartLimits {
  /** Parts allowed in one body. Default 1,000. */
  readonly maxParts?: number
  /** Bytes of one part's header section. Default 16 KiB. */
  readonly maxPartHeadersLen?: number
}

const CRLF = Buffer.from('\r\n')
const BCHARS = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * The boundary of a `multipart/*` Content-Type, or `null` when there is none or it is not a
 * valid RFC 2046 boundary (1–70 characters, no trailing space).
 *
 * @example
 * ```ts
 * multipartBoundary('multipart/form-data; boundary="----x y"') // '----x y'
 * ```
 */
export function multipartBoundary(contentType: string | null | undefined): string | null {
  if (typeof contentType !== 'string') return null
  const semi = contentType.indexOf(';')
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  if (!type.startsWith('multipart/') || semi === -1) return null
  const boundary = parameters(contentType.slice(semi + 1)).boundary
  return boundary !== undefined && BCHARS.test(boundary) ? boundary : null
}

/**
 * Parses a `Content-Disposition` value (RFC 6266 / RFC 7578): the disposition type (lower-cased)
 * and its parameters by lower-cased name, quoted strings unescaped. `filename*` in RFC 8187
 * form (`UTF-8''%E2%82%AC.txt`) is decoded and, when valid, replaces `filename`.
 *
 * @example
 * ```ts
 * parseContentDisposition('form-data; name="file"; filename="a.txt"')
 * // { type: 'form-data', params: { name: 'file', filename: 'a.txt' } }
 * ```
 */
export function parseContentDisposition(value: string): {
  type: string
  params: Record<string, string>
} {
  const semi = value.indexOf(';')
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase()
  const params = semi === -1 ? {} : parameters(value.slice(semi + 1))
  const extended = params['filename*']
  if (extended !== undefined) {
    const decoded = decodeExtValue(extended)
    if (decoded !== undefined) params.filename = decoded
    delete params['filename*']
  }
  return { type, params }
}

/** `;`-separated `name=value` parameters (token or quoted-string values). */
function parameters(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  let i = 0
  const n = text.length
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === ';')) i++
    const eq = text.indexOf('=', i)
    if (eq === -1) break
    const name = text.slice(i, eq).trim().toLowerCase()
    i = eq + 1
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++
    let val = ''
    if (text[i] === '"') {
      i++
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++
        val += text[i]
        i++
      }
      i++ // the closing quote
    } else {
      const end = text.indexOf(';', i)
      val = (end === -1 ? text.slice(i) : text.slice(i, end)).trim()
      i = end === -1 ? n : end
    }
    if (TCHAR.test(name) && !(name in out)) out[name] = val
  }
  return out
}

/** RFC 8187 `charset'lang'pct-encoded` (UTF-8 or ISO-8859-1), or `undefined` if malformed. */
function decodeExtValue(value: string): string | undefined {
  const first = value.indexOf("'")
  const second = first === -1 ? -1 : value.indexOf("'", first + 1)
  if (second === -1) return undefined
  const charset = value.slice(0, first).toLowerCase()
  const encoded = value.slice(second + 1)
  if (!/^(?:[!#$&+\-.^_`|~0-9A-Za-z]|%[0-9A-Fa-f]{2})*$/.test(encoded)) return undefined
  if (charset === 'utf-8') {
    try {
      return decodeURIComponent(encoded)
    } catch {
      return undefined
    }
  }
  if (charset === 'iso-8859-1')
    return encoded.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) =>
      String.fromCharCode(parseInt(h, 16)),
    )
  return undefined
}

const enum State {
  /** Before the first delimiter (the preamble is skipped). */
  Preamble,
  /** Right after a delimiter: `--` (close), or optional padding then CRLF. */
  AfterDelimiter,
  /** Inside a part's header section. */
  Headers,
  /** Inside a part's content, looking for the next delimiter. */
  Body,
  /** After the close delimiter: everything is epilogue. */
  Done,
}

/**
 * An incremental `multipart/form-data` (RFC 7578, RFC 2046 §5.1) body parser: bytes in, parts
 * out; no IO. Input may be split at any byte — a delimiter or a header line split across
 * chunks parses the same. Part content is passed on as it arrives (views, never buffered
 * whole), so memory stays bounded by the limits whatever the size of the files. Errors throw a
 * {@link MultipartError} with a stable code and the status to answer with.
 *
 * @example
 * ```ts
 * const boundary = multipartBoundary(request.headers['content-type'])!
 * const parser = new MultipartParser(boundary, {
 *   onPartBegin(part) { console.log(part.name, part.filename) },
 *   onPartData(chunk) { file.write(Buffer.from(chunk)) },
 *   onPartEnd() { file.end() },
 * })
 * for await (const chunk of body) parser.execute(chunk)
 * parser.finish()
 * ```
 */
export class MultipartParser {
  /** `\r\n--boundary`: what ends a part's content. */
  readonly #delimiter: Buffer
  readonly #callbacks: MultipartCallbacks
  readonly #maxParts: number
  readonly #maxHeadersLen: number
  #state = State.Preamble
  /** Bytes held back because they may start a delimiter (or a header line not yet complete). */
  #carry: Buffer = Buffer.from(CRLF)
  #parts = 0
  #headerBytes = 0
  #headerLines: string[] = []

  constructor(boundary: string, callbacks: MultipartCallbacks, limits: MultipartLimits = {}) {
    if (!BCHARS.test(boundary))
      throw new MultipartError('ERR_MUMMY_MULTIPART_BOUNDARY', 'invalid multipart boundary')
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1')
    this.#callbacks = callbacks
    this.#maxParts = limits.maxParts ?? 1000
    this.#maxHeadersLen = limits.maxPartHeadersLen ?? 16 * 1024
  }

  /** `true` once the close delimiter was read. */
  get done(): boolean {
    return this.#state === State.Done
  }

  /** Parses the next piece of the body. Throws {@link MultipartError} on bad input. */
  execute(chunk: Uint8Array): void {
    if (this.#state === State.Done || chunk.byteLength === 0) return
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.#carry.length > 0) {
      if (this.#state === State.Body) {
        // Only the junction of the held-back bytes and the new ones needs joining.
        data = this.#bodyJunction(data)
        if (data.length === 0) return
      } else {
        data = Buffer.concat([this.#carry, data])
        this.#carry = EMPTY
      }
    }
    this.#run(data)
  }

  /** The body has ended: throws `ERR_MUMMY_MULTIPART_TRUNCATED` unless it was complete. */
  finish(): void {
    if (this.#state !== State.Done)
      throw new MultipartError(
        'ERR_MUMMY_MULTIPART_TRUNCATED',
        'the multipart body ended before its close delimiter',
      )
  }

  /**
   * In a part's content with bytes held back: looks for a delimiter that spans the held bytes
   * and the new ones. Returns what is left to parse from `data`.
   */
  #bodyJunction(data: Buffer): Buffer {
    const carry = this.#carry
    const d = this.#delimiter
    const head = data.subarray(0, d.length - 1)
    const joined = Buffer.concat([carry, head])
    const at = joined.indexOf(d)
    if (at !== -1 && at < carry.length) {
      if (at > 0) this.#callbacks.onPartData(joined.subarray(0, at))
      this.#carry = EMPTY
      this.#endPart()
      return data.subarray(at + d.length - carry.length)
    }
    // No delimiter across the junction: the held bytes are content up to the point where a
    // delimiter could still begin.
    const keep = partialTail(joined, d)
    if (joined.length - keep >= carry.length) {
      if (carry.length > 0) this.#callbacks.onPartData(carry)
      this.#carry = EMPTY
      return data
    }
    // The whole new chunk is shorter than a delimiter and may still be its start.
    const give = joined.length - keep
    if (give > 0) this.#callbacks.onPartData(joined.subarray(0, give))
    this.#carry = Buffer.from(joined.subarray(give))
    return data.subarray(data.length)
  }

  #run(data: Buffer): void {
    let pos = 0
    while (pos < data.length) {
      switch (this.#state) {
        case State.Preamble: {
          const at = data.indexOf(this.#delimiter, pos)
          if (at === -1) {
            // Keep what could be the start of the first delimiter.
            const keep = partialTail(data.subarray(pos), this.#delimiter)
            this.#carry = Buffer.from(data.subarray(data.length - keep))
            return
          }
          pos = at + this.#delimiter.length
          this.#state = State.AfterDelimiter
          break
        }
        case State.AfterDelimiter: {
          // `--` closes the body; otherwise transport padding (SP/HTAB) then CRLF.
          if (data.length - pos < 2) {
            this.#carry = Buffer.from(data.subarray(pos))
            return
          }
          if (data[pos] === 0x2d && data[pos + 1] === 0x2d) {
            this.#state = State.Done
            this.#callbacks.onEnd?.()
            return
          }
          let i = pos
          while (i < data.length && (data[i] === 0x20 || data[i] === 0x09)) i++
          if (i - pos > 256) this.#malformed('too much padding after a delimiter')
          if (data.length - i < 2) {
            this.#carry = Buffer.from(data.subarray(pos))
            return
          }
          if (data[i] !== 0x0d || data[i + 1] !== 0x0a)
            this.#malformed('a delimiter must be followed by CRLF or "--"')
          pos = i + 2
          if (++this.#parts > this.#maxParts)
            throw new MultipartError(
              'ERR_MUMMY_MULTIPART_TOO_MANY_PARTS',
              `more than ${this.#maxParts} parts`,
            )
          this.#state = State.Headers
          this.#headerBytes = 0
          this.#headerLines = []
          break
        }
        case State.Headers: {
          const eol = data.indexOf(CRLF, pos)
          // An incomplete line's last CR may begin its CRLF: it is not counted yet, so the limit
          // trips on the same line however the input is split.
          const lineLen =
            eol !== -1 ? eol - pos : data.length - pos - (data[data.length - 1] === 0x0d ? 1 : 0)
          if (this.#headerBytes + lineLen > this.#maxHeadersLen)
            throw new MultipartError(
              'ERR_MUMMY_MULTIPART_HEADERS_TOO_LARGE',
              `a part's headers exceed ${this.#maxHeadersLen} bytes`,
            )
          if (eol === -1) {
            this.#carry = Buffer.from(data.subarray(pos))
            return
          }
          this.#headerBytes += lineLen + 2
          if (lineLen === 0) {
            this.#beginPart()
            pos = eol + 2
            this.#state = State.Body
            break
          }
          this.#headerLine(data.toString('latin1', pos, eol))
          pos = eol + 2
          break
        }
        case State.Body: {
          const at = data.indexOf(this.#delimiter, pos)
          if (at !== -1) {
            if (at > pos) this.#callbacks.onPartData(data.subarray(pos, at))
            this.#endPart()
            pos = at + this.#delimiter.length
            break
          }
          const keep = partialTail(data.subarray(pos), this.#delimiter)
          const end = data.length - keep
          if (end > pos) this.#callbacks.onPartData(data.subarray(pos, end))
          this.#carry = keep > 0 ? Buffer.from(data.subarray(end)) : EMPTY
          return
        }
        case State.Done:
          return
      }
    }
  }

  #headerLine(line: string): void {
    if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09)
      this.#malformed('folded part header line')
    const colon = line.indexOf(':')
    if (colon <= 0) this.#malformed(`part header line without a name: ${JSON.stringify(line)}`)
    const name = line.slice(0, colon).toLowerCase()
    if (!TCHAR.test(name)) this.#malformed(`invalid part header name: ${JSON.stringify(name)}`)
    if (/[\0\r\n]/.test(line)) this.#malformed('a part header value contains NUL, CR or LF')
    this.#headerLines.push(name, line.slice(colon + 1).trim())
  }

  #beginPart(): void {
    const lines = this.#headerLines
    let disposition: string | undefined
    let contentType = 'text/plain'
    for (let i = 0; i < lines.length; i += 2) {
      if (lines[i] === 'content-disposition') disposition = lines[i + 1]
      else if (lines[i] === 'content-type') contentType = lines[i + 1] as string
    }
    if (disposition === undefined) this.#malformed('a part without Content-Disposition')
    const { type, params } = parseContentDisposition(disposition)
    if (type !== 'form-data' || params.name === undefined)
      this.#malformed('a part whose Content-Disposition is not form-data with a name')
    this.#callbacks.onPartBegin({
      name: params.name,
      filename: params.filename,
      contentType,
      headers: lines,
    })
  }

  #endPart(): void {
    this.#callbacks.onPartEnd()
    this.#state = State.AfterDelimiter
  }

  #malformed(message: string): never {
    throw new MultipartError('ERR_MUMMY_MULTIPART_MALFORMED', message)
  }
}

const EMPTY = Buffer.alloc(0)

/** Length of the longest suffix of `data` that is a proper prefix of `delimiter`. */
function partialTail(data: Buffer, delimiter: Buffer): number {
  const max = Math.min(data.length, delimiter.length - 1)
  for (let k = max; k > 0; k--) {
    if (data[data.length - k] !== delimiter[0]) continue
    if (data.compare(delimiter, 0, k, data.length - k) === 0) return k
  }
  return 0
}

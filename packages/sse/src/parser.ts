import { MummyError } from '@mummy/errors'

/** An event as a client receives it. */
export interface ParsedEvent {
  /** The event type (`message` when the stream named none). */
  readonly type: string
  /** The payload, lines joined with `\n`. */
  readonly data: string
  /** The last event id in effect when the event was dispatched (`''` when none was set). */
  readonly lastEventId: string
}

/** Options of {@link SseParser}. */
export interface SseParserOptions {
  /**
   * Largest event (its pending line plus its data so far), in UTF-16 code units; beyond it
   * `feed` throws `ERR_MUMMY_SSE_TOO_LARGE`. Default 1 MiB.
   */
  readonly maxEventLen?: number
}

const LF = 10
const CR = 13

/**
 * An incremental `text/event-stream` parser, as the WHATWG HTML standard specifies for
 * `EventSource`: input may arrive split at any byte (inside a UTF-8 sequence, between CR and
 * LF); a leading BOM is skipped; lines end with CRLF, LF or CR; comments are ignored; an
 * event is dispatched at each blank line unless its data is empty; `id` with a NUL is ignored;
 * `retry` is taken only when all digits. Memory is bounded by `maxEventLen`.
 *
 * @example
 * ```ts
 * const parser = new SseParser((event) => console.log(event.type, event.data))
 * parser.feed('event: tick\ndata: 1\n\n')
 * ```
 */
export class SseParser {
  /** The reconnection time the stream asked for (`retry:`), ms; `undefined` until then. */
  retry: number | undefined
  /** The last event id buffer. */
  lastEventId = ''
  readonly #onEvent: (event: ParsedEvent) => void
  readonly #max: number
  readonly #decoder = new TextDecoder('utf-8')
  #line = ''
  #data = ''
  #started = false
  #type = ''
  /** The previous chunk ended with CR: a LF at the start of the next one belongs to it. */
  #afterCR = false

  constructor(onEvent: (event: ParsedEvent) => void, options: SseParserOptions = {}) {
    this.#onEvent = onEvent
    this.#max = options.maxEventLen ?? 1024 * 1024
  }

  /** Parses the next piece of the stream, dispatching every event it completes. */
  feed(chunk: Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true })
    let start = 0
    let i = 0
    if (!this.#started && text.length > 0) {
      // One BOM may open the stream (the decoder drops it from bytes, not from strings).
      this.#started = true
      if (text.charCodeAt(0) === 0xfeff) start = i = 1
    }
    if (this.#afterCR && text.length > i) {
      this.#afterCR = false
      if (text.charCodeAt(i) === LF) start = i = i + 1
    }
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c !== LF && c !== CR) continue
      this.#line += text.slice(start, i)
      this.#check()
      this.#processLine(this.#line)
      this.#line = ''
      if (c === CR) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === LF) i++
        } else this.#afterCR = true
      }
      start = i + 1
    }
    if (start < text.length) {
      this.#line += text.slice(start)
      this.#check()
    }
  }

  #check(): void {
    if (this.#line.length + this.#data.length > this.#max)
      throw new MummyError(
        'ERR_MUMMY_SSE_TOO_LARGE',
        `an event in the stream is larger than ${this.#max} characters`,
      )
  }

  #processLine(line: string): void {
    if (line.length === 0) {
      this.#dispatch()
      return
    }
    const colon = line.indexOf(':')
    if (colon === 0) return // a comment
    let field: string
    let value: string
    if (colon === -1) {
      field = line
      value = ''
    } else {
      field = line.slice(0, colon)
      value = line.slice(colon + (line.charCodeAt(colon + 1) === 32 ? 2 : 1))
    }
    switch (field) {
      case 'event':
        this.#type = value
        break
      case 'data':
        this.#data += value + '\n'
        break
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value
        break
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = Number(value)
        break
      default:
      // Unknown fields are ignored.
    }
  }

  #dispatch(): void {
    const data = this.#data
    const type = this.#type
    this.#data = ''
    this.#type = ''
    if (data === '') return
    this.#onEvent({
      type: type === '' ? 'message' : type,
      data: data.slice(0, -1),
      lastEventId: this.lastEventId,
    })
  }
}

import { MummyError } from '@mummy/errors'

/** One event to send: what an `EventSource` receives as a `MessageEvent`. */
export interface SseEvent {
  /** The event type (`addEventListener(type)` on the client); omitted: `message`. No CR or LF. */
  readonly event?: string
  /** The payload. Line breaks (CRLF, LF, CR) are kept: each line becomes a `data:` line. */
  readonly data: string
  /** Sets the client's last event id (sent back as `Last-Event-ID` on reconnect). No CR, LF or NUL. */
  readonly id?: string
  /** Reconnection delay the client should use, ms (a non-negative integer). */
  readonly retry?: number
}

const LINE_BREAK = /\r\n|\r|\n/
const CR_LF = /[\r\n]/
const CR_LF_NUL = /[\r\n\0]/

function invalid(message: string): MummyError {
  return new MummyError('ERR_MUMMY_SSE_INVALID_FIELD', message)
}

/**
 * Encodes one event in the `text/event-stream` format: `event:`, `id:`, `retry:` and one
 * `data:` line per line of `data`, ended by a blank line. Throws `ERR_MUMMY_SSE_INVALID_FIELD`
 * for an `event` with a line break, an `id` with a line break or NUL (a client would ignore
 * it), or a `retry` that is not a non-negative integer.
 *
 * @example
 * ```ts
 * encodeEvent({ event: 'tick', id: '7', data: 'line 1\nline 2' })
 * // 'event: tick\nid: 7\ndata: line 1\ndata: line 2\n\n'
 * ```
 */
export function encodeEvent(event: SseEvent): string {
  let out = ''
  if (event.event !== undefined) {
    if (CR_LF.test(event.event)) throw invalid('an SSE event type cannot contain CR or LF')
    out += `event: ${event.event}\n`
  }
  if (event.id !== undefined) {
    if (CR_LF_NUL.test(event.id)) throw invalid('an SSE event id cannot contain CR, LF or NUL')
    out += `id: ${event.id}\n`
  }
  if (event.retry !== undefined) {
    if (!Number.isSafeInteger(event.retry) || event.retry < 0)
      throw invalid(`SSE retry must be a non-negative integer, got ${String(event.retry)}`)
    out += `retry: ${event.retry}\n`
  }
  if (typeof event.data !== 'string') throw invalid('SSE data must be a string')
  const lines = event.data.split(LINE_BREAK)
  for (let i = 0; i < lines.length; i++) out += `data: ${lines[i]}\n`
  return out + '\n'
}

/**
 * Encodes a comment: one `:` line per line of `text`. Clients ignore comments; they keep
 * idle connections (and proxies) alive and flush a response's head.
 *
 * @example
 * ```ts
 * encodeComment('keep-alive') // ': keep-alive\n'
 * ```
 */
export function encodeComment(text = ''): string {
  if (text === '') return ':\n'
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += `: ${line}\n`
  return out
}

/**
 * The `Last-Event-ID` a reconnecting client sent, or `undefined` when there is none (or it
 * holds a NUL, which no conforming client sends).
 *
 * @example
 * ```ts
 * const since = lastEventId(request.headers.get('last-event-id'))
 * ```
 */
export function lastEventId(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined || header.includes('\0')) return undefined
  return header
}

/** Response headers for an event stream (the server adds framing and `Date`). */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  // Tells buffering reverse proxies (nginx) to pass events through as they come.
  'X-Accel-Buffering': 'no',
})

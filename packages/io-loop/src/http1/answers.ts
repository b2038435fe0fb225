/**
 * The answers a transport gives on its own — refusals, timeouts, a body over its limit, a
 * throwing hook, requests still unanswered when `close()` reaches its deadline — and the times
 * around closing. One definition for every transport, so they cannot disagree.
 */
import { MummyError } from '@mummy/errors'
import { STATUS_TEXT } from '../status.js'

/** Headers of every answer a transport writes itself. */
export const TEXT_PLAIN: readonly string[] = Object.freeze([
  'Content-Type',
  'text/plain; charset=utf-8',
])

/** The body of an answer a transport writes itself: the reason phrase and a newline. */
export function answerBody(status: number): string {
  return `${STATUS_TEXT[status] ?? 'Error'}\n`
}

/**
 * Once a closing answer is written, the time the peer gets to close its side (what it still
 * sends meanwhile is read and dropped) before the connection is destroyed; also the time
 * `close()` gives the 503s it writes at its deadline to leave.
 */
export const CLOSE_GRACE = 2000

/** Default deadline of a transport's `close()`, in ms. */
export const DEFAULT_CLOSE_TIMEOUT = 10_000

/** The error a body over its limit is reported with (413). */
export function bodyTooLarge(max: number): MummyError & { status: number } {
  return Object.assign(
    new MummyError('ERR_MUMMY_BODY_TOO_LARGE', `request body exceeds ${max} bytes`),
    { status: 413 },
  )
}

import { MummyError, isMummyError } from '@mummy/errors'
import { STATUS_TEXT } from '@mummy/io-loop/status'
import { fetchHandler, isFetchApp, type FetchApp } from './fetch.js'
import { describeError, type LogLevel } from './log.js'
import type { Request } from './request.js'

/**
 * A request handler. It may block (synchronous work runs on a worker thread) or be async.
 * It must answer with `request.respond(...)`; one that returns (or settles) without
 * answering gets a 500 and an error log line.
 *
 * @example
 * ```ts
 * const handler: Handler = (request) => request.respond(200, {}, 'ok')
 * ```
 */
export type Handler = (request: Request) => void | Promise<void>

/** Anything with a `handle(request)` method, e.g. a {@link Router}. */
export interface RequestHandlerObject {
  handle(request: Request): void | Promise<void>
}

/**
 * What `createServer` and app modules accept as "the handler": a function, a Router, or an app
 * written to the Fetch API (an object with `fetch(request, env, ctx)`, such as a hono app).
 */
export type HandlerLike = Handler | RequestHandlerObject | FetchApp

/** Turns a function, a Router-like object or a Fetch-API app into a plain handler function. */
export function toHandler(value: unknown, where: string): Handler {
  if (typeof value === 'function') return value as Handler
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RequestHandlerObject).handle === 'function'
  ) {
    const target = value as RequestHandlerObject
    return (request) => target.handle(request)
  }
  if (isFetchApp(value)) return fetchHandler(value)
  throw new MummyError(
    'ERR_MUMMY_INVALID_HANDLER',
    `${where} must be a handler function, a Router or a Fetch-API app ({ fetch }), got ${typeof value}`,
  )
}

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' }

/**
 * Runs `handler` on `request` and makes sure it is answered: a throw or rejection → 500
 * (unless already answered), returning without answering → 500. Stays synchronous for
 * synchronous handlers (no promise is created).
 */
export function runHandler(
  handler: Handler,
  request: Request,
  log: (level: LogLevel, message: string) => void,
): void | Promise<void> {
  let result: void | Promise<void>
  try {
    result = handler(request)
  } catch (error) {
    failed(request, error, log)
    return
  }
  if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
    return (result as Promise<void>).then(
      () => finished(request, log),
      (error: unknown) => failed(request, error, log),
    )
  }
  finished(request, log)
}

function failed(
  request: Request,
  error: unknown,
  log: (level: LogLevel, message: string) => void,
): void {
  // A typed error that is the client's fault (bad JSON, say) answers with its 4xx status.
  const status = isMummyError(error) ? error.status : undefined
  if (status !== undefined && status >= 400 && status < 500) {
    log('warn', `handler for ${request.method} ${request.uri}: ${describeError(error)}`)
    if (!request.responded)
      request.respond(status, TEXT, `${STATUS_TEXT[status] ?? 'Bad Request'}\n`)
    return
  }
  log('error', `handler for ${request.method} ${request.uri} failed: ${describeError(error)}`)
  if (!request.responded) request.respond(500, TEXT, 'Internal Server Error\n')
}

function finished(request: Request, log: (level: LogLevel, message: string) => void): void {
  if (request.responded) return
  log('error', `handler for ${request.method} ${request.uri} returned without responding`)
  request.respond(500, TEXT, 'Internal Server Error\n')
}

/**
 * The user's code as the server runs it: a request handler and the optional WebSocket and
 * event-stream handlers. Loaded the same way in a worker and, in inline mode, on the IO thread.
 */
import { MummyError } from '@mummy/errors'
import { toHandler, type Handler } from './handler.js'
import type { SseHandler } from './sse.js'
import type { WebSocketHandler } from './websocket.js'

/** The handlers one server runs. */
export interface App {
  readonly handler: Handler
  readonly websocketHandler: WebSocketHandler | null
  readonly sseHandler: SseHandler | null
}

/** `value` as an optional handler function, or a typed error naming `what` and `where`. */
function optionalFunction<T>(value: unknown, what: string, where: string): T | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'function')
    throw new MummyError('ERR_MUMMY_INVALID_HANDLER', `${what} ${where} must be a function`)
  return value as T
}

/**
 * An app from its parts: `handler` is a function or a Router; the other two, when given, must
 * be functions. `where` names their origin in error messages.
 */
export function toApp(
  handler: unknown,
  websocketHandler: unknown,
  sseHandler: unknown,
  where: string,
): App {
  return {
    handler: toHandler(handler, `the handler ${where}`),
    websocketHandler: optionalFunction<WebSocketHandler>(
      websocketHandler,
      'websocketHandler',
      where,
    ),
    sseHandler: optionalFunction<SseHandler>(sseHandler, 'sseHandler', where),
  }
}

/**
 * Imports an app module (the `app` option): its default export (or `handler`) is the handler,
 * and it may export `websocketHandler` and `sseHandler`.
 */
export async function loadAppModule(url: string): Promise<App> {
  const mod = (await import(url)) as Record<string, unknown>
  return toApp(
    mod.default ?? mod.handler,
    mod.websocketHandler,
    mod.sseHandler,
    `exported by ${url}`,
  )
}

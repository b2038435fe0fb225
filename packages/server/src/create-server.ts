/** `createServer`: the one way to make a {@link Server}, in both forms. */
import { isPoolWorker } from '@mummy/workers'
import { toHandler, type HandlerLike } from './handler.js'
import { validateOptions, type ServerOptions } from './options.js'
import { registerWorkerHandler } from './registry.js'
import { Server } from './server.js'

/**
 * Creates a server.
 *
 * *Single-file form*: `createServer(handlerOrRouter, options)`. The script that calls it is
 * loaded again in every worker, where this call registers the handler and `listen()` does
 * nothing — so top-level code runs once on the IO thread and once per worker.
 *
 * *App-module form*: `createServer({ app: new URL('./app.js', import.meta.url) })`, where the
 * module default-exports a handler or a Router. The caller's code runs only on the IO thread.
 *
 * @example
 * ```ts
 * import { Router, createServer } from '@mummy/server'
 * const router = new Router()
 * router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!'))
 * const server = createServer(router)
 * await server.listen(8080)
 * ```
 */
export function createServer(handler: HandlerLike, options?: ServerOptions): Server
export function createServer(options: ServerOptions & { app: string | URL }): Server
export function createServer(
  first: HandlerLike | (ServerOptions & { app: string | URL }),
  second?: ServerOptions,
): Server {
  const isOptions =
    typeof first === 'object' &&
    first !== null &&
    'app' in first &&
    typeof (first as { handle?: unknown }).handle !== 'function'
  const options: ServerOptions = isOptions ? (first as ServerOptions) : (second ?? {})
  validateOptions(options)
  const handler = isOptions ? null : toHandler(first, 'the handler passed to createServer')
  if (isPoolWorker()) {
    if (handler !== null)
      registerWorkerHandler(handler, options.websocketHandler ?? null, options.sseHandler ?? null)
    return new Server(handler, options, true)
  }
  return new Server(handler, options, false)
}

import { Router as BaseRouter, type RouterOptions } from '@mummy/router'
import type { Request } from './request.js'

/**
 * `@mummy/router`'s Router, typed for this server's {@link Request}: handlers receive the
 * full request (`headers`, `body`, `query`, …). Mummy's matching rules; see `@mummy/router`.
 *
 * @example
 * ```ts
 * const router = new Router()
 * router.get('/users/:id', (request) => request.respond(200, {}, request.pathParams.id))
 * router.notFoundHandler = (request) => request.respond(404, {}, 'no such page')
 * createServer(router)
 * ```
 */
export class Router extends BaseRouter<Request> {
  constructor(options: RouterOptions<Request> = {}) {
    super(options)
  }
}

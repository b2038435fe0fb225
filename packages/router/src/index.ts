/**
 * `@mummy/router`: Mummy-style request routing with no IO and no dependencies besides
 * `@mummy/errors`. See the package README for the matching rules.
 *
 * @example
 * ```ts
 * import { Router } from '@mummy/router'
 * const router = new Router()
 * router.get('/users/:id', (request) => request.respond(200, {}, request.pathParams.id))
 * ```
 *
 * @packageDocumentation
 */
export {
  Router,
  type ErrorHandler,
  type MethodNotAllowedHandler,
  type RoutableRequest,
  type RouteHandler,
  type RouteInfo,
  type RouteMatch,
  type RouterOptions,
} from './router.js'
export { INVALID_ROUTE } from './pattern.js'

import { MummyError } from '@mummy/errors'
import { PathView } from './path.js'
import {
  INVALID_ROUTE,
  compileRoute,
  matchRoute,
  readParams,
  type CompiledRoute,
} from './pattern.js'

/**
 * The minimal request shape the router needs; `@mummy/server`'s `Request` satisfies it.
 *
 * @example
 * ```ts
 * const request: RoutableRequest = {
 *   method: 'GET',
 *   uri: '/users/42?tab=posts',
 *   pathParams: {},
 *   respond(status, headers, body) { console.log(status, headers, body) },
 * }
 * ```
 */
export interface RoutableRequest {
  /** Request method, case-sensitive, e.g. `'GET'`. */
  readonly method: string
  /** Raw request-target, e.g. `'/users/42?x=1'`; absolute-form (`'http://h/p'`) uses its path. */
  readonly uri: string
  /** Decoded path params; the router assigns a fresh null-prototype object on every `handle`. */
  pathParams: Record<string, string>
  /** Sends the response. */
  respond(
    status: number,
    headers?: Record<string, string> | Iterable<[string, string]>,
    body?: string | Uint8Array,
  ): void
}

/**
 * A request handler. It may respond synchronously or return a promise.
 *
 * @example
 * ```ts
 * const hello: RouteHandler = (request) => request.respond(200, {}, 'hello')
 * ```
 */
export type RouteHandler<R extends RoutableRequest = RoutableRequest> = (
  request: R,
) => void | Promise<void>

/**
 * Called with the error when a handler throws or its promise rejects.
 *
 * @example
 * ```ts
 * router.errorHandler = (request, error) => {
 *   console.error(error)
 *   request.respond(500, { 'Content-Type': 'text/plain' }, 'Internal Server Error')
 * }
 * ```
 */
export type ErrorHandler<R> = (request: R, error: unknown) => void | Promise<void>

/**
 * Called when the path matches some route but none for the request's method. `allowed` lists the
 * methods that would have matched (deduplicated, in route order, `HEAD` right after `GET`).
 *
 * @example
 * ```ts
 * router.methodNotAllowedHandler = (request, allowed) =>
 *   request.respond(405, { Allow: allowed.join(', ') }, JSON.stringify({ allowed }))
 * ```
 */
export type MethodNotAllowedHandler<R> = (request: R, allowed: string[]) => void | Promise<void>

/**
 * One registered route, as listed by {@link Router.routes}.
 *
 * @example
 * ```ts
 * router.get('/users/:id', show)
 * router.routes[0] // { method: 'GET', route: '/users/:id', paramNames: ['id'], handler: show }
 * ```
 */
export interface RouteInfo<R extends RoutableRequest = RoutableRequest> {
  /** The method, or `'*'` for a route added with {@link Router.all}. */
  readonly method: string
  /** The route string as registered. */
  readonly route: string
  /** Names of the route's `:name` / `@name` params. */
  readonly paramNames: readonly string[]
  /** The handler. */
  readonly handler: RouteHandler<R>
}

/**
 * The result of {@link Router.match}.
 *
 * - `found`: the first route (in insertion order) whose path and method match, with its decoded
 *   params (a null-prototype object) and its {@link RouteInfo}.
 * - `method-not-allowed`: some route's path matches, but not with this method.
 * - `not-found`: no route's path matches.
 *
 * @example
 * ```ts
 * const match = router.match('GET', '/users/42')
 * if (match.kind === 'found') match.params.id // '42'
 * ```
 */
export type RouteMatch<R extends RoutableRequest = RoutableRequest> =
  | {
      kind: 'found'
      handler: RouteHandler<R>
      params: Record<string, string>
      route: RouteInfo<R>
    }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allowed: string[] }

/**
 * Hooks that may be passed to the {@link Router} constructor instead of assigned afterwards.
 *
 * @example
 * ```ts
 * const router = new Router({ notFoundHandler: (request) => request.respond(404, {}, 'nope') })
 * ```
 */
export interface RouterOptions<R extends RoutableRequest = RoutableRequest> {
  /** See {@link Router.notFoundHandler}. */
  notFoundHandler?: RouteHandler<R> | undefined
  /** See {@link Router.methodNotAllowedHandler}. */
  methodNotAllowedHandler?: MethodNotAllowedHandler<R> | undefined
  /** See {@link Router.errorHandler}. */
  errorHandler?: ErrorHandler<R> | undefined
}

/** Method of routes added with `all()`: matches every method. */
const ANY = '*'

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const NOT_FOUND: { readonly kind: 'not-found' } = Object.freeze({ kind: 'not-found' })

interface Entry<R extends RoutableRequest> {
  readonly method: string
  readonly compiled: CompiledRoute
  readonly info: RouteInfo<R>
}

// One view for the whole module: match() never calls user code while it is loaded.
const view = new PathView()

/**
 * Routes requests to handlers with Mummy's matching rules: routes are tried in insertion order and
 * the first whose path and method match wins; `*` matches one segment, `*.js` / `page_*` match
 * part of one, `**` matches one or more segments, `:name` / `@name` capture one segment into
 * `request.pathParams`. `HEAD` falls back to `GET` routes; a path that matches only with other
 * methods gets 405 with `Allow`; no match gets 404.
 *
 * @example
 * ```ts
 * const router = new Router()
 * router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello'))
 * router.get('/users/:id', (request) => request.respond(200, {}, request.pathParams.id))
 * router.get('/static/**', serveStatic)
 * createServer(router)
 * ```
 */
export class Router<R extends RoutableRequest = RoutableRequest> {
  /**
   * Called when no route's path matches. Default: `404`, `Content-Type: text/plain;
   * charset=utf-8`, body `Not Found`.
   */
  notFoundHandler?: RouteHandler<R> | undefined
  /**
   * Called when the path matches only routes of other methods. Default: `405` with
   * `Allow: <allowed.join(', ')>`, `Content-Type: text/plain; charset=utf-8`, body
   * `Method Not Allowed`.
   */
  methodNotAllowedHandler?: MethodNotAllowedHandler<R> | undefined
  /**
   * Called when a handler (route, not-found or method-not-allowed) throws or its promise rejects.
   * Default: none, the error propagates from {@link Router.handle} (the server answers 500).
   */
  errorHandler?: ErrorHandler<R> | undefined

  readonly #entries: Entry<R>[] = []
  readonly #infos: RouteInfo<R>[] = []

  /**
   * @example
   * ```ts
   * const router = new Router<Request>({ errorHandler: (request) => request.respond(500) })
   * ```
   */
  constructor(options: RouterOptions<R> = {}) {
    this.notFoundHandler = options.notFoundHandler
    this.methodNotAllowedHandler = options.methodNotAllowedHandler
    this.errorHandler = options.errorHandler
  }

  /**
   * The registered routes, in insertion (= matching) order.
   *
   * @example
   * ```ts
   * for (const { method, route } of router.routes) console.log(method, route)
   * ```
   */
  get routes(): readonly RouteInfo<R>[] {
    return this.#infos
  }

  /**
   * Adds a route for `method` (any method token, case-sensitive; `'*'` means every method, like
   * {@link Router.all}). Throws `MummyError` `ERR_MUMMY_INVALID_ROUTE` for an invalid route or
   * method.
   *
   * @example
   * ```ts
   * router.addRoute('PROPFIND', '/dav/**', propfind)
   * ```
   */
  addRoute(method: string, route: string, handler: RouteHandler<R>): this {
    if (typeof method !== 'string' || !TOKEN.test(method)) {
      throw invalidMethod(method)
    }
    if (typeof handler !== 'function') {
      throw invalidHandler(route)
    }
    const compiled = compileRoute(route)
    const info: RouteInfo<R> = Object.freeze({
      method,
      route,
      paramNames: compiled.paramNames,
      handler,
    })
    this.#entries.push({ method, compiled, info })
    this.#infos.push(info)
    return this
  }

  /**
   * Adds a `GET` route (also answers `HEAD` when no `HEAD` route matches).
   *
   * @example
   * ```ts
   * router.get('/users/:id', (request) => request.respond(200, {}, request.pathParams.id))
   * ```
   */
  get(route: string, handler: RouteHandler<R>): this {
    return this.addRoute('GET', route, handler)
  }

  /**
   * Adds a `HEAD` route (takes precedence over the `GET` fallback).
   *
   * @example
   * ```ts
   * router.head('/files/*', (request) => request.respond(200, { 'Content-Length': '1024' }))
   * ```
   */
  head(route: string, handler: RouteHandler<R>): this {
    return this.addRoute('HEAD', route, handler)
  }

  /**
   * Adds a `POST` route.
   *
   * @example
   * ```ts
   * router.post('/users', (request) => request.respond(201))
   * ```
   */
  post(route: string, handler: RouteHandler<R>): this {
    return this.addRoute('POST', route, handler)
  }

  /**
   * Adds a `PUT` route.
   *
   * @example
   * ```ts
   * router.put('/users/:id', (request) => request.respond(204))
   * ```
   */
  put(route: string, handler: RouteHandler<R>): this {
    return this.addRoute('PUT', route, handler)
  }

  /**
   * Adds a `DELETE` route.
   *
   * @example
   * ```ts
   * router.delete('/users/:id', (request) => request.respond(204))
   * ```
   */
  delete(route: string, handler: RouteHandler<R>): this {
    return this.addRoute('DELETE', route, handler)
  }

  /**
   * Adds a `PATCH` route.
   *
   * @example
   * ```ts
   * router.patch('/users/:id', (request) => request.respond(204))
   * ```
   */
  patch(route: string, handler: RouteHandler<R>): this {
    return this.addRoute('PATCH', route, handler)
  }

  /**
   * Adds an `OPTIONS` route.
   *
   * @example
   * ```ts
   * router.options('/**', (request) => request.respond(204, { Allow: 'GET, POST' }))
   * ```
   */
  options(route: string, handler: RouteHandler<R>): this {
    return this.addRoute('OPTIONS', route, handler)
  }

  /**
   * Adds a route that matches every method.
   *
   * @example
   * ```ts
   * router.all('/api/**', api.toHandler())
   * ```
   */
  all(route: string, handler: RouteHandler<R>): this {
    return this.addRoute(ANY, route, handler)
  }

  /**
   * Looks up `method` + `uri` without running anything. `uri` is the raw request-target; its
   * query and fragment are ignored, absolute-form uses its path, and a target with no path (`*`,
   * `host:443`) is `not-found`.
   *
   * A `HEAD` request takes the first matching `HEAD` route; failing that, the first matching `GET`
   * or `all` route. The returned `params` object is fresh on every call.
   *
   * @example
   * ```ts
   * router.get('/users/:id', show)
   * router.match('GET', '/users/42?x=1')  // { kind: 'found', handler: show, params: { id: '42' }, … }
   * router.match('POST', '/users/42')     // { kind: 'method-not-allowed', allowed: ['GET', 'HEAD'] }
   * router.match('GET', '/nope')          // { kind: 'not-found' }
   * ```
   */
  match(method: string, uri: string): RouteMatch<R> {
    if (!view.load(uri)) return NOT_FOUND
    const entries = this.#entries
    const isHead = method === 'HEAD'
    let fallback: Entry<R> | undefined
    let fallbackParams: Record<string, string> | undefined
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k] as Entry<R>
      const routeMethod = entry.method
      if (routeMethod === method || (routeMethod === ANY && !isHead)) {
        if (matchRoute(entry.compiled, view)) return found(entry, readParams(entry.compiled, view))
      } else if (
        isHead &&
        fallback === undefined &&
        (routeMethod === 'GET' || routeMethod === ANY) &&
        matchRoute(entry.compiled, view)
      ) {
        fallback = entry
        fallbackParams = readParams(entry.compiled, view)
      }
    }
    if (fallback !== undefined && fallbackParams !== undefined)
      return found(fallback, fallbackParams)

    // Every `all` route and every route of this method failed on the path, so only routes of
    // other methods can still match it.
    let allowed: string[] | undefined
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k] as Entry<R>
      const routeMethod = entry.method
      if (routeMethod === ANY || routeMethod === method) continue
      if (allowed !== undefined && allowed.includes(routeMethod)) continue
      if (matchRoute(entry.compiled, view)) (allowed ??= []).push(routeMethod)
    }
    if (allowed === undefined) return NOT_FOUND
    const get = allowed.indexOf('GET')
    if (get >= 0 && !allowed.includes('HEAD')) allowed.splice(get + 1, 0, 'HEAD')
    return { kind: 'method-not-allowed', allowed }
  }

  /**
   * Routes one request: sets `request.pathParams` (a fresh null-prototype object, empty unless a
   * route matched) and runs the route's handler, or the not-found / method-not-allowed handler.
   *
   * Returns what that handler returns: `undefined` for a synchronous handler (no promise is
   * created), its promise for an async one. When {@link Router.errorHandler} is set, a synchronous
   * throw is passed to it (and `handle` returns what it returns), and a rejection is passed to it
   * (the returned promise settles when it has run). Without one, the throw or the rejection
   * propagates unchanged.
   *
   * @example
   * ```ts
   * const result = router.handle(request)
   * if (result !== undefined) await result
   * ```
   */
  handle(request: R): void | Promise<void> {
    const match = this.match(request.method, request.uri)
    let result: void | Promise<void>
    try {
      if (match.kind === 'found') {
        request.pathParams = match.params
        result = match.handler(request)
      } else {
        request.pathParams = Object.create(null) as Record<string, string>
        if (match.kind === 'not-found') {
          result = (this.notFoundHandler ?? defaultNotFound)(request)
        } else {
          result = (this.methodNotAllowedHandler ?? defaultMethodNotAllowed)(request, match.allowed)
        }
      }
    } catch (error) {
      return this.#fail(request, error)
    }
    if (this.errorHandler !== undefined && isThenable(result)) {
      return Promise.resolve(result).then(undefined, (error: unknown) => this.#fail(request, error))
    }
    return result
  }

  /**
   * Returns `(request) => router.handle(request)`, so a router can be used wherever a plain
   * handler is (for example mounted inside another router).
   *
   * @example
   * ```ts
   * const api = new Router().get('/api/users', listUsers)
   * app.all('/api/**', api.toHandler())
   * ```
   */
  toHandler(): (request: R) => void | Promise<void> {
    return (request) => this.handle(request)
  }

  #fail(request: R, error: unknown): void | Promise<void> {
    const errorHandler = this.errorHandler
    if (errorHandler === undefined) throw error
    return errorHandler(request, error)
  }
}

function found<R extends RoutableRequest>(
  entry: Entry<R>,
  params: Record<string, string>,
): RouteMatch<R> {
  return { kind: 'found', handler: entry.info.handler, params, route: entry.info }
}

function defaultNotFound(request: RoutableRequest): void {
  request.respond(404, { 'Content-Type': 'text/plain; charset=utf-8' }, 'Not Found')
}

function defaultMethodNotAllowed(request: RoutableRequest, allowed: string[]): void {
  request.respond(
    405,
    { Allow: allowed.join(', '), 'Content-Type': 'text/plain; charset=utf-8' },
    'Method Not Allowed',
  )
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

function invalidMethod(method: unknown): Error {
  return new MummyError(
    INVALID_ROUTE,
    `Invalid method ${JSON.stringify(method)}: not an HTTP token`,
  )
}

function invalidHandler(route: unknown): Error {
  return new MummyError(INVALID_ROUTE, `Invalid handler for route ${JSON.stringify(route)}`)
}

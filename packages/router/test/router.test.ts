import { describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import { INVALID_ROUTE, Router, type RoutableRequest, type RouteHandler } from '../dist/index.js'

interface Sent {
  status: number
  headers: Record<string, string>
  body: string | Uint8Array | undefined
}

/** A request with no IO: records what was sent. */
class FakeRequest implements RoutableRequest {
  pathParams: Record<string, string> = { stale: 'yes' }
  readonly sent: Sent[] = []
  constructor(
    readonly method: string,
    readonly uri: string,
  ) {}
  respond(
    status: number,
    headers?: Record<string, string> | Iterable<[string, string]>,
    body?: string | Uint8Array,
  ): void {
    const record: Record<string, string> = {}
    if (headers !== undefined) {
      const entries = Symbol.iterator in headers ? headers : Object.entries(headers)
      for (const [name, value] of entries) record[name] = value
    }
    this.sent.push({ status, headers: record, body })
  }
  get last(): Sent | undefined {
    return this.sent[this.sent.length - 1]
  }
}

/** Handler that answers 200 with `name` as the body. */
function reply(name: string): RouteHandler<FakeRequest> {
  return (request) => request.respond(200, {}, name)
}

function run(router: Router<FakeRequest>, method: string, uri: string): FakeRequest {
  const request = new FakeRequest(method, uri)
  const result = router.handle(request)
  expect(result).toBeUndefined()
  return request
}

function body(router: Router<FakeRequest>, method: string, uri: string): string | undefined {
  const sent = run(router, method, uri).last
  return sent === undefined ? undefined : `${sent.status} ${String(sent.body)}`
}

describe('Router matching', () => {
  it('tries routes in insertion order; the first match wins', () => {
    const router = new Router<FakeRequest>()
      .get('/users/me', reply('me'))
      .get('/users/:id', reply('id'))
      .get('/users/*', reply('star'))
    expect(body(router, 'GET', '/users/me')).toBe('200 me')
    expect(body(router, 'GET', '/users/42')).toBe('200 id')

    const reversed = new Router<FakeRequest>()
      .get('/users/:id', reply('id'))
      .get('/users/me', reply('me'))
    expect(body(reversed, 'GET', '/users/me')).toBe('200 id')
  })

  it('matches *, partial wildcards and ** through handle()', () => {
    const router = new Router<FakeRequest>()
      .get('/one/*', reply('one'))
      .get('/assets/*.js', reply('js'))
      .get('/page_*', reply('page'))
      .get('/static/**/x.png', reply('x.png'))
      .get('/files/**', reply('files'))
    expect(body(router, 'GET', '/one/a')).toBe('200 one')
    expect(body(router, 'GET', '/one/a/b')).toBe('404 Not Found')
    expect(body(router, 'GET', '/assets/app.js')).toBe('200 js')
    expect(body(router, 'GET', '/page_7')).toBe('200 page')
    expect(body(router, 'GET', '/static/a/b/x.png')).toBe('200 x.png')
    expect(body(router, 'GET', '/files/a/b/c.txt')).toBe('200 files')
    expect(body(router, 'GET', '/files/')).toBe('404 Not Found')
  })

  it('sets decoded pathParams in a null-prototype object', () => {
    const router = new Router<FakeRequest>().get('/u/:id/@tab', (request) =>
      request.respond(200, {}, JSON.stringify(request.pathParams)),
    )
    const request = run(router, 'GET', '/u/J%C3%B6rg/a%2Fb')
    expect(request.last?.body).toBe('{"id":"Jörg","tab":"a/b"}')
    expect(Object.getPrototypeOf(request.pathParams)).toBeNull()
  })

  it('resets pathParams to an empty object on 404 and 405', () => {
    const router = new Router<FakeRequest>().post('/x', reply('x'))
    for (const uri of ['/nope', '/x']) {
      const request = run(router, 'GET', uri)
      expect(Object.keys(request.pathParams)).toEqual([])
      expect(Object.getPrototypeOf(request.pathParams)).toBeNull()
    }
  })

  it('ignores the query string and fragment', () => {
    const router = new Router<FakeRequest>().get('/search', reply('search'))
    expect(body(router, 'GET', '/search?q=/a/b&x=%zz')).toBe('200 search')
    expect(body(router, 'GET', '/search#top')).toBe('200 search')
  })

  it('routes absolute-form request-targets by their path', () => {
    const router = new Router<FakeRequest>().get('/', reply('root')).get('/p/:x', reply('p'))
    expect(body(router, 'GET', 'http://example.com/p/1?y')).toBe('200 p')
    expect(body(router, 'GET', 'http://example.com')).toBe('200 root')
  })

  it('answers 404 for targets without a path', () => {
    const router = new Router<FakeRequest>().all('/**', reply('all'))
    expect(body(router, 'OPTIONS', '*')).toBe('404 Not Found')
    expect(body(router, 'CONNECT', 'example.com:443')).toBe('404 Not Found')
  })

  it('treats a trailing slash as a different route', () => {
    const router = new Router<FakeRequest>().get('/a', reply('a')).get('/b/', reply('b/'))
    expect(body(router, 'GET', '/a')).toBe('200 a')
    expect(body(router, 'GET', '/a/')).toBe('404 Not Found')
    expect(body(router, 'GET', '/b/')).toBe('200 b/')
    expect(body(router, 'GET', '/b')).toBe('404 Not Found')
  })

  it('does not split on %2F', () => {
    const router = new Router<FakeRequest>().get('/a/b', reply('ab')).get('/:one', reply('one'))
    expect(body(router, 'GET', '/a%2Fb')).toBe('200 one')
  })

  it('matches methods case-sensitively and supports custom methods', () => {
    const router = new Router<FakeRequest>().addRoute('PROPFIND', '/dav/**', reply('dav'))
    expect(body(router, 'PROPFIND', '/dav/a')).toBe('200 dav')
    expect(body(router, 'propfind', '/dav/a')).toBe('405 Method Not Allowed')
  })

  it('all() matches any method, in order with the other routes', () => {
    const router = new Router<FakeRequest>()
      .post('/x', reply('post'))
      .all('/x', reply('all'))
      .get('/x', reply('get'))
    expect(body(router, 'POST', '/x')).toBe('200 post')
    expect(body(router, 'GET', '/x')).toBe('200 all')
    expect(body(router, 'BREW', '/x')).toBe('200 all')
  })

  it('registers every verb helper', () => {
    const router = new Router<FakeRequest>()
      .get('/r', reply('GET'))
      .head('/r', reply('HEAD'))
      .post('/r', reply('POST'))
      .put('/r', reply('PUT'))
      .delete('/r', reply('DELETE'))
      .patch('/r', reply('PATCH'))
      .options('/r', reply('OPTIONS'))
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      expect(body(router, method, '/r')).toBe(`200 ${method}`)
    }
    expect(router.routes.map((route) => route.method)).toEqual([
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'PATCH',
      'OPTIONS',
    ])
  })

  it('lists routes with their params', () => {
    const show = reply('show')
    const router = new Router<FakeRequest>().get('/users/:id', show).all('/**', reply('all'))
    expect(router.routes).toHaveLength(2)
    expect(router.routes[0]).toEqual({
      method: 'GET',
      route: '/users/:id',
      paramNames: ['id'],
      handler: show,
    })
    expect(router.routes[1]?.method).toBe('*')
  })
})

describe('HEAD', () => {
  it('falls back to GET routes when no HEAD route matches', () => {
    const router = new Router<FakeRequest>().get('/x/:id', (request) =>
      request.respond(200, {}, `get ${request.pathParams.id ?? ''}`),
    )
    const request = run(router, 'HEAD', '/x/7')
    expect(request.last).toEqual({ status: 200, headers: {}, body: 'get 7' })
    expect(request.method).toBe('HEAD')
  })

  it('prefers a HEAD route, even one registered after the GET route', () => {
    const router = new Router<FakeRequest>().get('/x', reply('get')).head('/x', reply('head'))
    expect(body(router, 'HEAD', '/x')).toBe('200 head')
  })

  it('takes the first matching GET or all() route as the fallback', () => {
    const getFirst = new Router<FakeRequest>().get('/x', reply('get')).all('/**', reply('all'))
    expect(body(getFirst, 'HEAD', '/x')).toBe('200 get')
    const allFirst = new Router<FakeRequest>().all('/**', reply('all')).get('/x', reply('get'))
    expect(body(allFirst, 'HEAD', '/x')).toBe('200 all')
  })

  it('reports the fallback in match()', () => {
    const get = reply('get')
    const router = new Router<FakeRequest>().get('/x', get)
    const match = router.match('HEAD', '/x')
    expect(match.kind).toBe('found')
    if (match.kind === 'found') {
      expect(match.handler).toBe(get)
      expect(match.route.method).toBe('GET')
    }
  })
})

describe('404 and 405', () => {
  it('answers 404 text/plain "Not Found" by default', () => {
    const router = new Router<FakeRequest>().get('/', reply('root'))
    expect(run(router, 'GET', '/missing').last).toEqual({
      status: 404,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: 'Not Found',
    })
  })

  it('answers 405 with the exact Allow header', () => {
    const router = new Router<FakeRequest>()
      .get('/x', reply('get'))
      .post('/x', reply('post'))
      .get('/x', reply('get again'))
      .put('/y', reply('other path'))
      .delete('/*', reply('delete'))
    expect(run(router, 'PATCH', '/x').last).toEqual({
      status: 405,
      headers: { Allow: 'GET, HEAD, POST, DELETE', 'Content-Type': 'text/plain; charset=utf-8' },
      body: 'Method Not Allowed',
    })
  })

  it('places HEAD right after GET, and does not repeat an explicit HEAD', () => {
    const postFirst = new Router<FakeRequest>().post('/x', reply('p')).get('/x', reply('g'))
    expect(postFirst.match('PUT', '/x')).toEqual({
      kind: 'method-not-allowed',
      allowed: ['POST', 'GET', 'HEAD'],
    })
    const explicit = new Router<FakeRequest>()
      .head('/x', reply('h'))
      .post('/x', reply('p'))
      .get('/x', reply('g'))
    expect(explicit.match('PUT', '/x')).toEqual({
      kind: 'method-not-allowed',
      allowed: ['HEAD', 'POST', 'GET'],
    })
  })

  it('answers 405 to HEAD when only other methods match', () => {
    const router = new Router<FakeRequest>().post('/x', reply('p'))
    expect(router.match('HEAD', '/x')).toEqual({ kind: 'method-not-allowed', allowed: ['POST'] })
  })

  it('only counts routes whose path matches', () => {
    const router = new Router<FakeRequest>().post('/a', reply('a')).put('/b', reply('b'))
    expect(router.match('GET', '/a')).toEqual({ kind: 'method-not-allowed', allowed: ['POST'] })
    expect(router.match('GET', '/c')).toEqual({ kind: 'not-found' })
  })

  it('calls a custom notFoundHandler', () => {
    const router = new Router<FakeRequest>()
    router.notFoundHandler = (request) => request.respond(404, {}, `no ${request.uri}`)
    expect(body(router, 'GET', '/z')).toBe('404 no /z')
  })

  it('calls a custom methodNotAllowedHandler with the allowed list', () => {
    const seen: string[][] = []
    const router = new Router<FakeRequest>({
      methodNotAllowedHandler: (request, allowed) => {
        seen.push(allowed)
        request.respond(405, {}, 'custom')
      },
    }).get('/x', reply('x'))
    expect(body(router, 'DELETE', '/x')).toBe('405 custom')
    expect(seen).toEqual([['GET', 'HEAD']])
  })
})

describe('errors', () => {
  it('rethrows a sync throw by default', () => {
    const boom = new Error('boom')
    const router = new Router<FakeRequest>().get('/', () => {
      throw boom
    })
    expect(() => router.handle(new FakeRequest('GET', '/'))).toThrow(boom)
  })

  it('passes a rejection through unchanged by default', async () => {
    const boom = new Error('async boom')
    const router = new Router<FakeRequest>().get('/', async () => {
      await Promise.resolve()
      throw boom
    })
    await expect(router.handle(new FakeRequest('GET', '/'))).rejects.toBe(boom)
  })

  it('sends a sync throw to errorHandler', () => {
    const boom = new Error('boom')
    const router = new Router<FakeRequest>().get('/', () => {
      throw boom
    })
    const seen: unknown[] = []
    router.errorHandler = (request, error) => {
      seen.push(error)
      request.respond(500, {}, 'handled')
    }
    const request = run(router, 'GET', '/')
    expect(seen).toEqual([boom])
    expect(request.last?.body).toBe('handled')
  })

  it('sends an async rejection to errorHandler', async () => {
    const boom = new Error('async boom')
    const router = new Router<FakeRequest>().get('/', async () => {
      await Promise.resolve()
      throw boom
    })
    const seen: unknown[] = []
    router.errorHandler = async (request, error) => {
      await Promise.resolve()
      seen.push(error)
      request.respond(500, {}, 'handled')
    }
    const request = new FakeRequest('GET', '/')
    const result = router.handle(request)
    expect(result).toBeInstanceOf(Promise)
    await result
    expect(seen).toEqual([boom])
    expect(request.last?.body).toBe('handled')
  })

  it('sends errors thrown by the not-found handler to errorHandler', () => {
    const router = new Router<FakeRequest>({
      notFoundHandler: () => {
        throw new Error('nf')
      },
      errorHandler: (request, error) => request.respond(500, {}, (error as Error).message),
    })
    expect(body(router, 'GET', '/')).toBe('500 nf')
  })

  it('propagates an error thrown by errorHandler itself', () => {
    const router = new Router<FakeRequest>().get('/', () => {
      throw new Error('first')
    })
    router.errorHandler = () => {
      throw new Error('second')
    }
    expect(() => router.handle(new FakeRequest('GET', '/'))).toThrow('second')
  })
})

describe('handle() return value', () => {
  it('returns undefined for sync handlers, even with an errorHandler', () => {
    const router = new Router<FakeRequest>({ errorHandler: () => {} }).get('/', reply('ok'))
    expect(router.handle(new FakeRequest('GET', '/'))).toBeUndefined()
    expect(router.handle(new FakeRequest('GET', '/missing'))).toBeUndefined()
  })

  it('returns the handler promise itself when there is no errorHandler', () => {
    const promise = Promise.resolve()
    const router = new Router<FakeRequest>().get('/', () => promise)
    expect(router.handle(new FakeRequest('GET', '/'))).toBe(promise)
  })

  it('resolves after an async handler finishes', async () => {
    const router = new Router<FakeRequest>({ errorHandler: () => {} }).get('/', async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      r.respond(200, {}, 'late')
    })
    const request = new FakeRequest('GET', '/')
    await router.handle(request)
    expect(request.last?.body).toBe('late')
  })

  it('toHandler() routes through the router', () => {
    const inner = new Router<FakeRequest>().get('/api/users', reply('users'))
    const outer = new Router<FakeRequest>().all('/api/**', inner.toHandler())
    expect(body(outer, 'GET', '/api/users')).toBe('200 users')
    expect(body(outer, 'GET', '/api/nope')).toBe('404 Not Found')
  })
})

describe('registration', () => {
  it('throws ERR_MUMMY_INVALID_ROUTE for invalid routes', () => {
    const router = new Router()
    for (const route of ['', 'x', '/a**', '/**x/y', '/:bad.name', '/a?b']) {
      let thrown: unknown
      try {
        router.get(route, () => {})
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(MummyError)
      expect((thrown as MummyError).code).toBe(INVALID_ROUTE)
    }
    expect(router.routes).toHaveLength(0)
  })

  it('throws for invalid methods and handlers', () => {
    const router = new Router()
    expect(() => router.addRoute('GE T', '/', () => {})).toThrow(MummyError)
    expect(() => router.addRoute('', '/', () => {})).toThrow(MummyError)
    expect(() => router.get('/', 'nope' as unknown as RouteHandler)).toThrow(MummyError)
  })

  it('makes addRoute("*") the same as all()', () => {
    const router = new Router<FakeRequest>().addRoute('*', '/x', reply('any'))
    expect(body(router, 'DELETE', '/x')).toBe('200 any')
  })
})

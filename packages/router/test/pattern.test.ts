import { describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import { PathView } from '../dist/path.js'
import { INVALID_ROUTE, compileRoute, matchRoute, readParams } from '../dist/pattern.js'

const view = new PathView()

/** The params of `route` matched against `uri`, or `null` when it does not match. */
function match(route: string, uri: string): Record<string, string> | null {
  const compiled = compileRoute(route)
  if (!view.load(uri) || !matchRoute(compiled, view)) return null
  return { ...readParams(compiled, view) }
}

function matches(route: string, uri: string): boolean {
  return match(route, uri) !== null
}

describe('literal segments', () => {
  it('match exactly and case-sensitively', () => {
    expect(matches('/', '/')).toBe(true)
    expect(matches('/a/b', '/a/b')).toBe(true)
    expect(matches('/a/b', '/a/B')).toBe(false)
    expect(matches('/a/b', '/a/b/c')).toBe(false)
    expect(matches('/a/b', '/a')).toBe(false)
    expect(matches('/', '/a')).toBe(false)
  })

  it('treat a trailing slash as significant', () => {
    expect(matches('/a', '/a/')).toBe(false)
    expect(matches('/a/', '/a')).toBe(false)
    expect(matches('/a/', '/a/')).toBe(true)
  })

  it('compare against the decoded segment', () => {
    expect(matches('/a b', '/a%20b')).toBe(true)
    expect(matches('/Jörg', '/J%C3%B6rg')).toBe(true)
    expect(matches('/a', '/%61')).toBe(true)
  })

  it('may be written percent-encoded in the route', () => {
    expect(matches('/a%20b', '/a%20b')).toBe(true)
    expect(matches('/a%20b', '/a b')).toBe(true)
    // invalid encodings in a route are kept verbatim
    expect(matches('/100%', '/100%25')).toBe(true)
  })

  it('never let %2F act as a separator', () => {
    expect(matches('/a/b', '/a%2Fb')).toBe(false)
    expect(matches('/a%2Fb', '/a%2Fb')).toBe(true)
    expect(matches('/a%2Fb', '/a/b')).toBe(false)
  })

  it('fail on invalid percent-encoding without throwing', () => {
    expect(matches('/100%', '/100%')).toBe(false)
    expect(matches('/%zz', '/%zz')).toBe(false)
  })
})

describe('* (one segment)', () => {
  it('matches exactly one non-empty segment', () => {
    expect(matches('/a/*', '/a/b')).toBe(true)
    expect(matches('/a/*', '/a/')).toBe(false)
    expect(matches('/a/*', '/a')).toBe(false)
    expect(matches('/a/*', '/a/b/c')).toBe(false)
    expect(matches('/*/b', '/x/b')).toBe(true)
    expect(matches('/*', '/')).toBe(false)
  })

  it('matches a segment with invalid percent-encoding (nothing to decode)', () => {
    expect(matches('/a/*', '/a/100%')).toBe(true)
  })
})

describe('partial wildcards', () => {
  it('match by suffix, prefix, both, and inner pieces', () => {
    expect(matches('/*.js', '/app.js')).toBe(true)
    expect(matches('/*.js', '/app.css')).toBe(false)
    expect(matches('/*.js', '/.js')).toBe(true)
    expect(matches('/page_*', '/page_2')).toBe(true)
    expect(matches('/page_*', '/page')).toBe(false)
    expect(matches('/a*b', '/ab')).toBe(true)
    expect(matches('/a*b', '/axxb')).toBe(true)
    expect(matches('/a*b', '/axxc')).toBe(false)
    expect(matches('/a*a', '/a')).toBe(false)
    expect(matches('/*_x_*', '/1_x_2')).toBe(true)
    expect(matches('/*_x_*', '/1_y_2')).toBe(false)
    expect(matches('/a*b*c*d', '/a-b-c-d')).toBe(true)
    expect(matches('/a*b*c*d', '/a-c-b-d')).toBe(false)
    expect(matches('/a*bc*c', '/abcc')).toBe(true)
  })

  it('stay within one segment', () => {
    expect(matches('/*.js', '/a/b.js')).toBe(false)
    expect(matches('/x/*.js', '/x/b.js')).toBe(true)
  })

  it('match the decoded segment', () => {
    expect(matches('/*.js', '/my%20app.js')).toBe(true)
    expect(matches('/*.js', '/app%2Ejs')).toBe(true)
    expect(matches('/*.js', '/%zz.js')).toBe(false)
  })
})

describe('** (one or more segments)', () => {
  it('matches one or more segments at the end', () => {
    expect(matches('/static/**', '/static/a')).toBe(true)
    expect(matches('/static/**', '/static/a/b/c')).toBe(true)
    expect(matches('/static/**', '/static/a/')).toBe(true)
    expect(matches('/static/**', '/static/')).toBe(false)
    expect(matches('/static/**', '/static')).toBe(false)
    expect(matches('/**', '/')).toBe(false)
    expect(matches('/**', '/x')).toBe(true)
  })

  it('matches in the middle with backtracking', () => {
    expect(matches('/static/**/x.png', '/static/a/x.png')).toBe(true)
    expect(matches('/static/**/x.png', '/static/a/b/c/x.png')).toBe(true)
    expect(matches('/static/**/x.png', '/static/x.png')).toBe(false)
    expect(matches('/static/**/x.png', '/static/x.png/x.png')).toBe(true)
    expect(matches('/static/**/x.png', '/static/a/x.png/b')).toBe(false)
    expect(matches('/**/a/b', '/a/a/a/b')).toBe(true)
    expect(matches('/**/a/b', '/a/a/b/a')).toBe(false)
  })

  it('combines with other wildcards and params', () => {
    expect(matches('/**/*.png', '/a/b/c.png')).toBe(true)
    expect(matches('/**/*.png', '/c.png')).toBe(false)
    expect(match('/**/:file', '/a/b/c')).toEqual({ file: 'c' })
    expect(match('/**/x/:id', '/x/x/y/x/7')).toEqual({ id: '7' })
    expect(matches('/**/**', '/a')).toBe(false)
    expect(matches('/**/**', '/a/b')).toBe(true)
    expect(match('/a/**/b/:p/**/c/:q', '/a/1/b/2/b/3/4/c/5')).toEqual({ p: '2', q: '5' })
  })

  it('stays fast on adversarial input', () => {
    const route = compileRoute('/' + Array.from({ length: 20 }, () => '**/a').join('/') + '/b')
    const uri = '/' + Array.from({ length: 2000 }, () => 'a').join('/')
    view.load(uri)
    const started = performance.now()
    expect(matchRoute(route, view)).toBe(false)
    expect(performance.now() - started).toBeLessThan(500)
  })
})

describe('params', () => {
  it('capture one segment with :name or @name', () => {
    expect(match('/users/:id', '/users/42')).toEqual({ id: '42' })
    expect(match('/users/@id', '/users/42')).toEqual({ id: '42' })
    expect(match('/:a/x/@b', '/1/x/2')).toEqual({ a: '1', b: '2' })
  })

  it('require a non-empty segment', () => {
    expect(match('/users/:id', '/users/')).toBeNull()
    expect(match('/users/:id', '/users')).toBeNull()
  })

  it('are decoded, and %2F stays inside the value', () => {
    expect(match('/users/:id', '/users/J%C3%B6rg')).toEqual({ id: 'Jörg' })
    expect(match('/files/:name', '/files/a%2Fb')).toEqual({ name: 'a/b' })
    expect(match('/q/:v', '/q/a+b%2B')).toEqual({ v: 'a+b+' })
  })

  it('fail to match a segment with invalid percent-encoding', () => {
    expect(match('/users/:id', '/users/%E0%A4%A')).toBeNull()
  })

  it('come back in a null-prototype object', () => {
    const compiled = compileRoute('/:__proto__')
    view.load('/x')
    expect(matchRoute(compiled, view)).toBe(true)
    const params = readParams(compiled, view)
    expect(Object.getPrototypeOf(params)).toBeNull()
    expect(params['__proto__']).toBe('x')
  })

  it('treat a lone ":" or "@" as a literal', () => {
    expect(matches('/@', '/@')).toBe(true)
    expect(matches('/:', '/x')).toBe(false)
  })

  it('lets an encoded @ or : make a literal segment', () => {
    expect(match('/%40alice', '/@alice')).toEqual({})
    expect(matches('/%40alice', '/@bob')).toBe(false)
    expect(matches('/%3Aid', '/:id')).toBe(true)
  })
})

describe('compileRoute validation', () => {
  const bad = [
    '',
    'users',
    'http://x/y',
    '/a?x=1',
    '/a#b',
    '/a**',
    '/**.js',
    '/a/***',
    '/:id.json',
    '/:a/:a',
    '/@a/:a',
    '/:a*',
  ]
  for (const route of bad) {
    it(`rejects ${JSON.stringify(route)}`, () => {
      let thrown: unknown
      try {
        compileRoute(route)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(MummyError)
      expect((thrown as MummyError).code).toBe(INVALID_ROUTE)
    })
  }

  it('rejects non-strings', () => {
    expect(() => compileRoute(42 as unknown as string)).toThrow(MummyError)
  })

  it('accepts the documented shapes', () => {
    for (const route of ['/', '/a/', '/a//b', '/*', '/*.js', '/page_*', '/a*b', '/**', '/**/x']) {
      expect(() => compileRoute(route)).not.toThrow()
    }
    expect(compileRoute('/a/:x/@y/**').paramNames).toEqual(['x', 'y'])
  })
})

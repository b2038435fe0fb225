import { describe, expect, it } from '@jest/globals'
import { PathView, tryDecode } from '../dist/path.js'

function segments(uri: string): (string | null)[] | false {
  const view = new PathView()
  if (!view.load(uri)) return false
  const out: (string | null)[] = []
  for (let i = 0; i < view.count; i++) out.push(view.value(i))
  return out
}

describe('PathView', () => {
  it('splits origin-form paths, keeping empty and trailing segments', () => {
    expect(segments('/')).toEqual([''])
    expect(segments('/a')).toEqual(['a'])
    expect(segments('/a/')).toEqual(['a', ''])
    expect(segments('/a//b')).toEqual(['a', '', 'b'])
    expect(segments('//')).toEqual(['', ''])
  })

  it('stops at the query and the fragment', () => {
    expect(segments('/a/b?x=/c')).toEqual(['a', 'b'])
    expect(segments('/a#frag/x')).toEqual(['a'])
    expect(segments('/?x')).toEqual([''])
    expect(segments('/a/?')).toEqual(['a', ''])
  })

  it('uses the path of absolute-form targets', () => {
    expect(segments('http://example.com/users/42?x=1')).toEqual(['users', '42'])
    expect(segments('HTTPS://example.com:8443/a/')).toEqual(['a', ''])
    expect(segments('http://example.com')).toEqual([''])
    expect(segments('http://example.com?x=1')).toEqual([''])
    expect(segments('http://user@example.com#f')).toEqual([''])
  })

  it('rejects targets without a path', () => {
    expect(segments('*')).toBe(false)
    expect(segments('example.com:443')).toBe(false)
    expect(segments('')).toBe(false)
    expect(segments('users/42')).toBe(false)
    expect(segments('http:/x')).toBe(false)
    expect(segments('1http://x/y')).toBe(false)
  })

  it('decodes each segment after splitting', () => {
    expect(segments('/a%2Fb/c')).toEqual(['a/b', 'c'])
    expect(segments('/J%C3%B6rg/a%20b/a+b')).toEqual(['Jörg', 'a b', 'a+b'])
  })

  it('reports invalid percent-encoding as null without throwing', () => {
    expect(segments('/100%/ok')).toEqual([null, 'ok'])
    expect(segments('/%E0%A4%A/%FF/%zz')).toEqual([null, null, null])
  })

  it('reuses its buffers across loads and grows for long paths', () => {
    const view = new PathView()
    const long = '/' + Array.from({ length: 100 }, (_, i) => `s${i}%20`).join('/')
    expect(view.load(long)).toBe(true)
    expect(view.count).toBe(100)
    expect(view.value(99)).toBe('s99 ')
    expect(view.load('/x%41')).toBe(true)
    expect(view.count).toBe(1)
    expect(view.value(0)).toBe('xA')
    expect(view.isEncoded(0)).toBe(true)
    expect(view.load('/x')).toBe(true)
    expect(view.isEncoded(0)).toBe(false)
    expect(view.start(0)).toBe(1)
    expect(view.end(0)).toBe(2)
  })
})

describe('tryDecode', () => {
  it('decodes or returns null', () => {
    expect(tryDecode('a%20b')).toBe('a b')
    expect(tryDecode('%')).toBeNull()
  })
})

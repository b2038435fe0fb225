// The helpers every server user reaches for, over real HTTP on both transports: form bodies
// (415 for anything else), a JSON reply, cookies read and set.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

describe.each(TRANSPORTS)('request helpers (%s transport)', (transport) => {
  let server: Server
  let base: string
  beforeAll(async () => {
    server = createServer({
      app: new URL('./fixtures/app.js', import.meta.url),
      workers: 2,
      transport,
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
    base = server.url
  })
  afterAll(() => server.close())

  it('form(): a urlencoded body as fields; respondJson answers JSON', async () => {
    const res = await fetch(`${base}/form`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      body: 'name=J%C3%BCrgen+M&tags=a&tags=b&empty=',
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(await res.json()).toEqual({ name: 'Jürgen M', tags: 'b', empty: '' })
  })

  it('form() on another media type is 415, not 500', async () => {
    for (const type of ['application/json', 'multipart/form-data; boundary=x', '']) {
      const res = await fetch(`${base}/form`, {
        method: 'POST',
        headers: type === '' ? {} : { 'Content-Type': type },
        body: 'a=1',
      })
      expect([type, res.status]).toEqual([type, 415])
    }
  })

  it('cookies: read from every Cookie header (decoded, first wins); two Set-Cookie headers set', async () => {
    const res = await fetch(`${base}/cookies`, {
      headers: { Cookie: 'session=x%20y; theme=light; session=ignored' },
    })
    expect(await res.json()).toEqual({ session: 'x y', theme: 'light' })
    expect(res.headers.getSetCookie()).toEqual([
      'session=a%20b%3Bc; Path=/; HttpOnly; SameSite=Lax',
      'theme=dark; Max-Age=3600',
    ])
    const none = await fetch(`${base}/cookies`)
    expect(await none.json()).toEqual({})
  })
})

describe('asciiLower', () => {
  it('lower-cases A–Z only, whatever else the name holds', async () => {
    const { asciiLower } = await import('../dist/headers.js')
    expect(asciiLower('Content-Type')).toBe('content-type')
    expect(asciiLower('x-already-lower')).toBe('x-already-lower')
    // Non-ASCII is left alone: U+212A (Kelvin) is not 'k', U+0130 is not 'i̇'.
    expect(asciiLower('X-\u212Aey')).toBe('x-\u212Aey')
    expect(asciiLower('\u0130D')).toBe('\u0130d')
    expect(asciiLower('ÀB')).toBe('Àb')
  })
})

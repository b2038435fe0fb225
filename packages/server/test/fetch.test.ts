// Fetch-API apps (hono here) as app modules: request and response translated both ways,
// cors preflight, cookies set and read, a streamed response arriving piece by piece, a large
// body, errors, and a native WebSocket beside the app — on both transports.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import WebSocketClient from 'ws'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** When each piece of the body arrived (ms after the head). */
  times: number[]
}

function ask(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method, path, headers }, (res) => {
      const start = Date.now()
      const times: number[] = []
      let text = ''
      res.on('data', (chunk: Buffer) => {
        times.push(Date.now() - start)
        text += chunk.toString()
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, times }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe.each(TRANSPORTS)('a hono app as the app module (%s transport)', (transport) => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer({
      app: new URL('./fixtures/hono-app.js', import.meta.url),
      workers: 2,
      transport,
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
    port = server.port
  })
  afterAll(() => server.close())

  it('answers a plain route', async () => {
    const a = await ask(port, 'GET', '/')
    expect([a.status, a.body, a.headers['content-type']]).toEqual([
      200,
      'Hello, World!',
      'text/plain;charset=UTF-8',
    ])
  })

  it('cors: a preflight gets 204 with the allowed origin, methods and max-age; simple requests get the origin', async () => {
    const pre = await ask(port, 'OPTIONS', '/api/me', {
      Origin: 'https://app.example',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type',
    })
    expect(pre.status).toBe(204)
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(pre.headers['access-control-allow-credentials']).toBe('true')
    expect(pre.headers['access-control-allow-methods']).toContain('POST')
    expect(pre.headers['access-control-allow-headers']).toBe('content-type')
    expect(pre.headers['access-control-max-age']).toBe('600')
    const simple = await ask(port, 'GET', '/api/me', { Origin: 'https://app.example' })
    expect(simple.headers['access-control-allow-origin']).toBe('https://app.example')
  })

  it('cookies: two Set-Cookie headers stay two, and come back readable', async () => {
    const login = await ask(port, 'GET', '/api/login')
    expect(login.headers['set-cookie']).toEqual([
      'session=abc123; Path=/; HttpOnly; SameSite=Lax',
      'theme=dark; Path=/',
    ])
    const me = await ask(port, 'GET', '/api/me', { Cookie: 'session=abc123; theme=dark' })
    expect(JSON.parse(me.body)).toEqual({ session: 'abc123', theme: 'dark' })
  })

  it('a JSON body goes in; the URL is the request target on its host', async () => {
    const a = await ask(
      port,
      'POST',
      '/api/echo?x=1',
      { 'Content-Type': 'application/json' },
      '{"n":[1,2]}',
    )
    expect(JSON.parse(a.body)).toEqual({
      got: { n: [1, 2] },
      url: `http://127.0.0.1:${port}/api/echo?x=1`,
    })
  })

  it('a streamed response arrives piece by piece, as it is produced', async () => {
    const a = await ask(port, 'GET', '/stream')
    expect(a.body).toBe('piece 0\npiece 1\npiece 2\npiece 3\npiece 4\n')
    expect(a.headers['transfer-encoding']).toBe('chunked')
    // Five pieces 30 ms apart: the last arrives well after the first.
    expect(a.times.at(-1)! - a.times[0]!).toBeGreaterThanOrEqual(90)
  })

  it('a 3 MiB body comes whole', async () => {
    const a = await ask(port, 'GET', '/big')
    expect(a.body.length).toBe(3 * 1024 * 1024)
    expect(a.body).toBe('x'.repeat(3 * 1024 * 1024))
  })

  it('a route that throws is a 500, and the server goes on', async () => {
    expect((await ask(port, 'GET', '/boom')).status).toBe(500)
    expect((await ask(port, 'GET', '/')).status).toBe(200)
  })

  it('a WebSocket upgraded through env.request, beside the hono app', async () => {
    const ws = new WebSocketClient(`ws://127.0.0.1:${port}/ws`)
    const got = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hi'))
      ws.once('message', (d) => resolve(String(d)))
      ws.once('error', reject)
    })
    expect(got).toBe('hono+ws: hi')
    ws.close()
  })
})

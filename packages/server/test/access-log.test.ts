// The access log: one entry per answered request — plain, HEAD, streamed (counted when it
// completes), refused by the router, a WebSocket upgrade — with the request's facts, on both
// transports; and the Common / Combined formats, escaping included.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import WebSocketClient from 'ws'
import {
  combinedLine,
  commonLine,
  createServer,
  type AccessLogEntry,
  type Server,
} from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

function ask(port: number, method: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method, path, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

async function until(predicate: () => boolean): Promise<void> {
  const end = Date.now() + 5000
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe.each(TRANSPORTS)('accessLog (%s transport)', (transport) => {
  let server: Server
  const entries: AccessLogEntry[] = []
  beforeAll(async () => {
    server = createServer({
      app: new URL('./fixtures/app.js', import.meta.url),
      workers: 2,
      transport,
      accessLog: (entry) => entries.push(entry),
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
  })
  afterAll(() => server.close())

  const last = (target: string) => entries.filter((e) => e.target === target).at(-1)

  it('logs a plain answer with the request facts', async () => {
    const before = Date.now()
    await ask(server.port, 'GET', '/?x=1', {
      Referer: 'https://ref.example/',
      'User-Agent': 'ua/1',
    })
    await until(() => last('/?x=1') !== undefined)
    const e = last('/?x=1')!
    expect(e).toEqual({
      time: expect.any(Number),
      remoteAddress: '127.0.0.1',
      method: 'GET',
      target: '/?x=1',
      httpVersion: '1.1',
      status: 200,
      bytes: 13,
      durationMs: expect.any(Number),
      referer: 'https://ref.example/',
      userAgent: 'ua/1',
    })
    expect(e.time).toBeGreaterThanOrEqual(before - 5)
    expect(e.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('HEAD counts no body; a 404 from the router is logged too', async () => {
    await ask(server.port, 'HEAD', '/')
    await ask(server.port, 'GET', '/no/such/route')
    await until(() => last('/no/such/route') !== undefined)
    expect(entries.filter((e) => e.method === 'HEAD').at(-1)).toMatchObject({
      status: 200,
      bytes: 0,
    })
    expect(last('/no/such/route')).toMatchObject({ status: 404 })
  })

  it('a streamed body is logged when it completes, with its byte count', async () => {
    await ask(server.port, 'GET', '/stream/count/5')
    await until(() => last('/stream/count/5') !== undefined)
    expect(last('/stream/count/5')).toMatchObject({ status: 200, bytes: 35 }) // 'line 1\n' … 'line 5\n'
  })

  it('a WebSocket upgrade is a 101', async () => {
    const ws = new WebSocketClient(`ws://127.0.0.1:${server.port}/ws`)
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    ws.close()
    await until(() => last('/ws') !== undefined)
    expect(last('/ws')).toMatchObject({ status: 101, bytes: -1 })
  })
})

describe('access log formats', () => {
  const entry: AccessLogEntry = {
    time: Date.UTC(2026, 11, 5, 9, 8, 7),
    remoteAddress: '10.0.0.1',
    method: 'GET',
    target: '/a "b"\\c',
    httpVersion: '1.1',
    status: 200,
    bytes: 42,
    durationMs: 1.5,
    referer: undefined,
    userAgent: 'curl\u0001/8',
  }
  it('common and combined, with quotes, backslashes and control bytes escaped', () => {
    expect(commonLine(entry)).toBe(
      '10.0.0.1 - - [05/Dec/2026:09:08:07 +0000] "GET /a \\"b\\"\\\\c HTTP/1.1" 200 42',
    )
    expect(combinedLine({ ...entry, bytes: -1 })).toBe(
      '10.0.0.1 - - [05/Dec/2026:09:08:07 +0000] "GET /a \\"b\\"\\\\c HTTP/1.1" 200 - "-" "curl\\x01/8"',
    )
  })
})

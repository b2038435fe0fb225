import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { exchange, get, sleep, waitFor } from '@mummy/test-kit'
import net from 'node:net'
import zlib from 'node:zlib'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'
import type { LogLevel } from '../dist/log.js'

const APP = new URL('./fixtures/app.js', import.meta.url)
const logs: [LogLevel, string][] = []

async function fetchText(
  port: number,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init)
  return { status: res.status, body: await res.text(), headers: res.headers }
}

describe.each(TRANSPORTS)('server on 4 workers (%s transport)', (transport) => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer({
      transport,
      app: APP,
      workers: 4,
      handlerTimeout: 3000,
      logHandler: (level, message) => void logs.push([level, message]),
    })
    await server.listen(0, '127.0.0.1')
    port = server.port
  })
  afterAll(async () => {
    await server.close()
  })

  it('serves a Router from an app module', async () => {
    const res = await fetchText(port, '/')
    expect(res.status).toBe(200)
    expect(res.body).toBe('Hello, World!')
    expect(res.headers.get('content-type')).toBe('text/plain')
    expect(res.headers.get('date')).not.toBeNull()
  })

  it('answers with the same Buffer again and again: the handler keeps its buffer', async () => {
    // 8 answers on 4 workers: each worker answers it at least twice on most runs.
    for (let i = 0; i < 8; i++) {
      const res = await fetchText(port, '/shared-buffer')
      expect([res.status, res.body.length, res.body.slice(0, 3)]).toEqual([200, 20_000, 'yyy'])
    }
  })

  it('runs handlers on worker threads, not the IO thread', async () => {
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) ids.add((await fetchText(port, '/thread')).body)
    expect(ids.has('0')).toBe(false)
  })

  it('gives handlers method, uri, decoded path, query, params, headers', async () => {
    const res = await fetchText(port, '/inspect/a%20b?x=1&y=two&x=3', {
      headers: { Accept: 'text/html', 'X-Custom': 'v' },
    })
    const info = JSON.parse(res.body) as Record<string, unknown>
    expect(info.method).toBe('GET')
    expect(info.uri).toBe('/inspect/a%20b?x=1&y=two&x=3')
    expect(info.path).toBe('/inspect/a b')
    expect(info.query).toEqual({ x: '3', y: 'two' })
    expect(info.params).toEqual({ name: 'a b' })
    expect(info.httpVersion).toBe('1.1')
    expect(info.remoteAddress).toBe('127.0.0.1')
    expect((info.headers as Record<string, string>)['x-custom']).toBe('v')
  })

  it('echoes a request body', async () => {
    const body = Buffer.alloc(300_000, 'z')
    const res = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/x-test' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-test')
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true)
  })

  it('answers 404, and 405 with Allow, from the router', async () => {
    expect((await fetchText(port, '/nowhere')).status).toBe(404)
    const res = await fetchText(port, '/only-put')
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('PUT')
  })

  it('serves HEAD from GET routes with the headers and no body', async () => {
    // A GET pipelined behind the HEAD shows no body bytes were sent; uWebSockets.js closes a
    // connection that pipelines behind a pending answer, so there the GET goes alone after.
    const pipelined = transport === 'node'
    const head = 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n'
    const { responses } = await exchange(port, pipelined ? head + get('/') : head, {
      responses: pipelined ? 2 : 1,
      head: [true],
    })
    if (!pipelined) responses.push(...(await exchange(port, get('/'))).responses)
    expect(responses[0]?.status).toBe(200)
    expect(responses[0]?.headers['content-length']).toBe('13')
    expect(responses[0]?.body.length).toBe(0)
    expect(responses[1]?.body.toString()).toBe('Hello, World!')
  })

  it('a blocking handler does not delay other requests (2 of 4 workers blocked for 2 s)', async () => {
    const slowStart = Date.now()
    const slow = [fetchText(port, '/slow'), fetchText(port, '/slow')].map((p) =>
      p.then((r) => ({ ...r, at: Date.now() })),
    )
    await sleep(50)
    const latencies: number[] = []
    const fastDone: number[] = []
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        const t0 = performance.now()
        const res = await fetchText(port, '/fast')
        latencies.push(performance.now() - t0)
        fastDone.push(Date.now())
        expect(res.body).toBe('fast')
      }),
    )
    const slowResults = await Promise.all(slow)
    for (const r of slowResults) expect(r.body).toBe('slow')
    // Every fast request finished before either slow one.
    const firstSlow = Math.min(...slowResults.map((r) => r.at))
    expect(Math.max(...fastDone)).toBeLessThan(firstSlow)
    expect(firstSlow - slowStart).toBeGreaterThanOrEqual(1900)
    latencies.sort((a, b) => a - b)
    console.log(
      `fast requests while 2 workers blocked: p50 ${latencies[49]!.toFixed(1)} ms, p99 ${latencies[98]!.toFixed(1)} ms, max ${latencies[99]!.toFixed(1)} ms`,
    )
  })

  it('an answer sent before the handler returns is not held back by work after it', async () => {
    const t0 = Date.now()
    const res = await fetchText(port, '/respond-then-work')
    expect(res.body).toBe('answered first')
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('a throwing handler gets 500 and the worker keeps serving', async () => {
    expect((await fetchText(port, '/throw')).status).toBe(500)
    expect((await fetchText(port, '/reject')).status).toBe(500)
    expect((await fetchText(port, '/silent')).status).toBe(500)
    expect((await fetchText(port, '/')).status).toBe(200)
    expect(
      logs.some(([level, m]) => level === 'error' && m.includes('handler failure on purpose')),
    ).toBe(true)
    expect(
      logs.some(([level, m]) => level === 'error' && m.includes('returned without responding')),
    ).toBe(true)
  })

  it('rejects response headers with CR/LF (response splitting) with a 500', async () => {
    const { responses } = await exchange(port, get('/bad-header'), { responses: 1 })
    expect(responses[0]?.status).toBe(500)
    expect(responses[0]?.headers['set-cookie']).toBeUndefined()
  })

  it('a handler that never answers gets 504 after handlerTimeout', async () => {
    const res = await fetchText(port, '/never')
    expect(res.status).toBe(504)
  })

  it('a worker that calls process.exit(): 503 for its request, pool back to full size and serving', async () => {
    const { responses, closed } = await exchange(port, get('/exit'), { timeout: 3000 })
    expect(responses[0]?.status).toBe(503)
    expect(responses[0]?.headers['connection']).toBe('close')
    expect(closed).toBe(true)
    const t0 = Date.now()
    await waitFor(async () => (await fetchText(port, '/')).status === 200, 2000, 'serving again')
    // All 4 workers can block at once again: the pool is back to full size.
    const blocked = await Promise.all(
      Array.from({ length: 4 }, () => fetchText(port, '/block/300').then(() => Date.now())),
    )
    expect(Math.max(...blocked) - t0).toBeLessThan(2000 + 1000)
  })
})

describe.each(TRANSPORTS)('compression (%s transport)', (transport) => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer({ transport, app: APP, workers: 1 })
    await server.listen(0, '127.0.0.1')
    port = server.port
  })
  afterAll(() => server.close())

  async function rawJson(
    acceptEncoding: string | null,
  ): Promise<{ headers: Record<string, string>; body: Buffer }> {
    const extra = acceptEncoding === null ? '' : `Accept-Encoding: ${acceptEncoding}\r\n`
    const { responses } = await exchange(port, get('/json', extra), { responses: 1 })
    return responses[0]!
  }

  it('gzips, deflates or leaves alone a 10 KB JSON body per Accept-Encoding, same bytes after decoding', async () => {
    const plain = await rawJson(null)
    expect(plain.body.length).toBeGreaterThan(10_000)
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers['vary']).toBe('Accept-Encoding')
    const gz = await rawJson('gzip')
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.body.length).toBeLessThan(plain.body.length / 3)
    expect(zlib.gunzipSync(gz.body).equals(plain.body)).toBe(true)
    const df = await rawJson('deflate')
    expect(df.headers['content-encoding']).toBe('deflate')
    expect(zlib.inflateSync(df.body).equals(plain.body)).toBe(true)
    const off = await rawJson('gzip;q=0')
    expect(off.headers['content-encoding']).toBeUndefined()
    expect(off.body.equals(plain.body)).toBe(true)
    const pref = await rawJson('gzip;q=0.5, deflate;q=0.9')
    expect(pref.headers['content-encoding']).toBe('deflate')
  })

  it('does not compress small bodies', async () => {
    const { responses } = await exchange(port, get('/', 'Accept-Encoding: gzip\r\n'), {
      responses: 1,
    })
    expect(responses[0]?.headers['content-encoding']).toBeUndefined()
    expect(responses[0]?.body.toString()).toBe('Hello, World!')
  })
})

describe.each(TRANSPORTS)('inline mode and close() (%s transport)', (transport) => {
  it('workers: 0 answers on the IO thread', async () => {
    const server = createServer((request) => request.respond(200, {}, 'inline'), {
      workers: 0,
      transport,
    })
    await server.listen(0, '127.0.0.1')
    expect((await fetchText(server.port, '/')).body).toBe('inline')
    await server.close()
  })

  it('close() under load: in-flight requests complete, then new connections are refused', async () => {
    const server = createServer({ transport, app: APP, workers: 2, logHandler: () => {} })
    await server.listen(0, '127.0.0.1')
    const port = server.port
    const inflight = Array.from({ length: 20 }, (_, i) =>
      exchange(port, get(i % 2 === 0 ? '/block/300' : '/async'), { responses: 1, timeout: 10_000 }),
    )
    await sleep(100)
    await server.close()
    const results = await Promise.all(inflight)
    for (const r of results) expect(r.responses[0]?.status).toBe(200)
    await expect(
      new Promise((resolve, reject) =>
        net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject),
      ),
    ).rejects.toThrow(/ECONNREFUSED/)
  })
})

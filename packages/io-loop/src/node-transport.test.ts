import { afterEach, describe, expect, it } from '@jest/globals'
import { exchange, get, rawExchange, readResponses, sleep, waitFor } from '@mummy/test-kit'
import net from 'node:net'
import { NodeTransport } from './node-transport.js'
import type {
  ResponseWriter,
  TransportOptions,
  TransportRequest,
  TransportStream,
} from './transport.js'

const open: NodeTransport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(500)))
})

async function start(
  onRequest: (req: TransportRequest, res: ResponseWriter) => void,
  options: Partial<TransportOptions> = {},
): Promise<{ transport: NodeTransport; port: number }> {
  const transport = new NodeTransport({ ...options, onRequest })
  open.push(transport)
  const port = await transport.listen(0, '127.0.0.1')
  return { transport, port }
}

const echoTarget = (req: TransportRequest, res: ResponseWriter): void =>
  res.end(200, ['Content-Type', 'text/plain'], req.target)

describe('NodeTransport: responses', () => {
  it('answers with status line, Date, Content-Length and the body', async () => {
    const { port } = await start(echoTarget)
    const { responses } = await exchange(port, get('/hello'), { responses: 1 })
    const [res] = responses
    expect(res?.status).toBe(200)
    expect(res?.headers['content-length']).toBe('6')
    expect(res?.headers['date']).toMatch(
      /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
    )
    expect(res?.body.toString()).toBe('/hello')
  })

  it('keeps HTTP/1.1 connections alive and closes HTTP/1.0 ones unless asked', async () => {
    const { port } = await start(echoTarget)
    const a = await exchange(port, get('/a') + get('/b'), { responses: 2 })
    expect(a.responses.map((r) => r.body.toString())).toEqual(['/a', '/b'])
    expect(a.responses[0]?.headers['connection']).toBeUndefined()
    const b = await exchange(port, 'GET /old HTTP/1.0\r\n\r\n')
    expect(b.responses[0]?.body.toString()).toBe('/old')
    expect(b.responses[0]?.headers['connection']).toBe('close')
    expect(b.closed).toBe(true)
    const c = await exchange(port, 'GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', {
      responses: 1,
    })
    expect(c.responses[0]?.headers['connection']).toBe('keep-alive')
    expect(c.closed).toBe(false)
  })

  it('sends Content-Length but no body for HEAD, and no Content-Length for 204/304', async () => {
    const { port } = await start((req, res) => {
      if (req.target === '/204') res.end(204, [], '')
      else if (req.target === '/304') res.end(304, [], '')
      else res.end(200, [], 'twelve bytes')
    })
    const raw = await rawExchange(
      port,
      `HEAD / HTTP/1.1\r\nHost: x\r\n\r\n` + get('/204') + get('/304') + get('/'),
      { timeout: 500 },
    )
    const { responses } = readResponses(raw.data, [true])
    expect(responses.map((r) => r.status)).toEqual([200, 204, 304, 200])
    expect(responses[0]?.headers['content-length']).toBe('12')
    expect(responses[0]?.body.length).toBe(0)
    expect(responses[1]?.headers['content-length']).toBeUndefined()
    expect(responses[2]?.headers['content-length']).toBeUndefined()
    expect(responses[3]?.body.toString()).toBe('twelve bytes')
  })

  it('hands over the body, headers and version', async () => {
    let seen: TransportRequest | undefined
    const { port } = await start((req, res) => {
      seen = req
      res.end(200, [], req.body)
    })
    const body = 'x'.repeat(5000)
    const { responses } = await exchange(
      port,
      `POST /p HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      { responses: 1 },
    )
    expect(responses[0]?.body.toString()).toBe(body)
    expect(seen?.method).toBe('POST')
    expect(seen?.headers).toEqual(['Host', 'h', 'X-A', '1', 'Content-Length', '5000'])
    expect(seen?.versionMinor).toBe(1)
    // The body owns its whole buffer, so it can be transferred to a worker.
    expect(seen?.body.byteOffset).toBe(0)
    expect(seen?.body.buffer.byteLength).toBe(5000)
  })
})

describe('NodeTransport: pipelining', () => {
  it('answers 100 requests written in one write() in order', async () => {
    const { port } = await start(echoTarget)
    let bytes = ''
    for (let i = 0; i < 100; i++) bytes += get(`/r${i}`)
    const { responses } = await exchange(port, bytes, { responses: 100, timeout: 5000 })
    expect(responses).toHaveLength(100)
    expect(responses.map((r) => r.body.toString())).toEqual(
      Array.from({ length: 100 }, (_, i) => `/r${i}`),
    )
  })

  it('keeps order when handlers finish in reverse order', async () => {
    const { port } = await start((req, res) => {
      const n = Number(req.target.slice(2))
      setTimeout(() => res.end(200, [], req.target), (10 - n) * 15)
    })
    let bytes = ''
    for (let i = 0; i < 10; i++) bytes += get(`/r${i}`)
    const { responses } = await exchange(port, bytes, { responses: 10, timeout: 5000 })
    expect(responses.map((r) => r.body.toString())).toEqual(
      Array.from({ length: 10 }, (_, i) => `/r${i}`),
    )
  })

  it('reads no further than maxPipelinedRequests ahead', async () => {
    const pending: ResponseWriter[] = []
    const { port } = await start((_req, res) => void pending.push(res), { maxPipelinedRequests: 4 })
    const socket = net.connect(port, '127.0.0.1')
    let bytes = ''
    for (let i = 0; i < 20; i++) bytes += get(`/r${i}`)
    socket.write(bytes)
    await waitFor(() => pending.length === 4, 2000, '4 dispatched')
    await sleep(100)
    expect(pending).toHaveLength(4)
    for (const res of pending.splice(0)) res.end(200, [], 'ok')
    await waitFor(() => pending.length === 4, 2000, 'next 4 dispatched')
    socket.destroy()
  })
})

describe('NodeTransport: Expect and limits', () => {
  it('sends 100 Continue before reading an accepted body', async () => {
    const { port } = await start((req, res) => res.end(200, [], req.body))
    const socket = net.connect(port, '127.0.0.1')
    const got: Buffer[] = []
    socket.on('data', (c: Buffer) => got.push(c))
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n')
    await waitFor(
      () => Buffer.concat(got).toString().includes('100 Continue'),
      2000,
      '100 Continue',
    )
    socket.write('hello')
    await waitFor(
      () => readResponses(Buffer.concat(got)).responses.length === 2,
      2000,
      'final response',
    )
    const { responses } = readResponses(Buffer.concat(got))
    expect(responses.map((r) => r.status)).toEqual([100, 200])
    expect(responses[1]?.body.toString()).toBe('hello')
    socket.destroy()
  })

  it('answers 413 instead of 100 when the declared body is too large', async () => {
    const { port } = await start(echoTarget, { maxBodyLen: 10 })
    const { responses, closed } = await exchange(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n',
    )
    expect(responses.map((r) => r.status)).toEqual([413])
    expect(responses[0]?.headers['connection']).toBe('close')
    expect(closed).toBe(true)
  })

  it('answers 431 for oversized headers, 414 for an oversized URI, then closes', async () => {
    const { port } = await start(echoTarget, { maxHeadersLen: 1024 })
    const big = await exchange(
      port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`,
    )
    expect(big.responses[0]?.status).toBe(431)
    expect(big.closed).toBe(true)
    const uri = await exchange(port, `GET /${'a'.repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
    expect(uri.responses[0]?.status).toBe(414)
  })

  it('answers earlier pipelined requests before the error response', async () => {
    const { port } = await start(echoTarget)
    const { responses, closed } = await exchange(port, get('/ok') + 'GET /bad HTTP/9.9\r\n\r\n')
    expect(responses.map((r) => r.status)).toEqual([200, 505])
    expect(closed).toBe(true)
  })
})

describe('NodeTransport: timeouts', () => {
  it('answers 408 when the head does not arrive within headersTimeout', async () => {
    const { port } = await start(echoTarget, { headersTimeout: 300 })
    const { responses, closed } = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n', {
      timeout: 3000,
    })
    expect(responses[0]?.status).toBe(408)
    expect(closed).toBe(true)
  })

  it('answers 408 when the body stalls', async () => {
    const { port } = await start(echoTarget, { headersTimeout: 300, requestTimeout: 10_000 })
    const { responses, closed } = await exchange(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc',
      { timeout: 3000 },
    )
    expect(responses[0]?.status).toBe(408)
    expect(closed).toBe(true)
  })

  it('closes idle keep-alive connections after keepAliveTimeout', async () => {
    const { port, transport } = await start(echoTarget, { keepAliveTimeout: 300 })
    const started = Date.now()
    const { responses, closed } = await exchange(port, get('/'), { timeout: 3000 })
    expect(responses).toHaveLength(1)
    expect(closed).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    await waitFor(() => transport.connections === 0, 2000, 'connection gone')
  })

  it('does not time out a request whose handler is still working', async () => {
    const { port } = await start((_req, res) => setTimeout(() => res.end(200, [], 'late'), 900), {
      headersTimeout: 200,
      keepAliveTimeout: 200,
    })
    const { responses } = await exchange(port, get('/'), { responses: 1, timeout: 3000 })
    expect(responses[0]?.body.toString()).toBe('late')
  })
})

describe('NodeTransport: backpressure and close', () => {
  it('stops reading from a connection that does not read its responses', async () => {
    let dispatched = 0
    const big = Buffer.alloc(1024 * 1024, 'x')
    const { port } = await start(
      (_req, res) => {
        dispatched++
        res.end(200, [], big)
      },
      { writeHighWaterMark: 64 * 1024 },
    )
    const socket = net.connect(port, '127.0.0.1')
    socket.pause() // never read
    let bytes = ''
    for (let i = 0; i < 200; i++) bytes += get('/')
    socket.write(bytes)
    await sleep(500)
    // Unsent output passed the high-water mark after the first responses: reading stopped.
    expect(dispatched).toBeLessThan(10)
    socket.destroy()
  })

  it('close() finishes in-flight requests, refuses new connections, then resolves', async () => {
    const { port, transport } = await start((_req, res) =>
      setTimeout(() => res.end(200, [], 'done'), 300),
    )
    const inflight = exchange(port, get('/'), { timeout: 3000 })
    await sleep(100)
    const closing = transport.close()
    const answered = await inflight
    expect(answered.responses[0]?.body.toString()).toBe('done')
    expect(answered.responses[0]?.headers['connection']).toBe('close')
    await closing
    await expect(
      new Promise((resolve, reject) =>
        net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject),
      ),
    ).rejects.toThrow(/ECONNREFUSED/)
  })

  it('close() ends idle keep-alive connections at once', async () => {
    const { port, transport } = await start(echoTarget)
    const socket = net.connect(port, '127.0.0.1')
    socket.write(get('/'))
    await new Promise((r) => socket.once('data', r))
    const closed = new Promise((r) => socket.once('close', r))
    socket.resume()
    const t0 = Date.now()
    await transport.close()
    await closed
    expect(Date.now() - t0).toBeLessThan(2000)
  })
})

describe('NodeTransport: streamed responses', () => {
  it('keeps pipelined order: pieces given before the stream reaches the front wait, then follow in order', async () => {
    const statuses: string[] = []
    const closes: boolean[] = []
    let slowRes: ResponseWriter | null = null
    const { port } = await start((req, res) => {
      if (req.target === '/slow') {
        slowRes = res
        return
      }
      if (req.target === '/stream') {
        const stream = res.stream(200, ['Content-Type', 'text/plain'], {
          onClose: (complete) => closes.push(complete),
        })
        statuses.push(stream.write('a'), stream.write(Buffer.from('bc')))
        expect(stream.bufferedAmount).toBe(3)
        stream.end()
        stream.end() // idempotent
        statuses.push(stream.write('late'))
        // Only now does the earlier response go out.
        setTimeout(() => slowRes?.end(200, [], 'slow'), 50)
        return
      }
      echoTarget(req, res)
    })
    const { responses } = await exchange(port, get('/slow') + get('/stream') + get('/after'), {
      responses: 3,
    })
    expect(responses.map((r) => r.body.toString())).toEqual(['slow', 'abc', '/after'])
    expect(responses[1]!.headers['transfer-encoding']).toBe('chunked')
    expect(statuses).toEqual(['buffered', 'buffered', 'dropped'])
    await waitFor(() => closes.length === 1)
    expect(closes).toEqual([true])
  })

  it('reports backpressure and drain, and abort() drops the connection (onClose(false), once)', async () => {
    const events: string[] = []
    let stream: TransportStream | null = null
    const { port } = await start((_req, res) => {
      stream = res.stream(200, [], {
        onDrain: () => events.push('drain'),
        onClose: (complete) => events.push(`close ${complete}`),
      })
    })
    const socket = net.connect(port, '127.0.0.1')
    socket.pause()
    socket.write(get('/'))
    await waitFor(() => stream !== null)
    const s = stream as unknown as TransportStream
    let status = 'sent'
    for (let i = 0; i < 64 && status === 'sent'; i++) status = s.write(Buffer.alloc(256 * 1024))
    expect(status).toBe('buffered')
    expect(s.bufferedAmount).toBeGreaterThan(0)
    socket.resume()
    await waitFor(() => events.includes('drain'), 5000, 'drain')
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.on('error', () => {})
    s.abort()
    await closed
    await waitFor(() => events.some((e) => e.startsWith('close')))
    s.abort()
    expect(s.write('x')).toBe('dropped')
    await sleep(20)
    expect(events.filter((e) => e.startsWith('close'))).toEqual(['close false'])
  })
})

describe('NodeTransport: closing after an error answer', () => {
  it('drops a peer that keeps its side open after a closing answer (a refused upload)', async () => {
    const { transport, port } = await start(echoTarget)
    // allowHalfOpen: this client does not close when the server does.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    let answer = ''
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
    socket.on('error', () => {})
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n')
    socket.write(Buffer.alloc(256 * 1024))
    await waitFor(() => answer.includes(' 413 '), 5000, 'the 413')
    expect(transport.connections).toBe(1)
    // Dropped after the grace period, not kept open for good.
    await waitFor(() => transport.connections === 0, 8000, 'the lingering peer to be dropped')
    socket.destroy()
  }, 15_000)
})

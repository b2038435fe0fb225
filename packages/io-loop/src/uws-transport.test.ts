// The uWebSockets.js transport on its own: the Transport contract's HTTP side, the heads it
// refuses through @mummy/parser's rules, close(), and the deviations its README lists.
// (The server-level suites, Autobahn included, run on both transports.)
import { afterEach, describe, expect, it } from '@jest/globals'
import { exchange, get, sleep } from '@mummy/test-kit'
import net from 'node:net'
import type {
  ResponseWriter,
  TransportOptions,
  TransportRequest,
  TransportStream,
} from './transport.js'
import { UwsTransport, loadUws } from './uws-transport.js'

const open: UwsTransport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(500)))
})

async function start(
  onRequest: (req: TransportRequest, res: ResponseWriter) => void,
  options: Partial<TransportOptions> = {},
): Promise<{ transport: UwsTransport; port: number }> {
  const transport = new UwsTransport({ ...options, onRequest })
  open.push(transport)
  const port = await transport.listen(0, '127.0.0.1')
  return { transport, port }
}

/** One keep-alive connection; `ask` writes a request and resolves with the next response bytes. */
function connection(port: number): {
  ask: (bytes: string) => Promise<string>
  socket: net.Socket
  closed: Promise<void>
} {
  const socket = net.connect(port, '127.0.0.1')
  let waiting: ((s: string) => void) | null = null
  socket.on('data', (d: Buffer) => {
    const w = waiting
    waiting = null
    w?.(d.toString('latin1'))
  })
  const closed = new Promise<void>((r) => socket.once('close', () => r()))
  return {
    socket,
    closed,
    ask: (bytes) =>
      new Promise((resolve) => {
        waiting = resolve
        socket.write(bytes)
      }),
  }
}

describe('UwsTransport', () => {
  it('loads here (linux x64, Node 20): the conformance suites run on it', () => {
    expect(loadUws()).toEqual({ available: true, reason: '' })
  })

  it('answers with status line, Date, Content-Length and the body; keeps the connection', async () => {
    const { port } = await start((req, res) =>
      setTimeout(() => res.end(200, ['Content-Type', 'text/plain'], req.target), 5),
    )
    const c = connection(port)
    const first = await c.ask(get('/hello?x=1'))
    expect(first).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(first).toMatch(/\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} [\d:]{8} GMT\r\n/)
    expect(first).toMatch(/\r\nContent-Length: 10\r\n/)
    expect(first.endsWith('\r\n\r\n/hello?x=1')).toBe(true)
    expect(await c.ask(get('/again'))).toMatch(/\/again$/)
    c.socket.destroy()
  })

  it('sends Content-Length but no body for HEAD, and no Content-Length for 204/304', async () => {
    const { port } = await start((req, res) => {
      if (req.target === '/204') res.end(204, [], '')
      else if (req.target === '/304') res.end(304, [], '')
      else res.end(200, [], 'twelve bytes')
    })
    const c = connection(port)
    const head = await c.ask('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(head).toMatch(/\r\nContent-Length: 12\r\n/)
    expect(head.endsWith('\r\n\r\n')).toBe(true)
    for (const status of [204, 304]) {
      const res = await c.ask(get(`/${status}`))
      expect(res).toMatch(new RegExp(`^HTTP/1.1 ${status} `))
      expect(res).not.toMatch(/Content-Length/i)
    }
    expect(await c.ask(get('/'))).toMatch(/\r\n\r\ntwelve bytes$/)
    c.socket.destroy()
  })

  it('hands over the body (fixed and chunked), headers, version and address', async () => {
    const seen: TransportRequest[] = []
    const { port } = await start((req, res) => {
      seen.push(req)
      res.end(200, [], req.body)
    })
    const body = 'x'.repeat(100_000)
    const a = await exchange(
      port,
      `POST /p HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      { responses: 1 },
    )
    expect(a.responses[0]?.body.toString()).toBe(body)
    const b = await exchange(
      port,
      'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      { responses: 1 },
    )
    expect(b.responses[0]?.body.toString()).toBe('hello world')
    expect(seen[0]?.method).toBe('POST')
    expect(seen[0]?.headers).toEqual(['host', 'h', 'x-a', '1', 'content-length', '100000'])
    expect(seen[0]?.versionMinor).toBe(1)
    expect(seen[0]?.remoteAddress).toBe('127.0.0.1')
    // Bodies own their whole ArrayBuffer (never a view into a pooled slab): transferable.
    expect(seen[0]?.body.byteOffset).toBe(0)
    expect(seen[0]?.body.buffer.byteLength).toBe(100_000)
    expect(seen[1]?.body.byteOffset).toBe(0)
    expect(seen[1]?.body.buffer.byteLength).toBe(11)
  })

  it('refuses heads by @mummy/parser rules: duplicate Content-Length, CL with TE, unknown coding', async () => {
    let reached = 0
    const { port } = await start((_req, res) => {
      reached++
      res.end(200, [], 'ok')
    })
    const cases: [string, number | null][] = [
      ['Content-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400],
      ['Content-Length: 1\r\nContent-Length: 1\r\n\r\na', 400],
      ['Transfer-Encoding: gzip\r\n\r\n', 501],
      ['Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
      ['Host: second\r\n\r\n', 400],
    ]
    for (const [rest, status] of cases) {
      const { responses, closed } = await exchange(port, `POST / HTTP/1.1\r\nHost: x\r\n${rest}`, {
        timeout: 1000,
      })
      expect(responses.map((r) => r.status)).toEqual([status])
      expect(responses[0]?.headers['connection']).toBe('close')
      expect(closed).toBe(true)
    }
    expect(reached).toBe(0)
  })

  it('answers 413 for a declared or a streamed body over maxBodyLen, then closes', async () => {
    const { port } = await start((_req, res) => res.end(200, [], 'ok'), { maxBodyLen: 1000 })
    const declared = await exchange(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n',
    )
    expect(declared.responses.map((r) => r.status)).toEqual([413])
    expect(declared.closed).toBe(true)
    const streamed = await exchange(
      port,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${'400\r\n' + 'y'.repeat(1024) + '\r\n'}0\r\n\r\n`,
    )
    expect(streamed.responses.map((r) => r.status)).toEqual([413])
    expect(streamed.closed).toBe(true)
  })

  it('documented deviation: a request pipelined behind a pending answer closes the connection', async () => {
    let answered = 0
    const { port } = await start((_req, res) =>
      setTimeout(() => {
        if (!res.closed) {
          res.end(200, [], 'late')
          answered++
        }
      }, 50),
    )
    const { responses, closed } = await exchange(port, get('/a') + get('/b'), { timeout: 1000 })
    expect(responses).toEqual([])
    expect(closed).toBe(true)
    await sleep(100)
    expect(answered).toBe(0)
  })

  it('close() answers in-flight requests with Connection: close, refuses new connections, ends idle ones', async () => {
    const { port, transport } = await start((req, res) =>
      setTimeout(() => res.end(200, [], 'done'), req.target === '/slow' ? 300 : 0),
    )
    const idle = connection(port)
    await idle.ask(get('/'))
    const inflight = exchange(port, get('/slow'), { timeout: 3000 })
    await sleep(100)
    expect(transport.connections).toBe(1)
    const closing = transport.close()
    const answered = await inflight
    expect(answered.responses[0]?.body.toString()).toBe('done')
    expect(answered.responses[0]?.headers['connection']).toBe('close')
    await closing
    await idle.closed
    expect(transport.connections).toBe(0)
    await expect(
      new Promise((resolve, reject) =>
        net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject),
      ),
    ).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('UwsTransport: streamed responses', () => {
  it('sends a chunked body; onClose(true) once after end; HEAD gets the head alone', async () => {
    const closes: boolean[] = []
    const { port } = await start((req, res) => {
      const stream = res.stream(200, ['Content-Type', 'text/plain'], {
        onClose: (complete) => closes.push(complete),
      })
      stream.write('hello ')
      setTimeout(() => {
        stream.write(Buffer.from('world'))
        stream.end()
        stream.end()
      }, 20)
    })
    const { responses } = await exchange(port, get('/'), { responses: 1 })
    expect(responses[0]!.headers['transfer-encoding']).toBe('chunked')
    expect(responses[0]!.body.toString()).toBe('hello world')
    const head = await exchange(port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', {
      responses: 1,
      head: [true],
    })
    expect(head.responses[0]!.headers['transfer-encoding']).toBe('chunked')
    expect(head.responses[0]!.body.length).toBe(0)
    await sleep(20)
    expect(closes).toEqual([true, true])
  })

  it('a stream that ends while the transport closes is still well-formed chunked, then closed', async () => {
    let started = false
    const { port, transport } = await start((_req, res) => {
      started = true
      setTimeout(() => {
        const stream = res.stream(200, [], { onClose: () => {} })
        stream.write('hello ')
        setTimeout(() => {
          stream.write('world')
          stream.end()
        }, 20)
      }, 50)
    })
    const answer = exchange(port, get('/'), { timeout: 5000 })
    while (!started) await sleep(5)
    await transport.close()
    const { responses, closed, rest } = await answer
    expect(responses.map((r) => [r.status, r.headers['connection'], r.body.toString()])).toEqual([
      [200, 'close', 'hello world'],
    ])
    expect(rest.length).toBe(0)
    expect(closed).toBe(true)
  })

  it('abort() drops the connection: onClose(false) once, later writes dropped', async () => {
    const closes: boolean[] = []
    let stream: TransportStream | null = null
    const { port } = await start((_req, res) => {
      stream = res.stream(200, [], { onClose: (complete) => closes.push(complete) })
      stream.write('partial')
    })
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.resume() // read (and so see the close)
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.write(get('/'))
    while (stream === null) await sleep(5)
    const s = stream as unknown as TransportStream
    s.abort()
    await closed
    await sleep(20)
    expect(closes).toEqual([false])
    expect(s.write('x')).toBe('dropped')
  })
})

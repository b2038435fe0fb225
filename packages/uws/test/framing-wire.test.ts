// The HTTP/1 framing rules of @mummy/io-loop's kit (streamFraming, closesAfter, KnownLength) on
// the wire, through both real transports, where a rule shows in the bytes a client gets: HTTP/1.0
// and keep-alive (node:net only: uWebSockets.js answers HTTP/1.1 alone), HEAD, 204/304,
// Connection: close from either side, and known-length bodies written in two pieces split at
// every byte. The rules as functions are tested in @mummy/io-loop (framing.test.ts).
import { afterEach, describe, expect, it } from '@jest/globals'
import {
  NodeTransport,
  type ResponseWriter,
  type SendStatus,
  type Transport,
  type TransportOptions,
  type TransportRequest,
} from '@mummy/io-loop'
import { readResponses, sleep, waitFor, type WireResponse } from '@mummy/test-kit'
import net from 'node:net'
import { UwsTransport } from '../dist/index.js'

// ---- on the wire ----

const open: Transport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(500)))
})

type Make = (options: TransportOptions) => Transport
/**
 * Each transport, and whether a stream ended with `close` closes the connection itself
 * (uWebSockets.js announces Connection: close and leaves closing to the peer: its README's
 * deviation `stream-close-left-to-peer`).
 */
const MAKERS: [string, Make, boolean][] = [
  ['node', (o) => new NodeTransport(o), true],
  ['uws', (o) => new UwsTransport(o), false],
]

async function start(
  make: Make,
  onRequest: (req: TransportRequest, res: ResponseWriter) => void,
): Promise<number> {
  const transport = make({ onRequest } as TransportOptions)
  open.push(transport)
  return transport.listen(0, '127.0.0.1')
}

/** One client connection: asks, one request at a time, and knows when the server closed. */
class Client {
  readonly socket: net.Socket
  data = Buffer.alloc(0)
  used = 0
  closed = false

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.on('data', (d: Buffer) => (this.data = Buffer.concat([this.data, d])))
    this.socket.on('error', () => {})
    this.socket.on('close', () => (this.closed = true))
  }

  /** Sends `request` and returns the next response (`head`: it answers a HEAD). */
  async ask(request: string, head = false): Promise<WireResponse> {
    this.socket.write(request)
    let response: WireResponse | undefined
    await waitFor(
      () => {
        response = readResponses(this.data.subarray(this.used), [head]).responses[0]
        return response !== undefined || this.closed
      },
      5000,
      `an answer to ${JSON.stringify(request.split('\r\n')[0])}`,
    )
    if (response === undefined) throw new Error(`closed without an answer: ${this.rest()}`)
    this.used += response.raw.length
    return response
  }

  /** Sends `request`; resolves with the head and every byte after it once the server closed. */
  async askUntilClose(
    request: string,
  ): Promise<{ head: string; headers: Record<string, string>; body: string }> {
    this.socket.write(request)
    await waitFor(() => this.closed, 5000, 'the server to close')
    const all = this.data.subarray(this.used)
    const end = all.indexOf('\r\n\r\n')
    expect(end).toBeGreaterThan(0)
    const head = all.toString('latin1', 0, end)
    const headers: Record<string, string> = {}
    for (const line of head.split('\r\n').slice(1)) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
    }
    return { head, headers, body: all.toString('latin1', end + 4) }
  }

  /** Waits for the server to close; `true` when it did. */
  async waitClosed(): Promise<boolean> {
    await waitFor(() => this.closed, 5000, 'the server to close')
    return this.closed
  }

  rest(): string {
    return JSON.stringify(this.data.subarray(this.used).toString('latin1'))
  }

  destroy(): void {
    this.socket.destroy()
  }
}

const framingHeaders = (r: WireResponse): [string, string | undefined][] =>
  r.rawHeaders.filter(([name]) =>
    ['content-length', 'transfer-encoding', 'connection'].includes(name.toLowerCase()),
  )

/**
 * A server whose answers are streamed: `/<status>?<length>&<body>&close` — the status, the
 * declared length (absent: unknown), the body written in one piece, and whether the answer
 * itself asks to close.
 */
function streamingApp(req: TransportRequest, res: ResponseWriter): void {
  const [path, query = ''] = req.target.split('?')
  const [length = '', body = '', close = ''] = query.split('&')
  const stream = res.stream(
    Number(path!.slice(1)),
    ['X-Version', `1.${req.versionMinor}`],
    { onClose: () => {} },
    close === 'close',
    length === '' ? -1 : Number(length),
  )
  if (body !== '') stream.write(body)
  stream.end()
}

const GET10 = (target: string, extra = ''): string => `GET ${target} HTTP/1.0\r\n${extra}\r\n`
const KEEP10 = 'Connection: keep-alive\r\n'
const GET11 = (target: string, extra = ''): string =>
  `GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`

describe('framing on the wire: HTTP/1.0 (node:net transport)', () => {
  const make = MAKERS[0]![1]

  it('keep-alive: a streamed 204 and 304 get the head alone (no length, no chunking) and keep the connection', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    for (const status of [204, 304, 204]) {
      const r = await c.ask(GET10(`/${status}`, KEEP10))
      expect(r.status).toBe(status)
      expect(framingHeaders(r)).toEqual([['Connection', 'keep-alive']])
      expect(r.body.length).toBe(0)
    }
    // Still open: a streamed answer with a length follows on the same connection.
    const next = await c.ask(GET10('/200?5&hello', KEEP10))
    expect([next.status, next.body.toString()]).toEqual([200, 'hello'])
    expect(framingHeaders(next)).toEqual([
      ['Content-Length', '5'],
      ['Connection', 'keep-alive'],
    ])
    expect(c.closed).toBe(false)
    c.destroy()
  })

  it('keep-alive: a streamed 204 whose writer wrote a body anyway sends none of it, and keeps the connection', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    const r = await c.ask(GET10('/204?&ignored', KEEP10))
    expect([r.status, framingHeaders(r)]).toEqual([204, [['Connection', 'keep-alive']]])
    const next = await c.ask(GET10('/200?2&ok', KEEP10))
    expect(next.body.toString()).toBe('ok')
    c.destroy()
  })

  it('without keep-alive: a streamed 204 says Connection: close and closes (the request asked for it)', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    const r = await c.ask(GET10('/204'))
    expect([r.status, framingHeaders(r)]).toEqual([204, [['Connection', 'close']]])
    expect(await c.waitClosed()).toBe(true)
    expect(c.rest()).toBe('""')
  })

  it('keep-alive with a known length: Content-Length, the exact body, the connection kept', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    for (const body of ['abc', 'defgh']) {
      const r = await c.ask(GET10(`/200?${body.length}&${body}`, KEEP10))
      expect(r.body.toString()).toBe(body)
      expect(framingHeaders(r)).toEqual([
        ['Content-Length', String(body.length)],
        ['Connection', 'keep-alive'],
      ])
    }
    expect(c.closed).toBe(false)
    c.destroy()
  })

  it('keep-alive with an unknown length: no chunked coding on 1.0, so Connection: close and the body ends with the connection', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    const r = await c.askUntilClose(GET10('/200?&until-close', KEEP10))
    expect(r.head.startsWith('HTTP/1.1 200 OK')).toBe(true)
    expect(r.headers['connection']).toBe('close')
    expect(r.headers['transfer-encoding']).toBeUndefined()
    expect(r.headers['content-length']).toBeUndefined()
    expect(r.body).toBe('until-close')
  })

  it('without keep-alive, a known length: Content-Length and Connection: close, then closed', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    const r = await c.ask(GET10('/200?4&four'))
    expect(framingHeaders(r)).toEqual([
      ['Content-Length', '4'],
      ['Connection', 'close'],
    ])
    expect(r.body.toString()).toBe('four')
    expect(await c.waitClosed()).toBe(true)
  })

  it('keep-alive HEAD: a known length gets its Content-Length and keeps; an unknown one gets the close a GET would', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    const known = await c.ask(`HEAD /200?7&ignored HTTP/1.0\r\n${KEEP10}\r\n`, true)
    expect(framingHeaders(known)).toEqual([
      ['Content-Length', '7'],
      ['Connection', 'keep-alive'],
    ])
    const unknown = await c.ask(`HEAD /200?&ignored HTTP/1.0\r\n${KEEP10}\r\n`, true)
    expect(framingHeaders(unknown)).toEqual([['Connection', 'close']])
    expect(await c.waitClosed()).toBe(true)
    // No body bytes for either.
    expect(c.rest()).toBe('""')
  })

  it('keep-alive, the answer asks to close: Connection: close, then closed', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    const r = await c.ask(GET10('/200?2&ok&close', KEEP10))
    expect(framingHeaders(r)).toEqual([
      ['Content-Length', '2'],
      ['Connection', 'close'],
    ])
    expect(await c.waitClosed()).toBe(true)
  })

  it('keep-alive, a known length that ends short: the connection closes after what was written', async () => {
    const port = await start(make, streamingApp)
    const c = new Client(port)
    const r = await c.askUntilClose(GET10('/200?10&short', KEEP10))
    expect(r.headers['content-length']).toBe('10')
    expect(r.body).toBe('short')
  })
})

describe.each(MAKERS)(
  'framing on the wire: HTTP/1.1 (%s transport)',
  (_name, make, closesItself) => {
    it('streamed 204 and 304: the head alone, no framing headers, the connection kept', async () => {
      const port = await start(make, streamingApp)
      const c = new Client(port)
      for (const target of ['/204', '/304', '/204?&ignored', '/304?12&ignored']) {
        const r = await c.ask(GET11(target))
        expect([target, framingHeaders(r), r.body.length]).toEqual([target, [], 0])
      }
      expect((await c.ask(GET11('/200?2&ok'))).body.toString()).toBe('ok')
      expect(c.closed).toBe(false)
      c.destroy()
    })

    it('unknown length: chunked; known: Content-Length (0 included); one framing header each, the connection kept', async () => {
      const port = await start(make, streamingApp)
      const c = new Client(port)
      const chunked = await c.ask(GET11('/200?&abc'))
      expect([framingHeaders(chunked), chunked.body.toString()]).toEqual([
        [['Transfer-Encoding', 'chunked']],
        'abc',
      ])
      const known = await c.ask(GET11('/201?3&abc'))
      expect([known.status, framingHeaders(known), known.body.toString()]).toEqual([
        201,
        [['Content-Length', '3']],
        'abc',
      ])
      const empty = await c.ask(GET11('/200?0'))
      expect([framingHeaders(empty), empty.body.length]).toEqual([[['Content-Length', '0']], 0])
      expect(c.closed).toBe(false)
      c.destroy()
    })

    it('the request says Connection: close: the answer says so too, then the connection closes', async () => {
      const port = await start(make, streamingApp)
      for (const target of ['/200?3&abc', '/204']) {
        const c = new Client(port)
        const r = await c.ask(GET11(target, 'Connection: close\r\n'))
        expect(r.headers['connection']).toBe('close')
        expect(await c.waitClosed()).toBe(true)
      }
    })

    it('the answer asks to close: Connection: close, the whole body, then closed', async () => {
      const port = await start(make, streamingApp)
      for (const target of ['/200?&chunked-body&close', '/200?4&body&close']) {
        const c = new Client(port)
        const r = await c.ask(GET11(target))
        expect([target, r.headers['connection'], r.body.toString()]).toEqual([
          target,
          'close',
          target.split('&')[1],
        ])
        if (closesItself) expect(await c.waitClosed()).toBe(true)
        c.destroy()
      }
    })

    it('HEAD: the framing a GET would get, no body, the connection kept', async () => {
      const port = await start(make, streamingApp)
      const c = new Client(port)
      const known = await c.ask('HEAD /200?9&ignored HTTP/1.1\r\nHost: x\r\n\r\n', true)
      expect(framingHeaders(known)).toEqual([['Content-Length', '9']])
      const unknown = await c.ask('HEAD /200?&ignored HTTP/1.1\r\nHost: x\r\n\r\n', true)
      expect(framingHeaders(unknown)).toEqual([['Transfer-Encoding', 'chunked']])
      // Nothing followed the heads: the next answer parses from the first byte after them.
      expect((await c.ask(GET11('/200?2&ok'))).body.toString()).toBe('ok')
      c.destroy()
    })

    it('a known-length body written in two pieces split at every byte: exact, over (clipped, the excess dropped), kept', async () => {
      const body = 'framing!'
      const statuses: SendStatus[][] = []
      const port = await start(make, (req, res) => {
        const [length, split] = req.target.slice(1).split('/').map(Number) as [number, number]
        const stream = res.stream(200, [], { onClose: () => {} }, false, length)
        // (Empty pieces are not written: what writing nothing says is not the rule under test, and
        // the transports differ there — after the last byte of the length, uWebSockets.js's
        // stream is over and says `dropped`, node:net's says `sent`.)
        const pieces = [body.slice(0, split), body.slice(split)]
        statuses.push(pieces.map((piece) => (piece === '' ? 'sent' : stream.write(piece))))
        stream.end()
      })
      const c = new Client(port)
      for (const length of [body.length, 5, 0]) {
        for (let split = 0; split <= body.length; split++) {
          statuses.length = 0
          const r = await c.ask(GET11(`/${length}/${split}`))
          const where = { length, split }
          expect({ ...where, got: r.body.toString(), framing: framingHeaders(r) }).toEqual({
            ...where,
            got: body.slice(0, length),
            framing: [['Content-Length', String(length)]],
          })
          // A piece that went past the length says so; one that fit does not.
          const [a, b] = statuses[0]!
          expect({ ...where, a: a === 'dropped', b: b === 'dropped' }).toEqual({
            ...where,
            a: split > length,
            b: body.length - split > Math.max(0, length - split),
          })
        }
      }
      expect(c.closed).toBe(false)
      c.destroy()
    })

    it('a known-length body that ends short, split at every byte: the bytes written, then the connection closes', async () => {
      const body = 'short'
      const closes: boolean[] = []
      const port = await start(make, (req, res) => {
        const split = Number(req.target.slice(1))
        const stream = res.stream(
          200,
          [],
          { onClose: (complete) => closes.push(complete) },
          false,
          body.length + 3,
        )
        stream.write(body.slice(0, split))
        stream.write(body.slice(split))
        // Ended in the very callback that wrote it (and, for the odd splits, a turn later):
        // the head and the pieces leave before the connection closes either way.
        if (split % 2 === 0) stream.end()
        else setImmediate(() => stream.end())
      })
      for (let split = 0; split <= body.length; split++) {
        const c = new Client(port)
        const r = await c.askUntilClose(GET11(`/${split}`))
        expect([split, r.headers['content-length'], r.body]).toEqual([
          split,
          String(body.length + 3),
          body,
        ])
      }
      // Each stream is over once. (Whether a short one counts as complete differs: node:net
      // reports true — it was ended and what it had was written — uWebSockets.js false.)
      await waitFor(() => closes.length === body.length + 1, 2000, 'every stream to be over')
      await sleep(20)
      expect(closes).toHaveLength(body.length + 1)
    })
  },
)

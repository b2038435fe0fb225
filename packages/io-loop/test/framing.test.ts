// The HTTP/1 framing rules (http1/framing.ts), first as functions — every branch of
// streamFraming, closesAfter and KnownLength — then on the wire, through real transports, where
// a rule shows in the bytes a client gets: HTTP/1.0 and keep-alive (node:net only: uWebSockets.js
// answers HTTP/1.1 alone), HEAD, 204/304, Connection: close from either side, and known-length
// bodies written in two pieces split at every byte.
//
// A user's own `Transfer-Encoding` or `Content-Length` never reaches these rules: the transport's
// headers are validated by its caller (the server drops those names, request.ts MANAGED), and
// framing is decided from the status, the version and the length alone — which the functions'
// signatures show, and the wire tests confirm (one framing header each, the one the rule chose).
import { afterEach, describe, expect, it } from '@jest/globals'
import { readResponses, sleep, waitFor, type WireResponse } from '@mummy/test-kit'
import net from 'node:net'
import { KnownLength, closesAfter, streamFraming } from '../dist/http1/framing.js'
import { NodeTransport } from '../dist/node-transport.js'
import type {
  ResponseWriter,
  SendStatus,
  Transport,
  TransportOptions,
  TransportRequest,
} from '../dist/transport.js'
import { UwsTransport } from '../dist/uws-transport.js'

const BODYLESS = [100, 101, 102, 103, 150, 199, 204, 304]
const BODIED = [200, 201, 202, 203, 205, 206, 299, 300, 301, 303, 305, 307, 400, 404, 500, 599]

describe('streamFraming', () => {
  it.each(BODYLESS)('%i: none, whatever the version and length', (status) => {
    for (const minor of [0, 1] as const)
      for (const length of [-1, 0, 1, 10, 2 ** 40]) {
        expect([minor, length, streamFraming(status, minor, length)]).toEqual([
          minor,
          length,
          'none',
        ])
      }
  })

  it.each(BODIED)('%i: length when known (0 included), else chunked (1.1) or close (1.0)', (s) => {
    for (const length of [0, 1, 65_536, 2 ** 40]) {
      expect(streamFraming(s, 1, length)).toBe('length')
      expect(streamFraming(s, 0, length)).toBe('length')
    }
    expect(streamFraming(s, 1, -1)).toBe('chunked')
    expect(streamFraming(s, 0, -1)).toBe('close')
  })

  it('the edges of the bodyless range: 199 has no body, 200 has; 203 and 205 have, 204 not; 303/305 have, 304 not', () => {
    const at = (status: number): string => streamFraming(status, 1, -1)
    expect([199, 200, 203, 204, 205, 303, 304, 305].map(at)).toEqual([
      'none',
      'chunked',
      'chunked',
      'none',
      'chunked',
      'chunked',
      'none',
      'chunked',
    ])
  })

  it('a streamed 204 or 304 on HTTP/1.0 is not close-delimited: it has no body to delimit', () => {
    // (What keeps an HTTP/1.0 keep-alive connection open after one: see the wire tests.)
    expect(streamFraming(204, 0, -1)).toBe('none')
    expect(streamFraming(304, 0, -1)).toBe('none')
    expect(streamFraming(200, 0, -1)).toBe('close')
  })
})

describe('closesAfter', () => {
  it('closes when any reason holds, and only then (all 16 combinations)', () => {
    for (let bits = 0; bits < 16; bits++) {
      const keepAlive = (bits & 1) !== 0
      const refusedUpgrade = (bits & 2) !== 0
      const serverClosing = (bits & 4) !== 0
      const answerCloses = (bits & 8) !== 0
      const expected = !keepAlive || refusedUpgrade || serverClosing || answerCloses
      expect([bits, closesAfter(keepAlive, refusedUpgrade, serverClosing, answerCloses)]).toEqual([
        bits,
        expected,
      ])
    }
    // The one combination that keeps the connection:
    expect(closesAfter(true, false, false, false)).toBe(false)
  })
})

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8')
const text = (chunk: Uint8Array | string): string =>
  typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1')

describe('KnownLength', () => {
  it('unknown length (-1): every piece passes whole, the same object, strings stay strings; never cut or short', () => {
    const body = new KnownLength(-1)
    expect([body.length, body.remaining, body.short, body.cut]).toEqual([-1, 0, false, false])
    const piece = bytes('hello')
    expect(body.clip(piece)).toBe(piece)
    expect(body.clip('wörld')).toBe('wörld')
    expect(body.clip('')).toBe('')
    const big = Buffer.alloc(1 << 20)
    expect(body.clip(big)).toBe(big)
    expect([body.remaining, body.short, body.cut]).toEqual([0, false, false])
  })

  it('length 0: nothing passes; a non-empty piece is cut, an empty one is not; never short', () => {
    const body = new KnownLength(0)
    expect([body.remaining, body.short]).toEqual([0, false])
    expect(body.clip('x')).toHaveLength(0)
    expect(body.cut).toBe(true)
    expect(body.clip(bytes(''))).toHaveLength(0)
    expect(body.cut).toBe(false)
    expect(body.clip(bytes('abc'))).toHaveLength(0)
    expect(body.cut).toBe(true)
    expect(body.short).toBe(false)
  })

  it('exact: pieces that add up to the length pass whole (the same bytes); then neither short nor cut', () => {
    const body = new KnownLength(10)
    expect([body.remaining, body.short]).toEqual([10, true])
    const a = bytes('abcd')
    expect(body.clip(a)).toBe(a)
    expect([body.remaining, body.cut, body.short]).toEqual([6, false, true])
    const b = bytes('efghij')
    expect(body.clip(b)).toBe(b)
    expect([body.remaining, body.cut, body.short]).toEqual([0, false, false])
    // An empty piece at the end is not a cut.
    expect(body.clip('')).toHaveLength(0)
    expect([body.remaining, body.cut, body.short]).toEqual([0, false, false])
  })

  it('over: the piece that crosses the length is cut to it (a view of its bytes), later pieces are dropped whole', () => {
    const body = new KnownLength(5)
    expect(text(body.clip('abc'))).toBe('abc')
    expect(body.cut).toBe(false)
    const crossing = bytes('defgh')
    const clipped = body.clip(crossing) as Uint8Array
    expect(text(clipped)).toBe('de')
    expect(clipped.buffer).toBe(crossing.buffer)
    expect(clipped.byteOffset).toBe(crossing.byteOffset)
    expect([body.remaining, body.cut, body.short]).toEqual([0, true, false])
    expect(body.clip('more')).toHaveLength(0)
    expect(body.cut).toBe(true)
    // `cut` describes the last clip only.
    expect(body.clip('')).toHaveLength(0)
    expect(body.cut).toBe(false)
  })

  it('short: an end before the length is told by `short`, with what is missing in `remaining`', () => {
    const body = new KnownLength(100)
    body.clip(Buffer.alloc(30))
    body.clip('x'.repeat(30))
    expect([body.remaining, body.short, body.cut]).toEqual([40, true, false])
    body.clip(Buffer.alloc(39))
    expect([body.remaining, body.short]).toEqual([1, true])
    body.clip('z')
    expect([body.remaining, body.short]).toEqual([0, false])
  })

  it('strings are counted in UTF-8 bytes and come back as bytes; a cut may fall inside a character', () => {
    const body = new KnownLength(4)
    // 'a' (1 byte), 'é' (2), '€' (3): 6 bytes.
    const clipped = body.clip('aé€')
    expect(typeof clipped).not.toBe('string')
    expect(Buffer.from(clipped as Uint8Array)).toEqual(Buffer.from('aé€').subarray(0, 4))
    expect([body.remaining, body.cut, body.short]).toEqual([0, true, false])

    const exact = new KnownLength(6)
    expect(Buffer.from(exact.clip('aé€') as Uint8Array).toString('utf8')).toBe('aé€')
    expect([exact.remaining, exact.cut, exact.short]).toEqual([0, false, false])
  })

  it('two pieces split at every byte, for every length from 0 to past the body: the first `length` bytes, cut and short as they should be', () => {
    const body = bytes('0123456789abcdef')
    const n = body.length
    for (let length = 0; length <= n + 3; length++) {
      for (let split = 0; split <= n; split++) {
        for (const asString of [false, true]) {
          const known = new KnownLength(length)
          const first = asString
            ? body.subarray(0, split).toString('latin1')
            : body.subarray(0, split)
          const second = asString ? body.subarray(split).toString('latin1') : body.subarray(split)
          const a = known.clip(first)
          const cutA = known.cut
          const b = known.clip(second)
          const cutB = known.cut
          const got = text(a) + text(b)
          const where = { length, split, asString }
          expect({ ...where, got }).toEqual({
            ...where,
            got: body.subarray(0, Math.min(length, n)).toString('latin1'),
          })
          expect({ ...where, cutA, cutB }).toEqual({
            ...where,
            cutA: split > length,
            cutB: n - split > Math.max(0, length - split),
          })
          expect({ ...where, remaining: known.remaining, short: known.short }).toEqual({
            ...where,
            remaining: Math.max(0, length - n),
            short: length > n,
          })
        }
      }
    }
  })

  it('three pieces split at every pair of bytes: the same bytes and the same end as one piece', () => {
    const body = bytes('abcdefghij')
    const n = body.length
    for (const length of [0, 3, n - 1, n, n + 1]) {
      for (let i = 0; i <= n; i++)
        for (let j = i; j <= n; j++) {
          const known = new KnownLength(length)
          const got = [body.subarray(0, i), body.subarray(i, j), body.subarray(j)]
            .map((piece) => text(known.clip(piece)))
            .join('')
          const where = { length, i, j }
          expect({ ...where, got, short: known.short }).toEqual({
            ...where,
            got: body.subarray(0, Math.min(length, n)).toString('latin1'),
            short: length > n,
          })
        }
    }
  })
})

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

// Streamed responses of a known length (`Content-Length` instead of chunked) on both
// transports: exact framing, keep-alive after them, backpressure with a slow reader, HEAD, and
// what happens when the writer gets the length wrong.
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'
import { afterEach, describe, expect, it } from '@jest/globals'
import { exchange, get, readResponses, sleep, waitFor } from '@mummy/test-kit'
import { NodeTransport } from './node-transport.js'
import type {
  ResponseWriter,
  Transport,
  TransportOptions,
  TransportRequest,
  TransportStream,
} from './transport.js'
import type { SendStatus } from './websocket.js'
import { UwsTransport } from './uws-transport.js'

const open: Transport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(500)))
})

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

const KINDS: [string, typeof NodeTransport | typeof UwsTransport][] = [
  ['node', NodeTransport],
  ['uws', UwsTransport],
]

describe.each(KINDS)('streams of a known length (%s transport)', (_name, Kind) => {
  async function start(
    onRequest: (req: TransportRequest, res: ResponseWriter) => void,
  ): Promise<{ transport: Transport; port: number }> {
    const options: Partial<TransportOptions> & Pick<TransportOptions, 'onRequest'> = {
      onRequest,
    }
    const transport = new Kind(options)
    open.push(transport)
    return { transport, port: await transport.listen(0, '127.0.0.1') }
  }

  /** Writes `body` in `piece`-sized writes, waiting for drain when told `buffered`. */
  function pipe(
    stream: TransportStream,
    body: Buffer,
    piece: number,
    drained: () => Promise<void>,
  ) {
    return (async () => {
      for (let at = 0; at < body.length; at += piece) {
        const status: SendStatus = stream.write(body.subarray(at, at + piece))
        if (status === 'dropped') return
        if (status === 'buffered' && stream.bufferedAmount > 1024 * 1024) await drained()
      }
      stream.end()
    })()
  }

  it('sends Content-Length, no chunking, the exact bytes; the connection is kept for the next request', async () => {
    const closes: boolean[] = []
    const { port } = await start((req, res) => {
      if (req.target === '/next') {
        res.end(200, [], 'next')
        return
      }
      const stream = res.stream(
        200,
        ['Content-Type', 'text/plain'],
        { onClose: (c) => closes.push(c) },
        false,
        11,
      )
      stream.write('hello ')
      setTimeout(() => {
        stream.write('world')
        stream.end()
      }, 10)
    })
    // (One after the other: uWebSockets.js closes a connection that pipelines behind a pending
    // answer.)
    const socket = net.connect(port, '127.0.0.1')
    const parts: Buffer[] = []
    socket.on('data', (d: Buffer) => parts.push(d))
    const count = (): number => readResponses(Buffer.concat(parts)).responses.length
    socket.write(get('/'))
    await waitFor(() => count() === 1, 3000, 'the first answer')
    socket.write(get('/next'))
    await waitFor(() => count() === 2, 3000, 'the second answer')
    const { responses } = readResponses(Buffer.concat(parts))
    socket.destroy()
    expect(responses.map((r) => r.body.toString())).toEqual(['hello world', 'next'])
    expect(responses[0]!.headers['content-length']).toBe('11')
    expect(responses[0]!.headers['transfer-encoding']).toBeUndefined()
    await sleep(20)
    expect(closes).toEqual([true])
  })

  it('a slow reader: 24 MiB in 64 KiB writes arrive whole; bufferedAmount and onDrain pace the writer', async () => {
    const body = randomBytes(24 * 1024 * 1024)
    let maxBuffered = 0
    const { port } = await start((_req, res) => {
      let wake: (() => void) | null = null
      const stream: TransportStream = res.stream(
        200,
        [],
        {
          onDrain: () => wake?.(),
          onClose: () => wake?.(),
        },
        false,
        body.length,
      )
      const drained = (): Promise<void> =>
        new Promise<void>((resolve) => {
          maxBuffered = Math.max(maxBuffered, stream.bufferedAmount)
          wake = resolve
        })
      void pipe(stream, body, 64 * 1024, drained)
    })
    const socket = net.connect(port, '127.0.0.1')
    const parts: Buffer[] = []
    socket.on('data', (d: Buffer) => {
      parts.push(d)
      // Read slowly: pause a little now and then.
      if (parts.length % 16 === 0) {
        socket.pause()
        setTimeout(() => socket.resume(), 5)
      }
    })
    socket.write(get('/'))
    await waitFor(
      () => {
        const data = Buffer.concat(parts)
        return readResponses(data).responses.length === 1
      },
      30_000,
      'the whole body',
    )
    socket.destroy()
    const { responses } = readResponses(Buffer.concat(parts))
    expect(responses[0]!.headers['content-length']).toBe(String(body.length))
    expect(sha(responses[0]!.body)).toBe(sha(body))
    // The writer was held back rather than queueing the whole body.
    expect(maxBuffered).toBeLessThan(8 * 1024 * 1024)
  }, 40_000)

  it('HEAD gets the Content-Length a GET would, and no body; the connection is kept', async () => {
    const { port } = await start((req, res) => {
      if (req.target === '/next') {
        res.end(200, [], 'next')
        return
      }
      const stream = res.stream(200, [], { onClose: () => {} }, false, 1234)
      expect(stream.write('x')).toBe('dropped')
      stream.end()
    })
    const { responses, closed } = await exchange(
      port,
      'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n' + get('/next'),
      { responses: 2, head: [true, false], timeout: 3000 },
    )
    expect(responses[0]!.headers['content-length']).toBe('1234')
    expect(responses[0]!.headers['transfer-encoding']).toBeUndefined()
    expect(responses[1]!.body.toString()).toBe('next')
    expect(closed).toBe(false)
  })

  it('bytes past the length are dropped (write says so); the response stays well-framed', async () => {
    const statuses: SendStatus[] = []
    const { port } = await start((req, res) => {
      if (req.target === '/next') {
        res.end(200, [], 'next')
        return
      }
      const stream = res.stream(200, [], { onClose: () => {} }, false, 5)
      statuses.push(stream.write('abc'), stream.write('defgh'), stream.write('more'))
      stream.end()
    })
    const { responses } = await exchange(port, get('/') + get('/next'), {
      responses: 2,
      timeout: 3000,
    })
    expect(responses.map((r) => r.body.toString())).toEqual(['abcde', 'next'])
    expect(statuses[0]).not.toBe('dropped')
    expect(statuses.slice(1)).toEqual(['dropped', 'dropped'])
  })

  it('a stream that ends short of its length closes the connection (the client sees it truncated)', async () => {
    const closes: boolean[] = []
    const { port } = await start((_req, res) => {
      const stream = res.stream(200, [], { onClose: (c) => closes.push(c) }, false, 100)
      stream.write('only ten b')
      setTimeout(() => stream.end(), 10)
    })
    const socket = net.connect(port, '127.0.0.1')
    let data = ''
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')))
    socket.on('error', () => {})
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.write(get('/'))
    await closed
    expect(data).toMatch(/^HTTP\/1\.1 200 /)
    expect(data.toLowerCase()).toContain('content-length: 100')
    expect(data.endsWith('only ten b')).toBe(true)
    await sleep(20)
    expect(closes).toHaveLength(1)
  })

  it('length 0: an empty body, and the connection kept', async () => {
    const { port } = await start((req, res) => {
      if (req.target === '/next') {
        res.end(200, [], 'next')
        return
      }
      const stream = res.stream(200, [], { onClose: () => {} }, false, 0)
      stream.end()
    })
    const { responses, closed } = await exchange(port, get('/') + get('/next'), {
      responses: 2,
      timeout: 3000,
    })
    expect(responses[0]!.headers['content-length']).toBe('0')
    expect(responses[0]!.body.length).toBe(0)
    expect(responses[1]!.body.toString()).toBe('next')
    expect(closed).toBe(false)
  })
})

import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { exchange, get, rawExchange, sleep, waitFor } from '@mummy/test-kit'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/app.js', import.meta.url)

/** GET over node:http (a real client that decodes chunked bodies); the body as one Buffer. */
function fetchBody(
  port: number,
  target: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
        const parts: Buffer[] = []
        res.on('data', (d: Buffer) => parts.push(d))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
          }),
        )
        res.on('error', reject)
      })
      .on('error', reject)
  })
}

describe.each(TRANSPORTS)('streamed responses (%s transport)', (transport) => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer({
      transport,
      app: APP,
      workers: 2,
      maxBackpressure: 1024 * 1024,
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
    port = server.port
  })
  afterAll(() => server.close())

  it('sends a chunked body, byte for byte, and keeps the connection for the next request', async () => {
    const socket = net.connect(port, '127.0.0.1')
    let data = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])))
    socket.write(get('/stream/count/3'))
    await waitFor(() => data.includes('0\r\n\r\n'), 5000, 'the last chunk')
    const text = data.toString('latin1')
    const [head, body] = text.split('\r\n\r\n', 2) as [string, string]
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked')
    expect(head.toLowerCase()).not.toContain('content-length')
    // Chunked framing, byte for byte: size in hex, CRLF, bytes, CRLF … then the last chunk and
    // no trailers. (Pieces written together may share a chunk.)
    let rest = text.slice(head.length + 4)
    let decoded = ''
    for (;;) {
      const m = /^([0-9a-f]+)\r\n/.exec(rest)
      expect(m).not.toBeNull()
      const size = parseInt(m![1]!, 16)
      rest = rest.slice(m![0].length)
      if (size === 0) break
      decoded += rest.slice(0, size)
      expect(rest.slice(size, size + 2)).toBe('\r\n')
      rest = rest.slice(size + 2)
    }
    expect(rest).toBe('\r\n')
    expect(decoded).toBe('line 1\nline 2\nline 3\n')
    expect(body.length).toBeGreaterThan(0)
    data = Buffer.alloc(0)
    socket.write(get('/fast'))
    await waitFor(() => data.includes('fast'), 5000, 'the next response on the same connection')
    socket.destroy()
  })

  it('streams 32 MiB paced on its backlog: every byte arrives, in order', async () => {
    const { status, headers, body } = await fetchBody(port, '/stream/big/32')
    expect(status).toBe(200)
    expect(headers['transfer-encoding']).toBe('chunked')
    expect(body.length).toBe(32 * 1024 * 1024)
    const expected = createHash('sha256')
    for (let i = 0; i < 32 * 16; i++) expected.update(Buffer.alloc(64 * 1024, i % 251))
    expect(createHash('sha256').update(body).digest('hex')).toBe(expected.digest('hex'))
  })

  it('drained(0) resolves once small pieces are gone (no drain event needed)', async () => {
    const { body } = await fetchBody(port, '/stream/drained/50')
    expect(body.toString()).toBe('x'.repeat(5000))
  })

  it('answers HEAD with the head a GET gets and no body; the connection stays usable', async () => {
    const { responses, rest } = await exchange(
      port,
      'HEAD /stream/count/3 HTTP/1.1\r\nHost: x\r\n\r\n',
      {
        responses: 1,
        head: [true],
      },
    )
    expect(responses[0]!.status).toBe(200)
    expect(responses[0]!.headers['transfer-encoding']).toBe('chunked')
    expect(responses[0]!.body.length).toBe(0)
    expect(rest.length).toBe(0)
  })

  it('gives a 204 its head alone: writes are dropped', async () => {
    const { responses } = await exchange(port, get('/stream/status/204'), { responses: 1 })
    expect(responses[0]!.status).toBe(204)
    expect(responses[0]!.headers['x-streamed']).toBe('yes')
    expect(responses[0]!.headers['transfer-encoding']).toBeUndefined()
    expect(responses[0]!.body.length).toBe(0)
  })

  it('is written to and ended from other requests (any worker) by its id', async () => {
    const socket = net.connect(port, '127.0.0.1')
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => (data += d))
    socket.write(get('/stream/open'))
    await waitFor(() => /id:\d+\n/.test(data), 5000, 'the stream id')
    const id = /id:(\d+)\n/.exec(data)![1]!
    const statuses: string[] = []
    for (let i = 0; i < 20; i++) {
      const res = await fetchBody(port, `/stream/write/${id}/piece${i}`)
      statuses.push(res.body.toString())
    }
    expect(statuses.every((s) => s === 'sent' || s === 'buffered')).toBe(true)
    expect((await fetchBody(port, `/stream/end/${id}`)).body.toString()).toBe('ended')
    await waitFor(() => data.endsWith('0\r\n\r\n'), 5000, 'the end of the stream')
    const body = data
      .split('\r\n\r\n')
      .slice(1)
      .join('\r\n\r\n')
      .split('\r\n')
      .filter((_, i) => i % 2 === 1)
      .join('')
    expect(body).toBe(
      `id:${id}\n` + Array.from({ length: 20 }, (_, i) => `piece${i}\n`).join('') + 'end\n',
    )
    // Once ended, the id is dead: a write reports it.
    expect((await fetchBody(port, `/stream/write/${id}/late`)).body.toString()).toBe('dropped')
    socket.destroy()
  })

  it('tells the handler when the client has left (write → dropped); others keep being served', async () => {
    const token = `mummy-gone-${randomBytes(6).toString('hex')}`
    const file = path.join(os.tmpdir(), token)
    const socket = net.connect(port, '127.0.0.1')
    let seen = ''
    socket.on('data', (d: Buffer) => (seen += d.toString('latin1')))
    socket.write(get(`/stream/until-gone/${token}`))
    await waitFor(() => seen.includes('tick 3'), 5000, 'a few ticks')
    socket.destroy()
    await waitFor(() => fs.existsSync(file), 5000, 'the handler to see the client gone')
    const writes = Number(fs.readFileSync(file, 'utf8'))
    fs.unlinkSync(file)
    expect(writes).toBeGreaterThanOrEqual(3)
    expect((await fetchBody(port, '/fast')).body.toString()).toBe('fast')
  })

  it('closes the connection of a client that does not read while the handler floods it; memory stays bounded', async () => {
    const socket = net.connect(port, '127.0.0.1')
    socket.pause() // does not read (until the end, to see what it got)
    let received = 0
    let data: Buffer = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      received += d.length
      data = d.length > 16 ? d.subarray(d.length - 16) : Buffer.concat([data, d]).subarray(-16)
    })
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.on('error', () => {})
    const rss0 = process.memoryUsage().rss
    socket.write(get('/stream/flood/256'))
    // The handler writes 256 MiB at once; maxBackpressure is 1 MiB.
    await sleep(2000)
    const grown = (process.memoryUsage().rss - rss0) / 1024 / 1024
    console.log(
      `${transport}: RSS growth while flooding a non-reader with 256 MiB: ${grown.toFixed(1)} MiB`,
    )
    expect(grown).toBeLessThan(100)
    socket.resume()
    await Promise.race([
      closed,
      sleep(10_000).then(() => {
        throw new Error('the flooded connection was not closed')
      }),
    ])
    // Cut short: far less than the body, and no last chunk.
    expect(received).toBeLessThan(64 * 1024 * 1024)
    expect(data.toString('latin1').endsWith('0\r\n\r\n')).toBe(false)
    expect((await fetchBody(port, '/fast')).body.toString()).toBe('fast')
  }, 30_000)
})

describe('streamed responses and handlerTimeout', () => {
  it('a handler that keeps streaming past handlerTimeout is neither cut off nor has its worker replaced', async () => {
    const logs: string[] = []
    const server = createServer({
      app: APP,
      workers: 1,
      handlerTimeout: 200,
      logHandler: (level, message) => logs.push(`${level} ${message}`),
    })
    await server.listen(0, '127.0.0.1')
    try {
      const { body } = await fetchBody(server.port, '/stream/slow/1000')
      expect(body.toString().endsWith('done\n')).toBe(true)
      expect(body.length).toBeGreaterThan(10)
      expect((await fetchBody(server.port, '/fast')).body.toString()).toBe('fast')
      expect(logs.filter((l) => /timeout|exited|replac/i.test(l))).toEqual([])
    } finally {
      await server.close()
    }
  })
})

describe('streamed responses (node transport): HTTP/1.0, pipelining, inline mode', () => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer({ app: APP, workers: 2, logHandler: () => {} })
    await server.listen(0, '127.0.0.1')
    port = server.port
  })
  afterAll(() => server.close())

  it('ends an HTTP/1.0 body by closing the connection (no chunked coding)', async () => {
    const { data, closed } = await rawExchange(port, 'GET /stream/count/2 HTTP/1.0\r\n\r\n', {
      timeout: 5000,
    })
    const text = data.toString('latin1')
    expect(closed).toBe(true)
    expect(text.toLowerCase()).not.toContain('transfer-encoding')
    expect(text.toLowerCase()).toContain('connection: close')
    expect(text.endsWith('\r\n\r\nline 1\nline 2\n')).toBe(true)
  })

  it('answers requests pipelined behind a stream after it, in order', async () => {
    const { responses } = await exchange(
      port,
      get('/stream/count/2') + get('/fast') + get('/stream/count/1') + get('/fast'),
      { responses: 4, timeout: 5000 },
    )
    expect(responses.map((r) => r.body.toString())).toEqual([
      'line 1\nline 2\n',
      'fast',
      'line 1\n',
      'fast',
    ])
  })

  it('streams in inline mode (workers: 0)', async () => {
    const inline = createServer({ app: APP, workers: 0, logHandler: () => {} })
    await inline.listen(0, '127.0.0.1')
    try {
      const { body, headers } = await fetchBody(inline.port, '/stream/count/3')
      expect(headers['transfer-encoding']).toBe('chunked')
      expect(body.toString()).toBe('line 1\nline 2\nline 3\n')
      const big = await fetchBody(inline.port, '/stream/big/4')
      expect(big.body.length).toBe(4 * 1024 * 1024)
    } finally {
      await inline.close()
    }
  })
})

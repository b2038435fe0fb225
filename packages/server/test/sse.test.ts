import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { waitFor } from '@mummy/test-kit'
import { SseParser, type ParsedEvent } from '@mummy/sse'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/app.js', import.meta.url)

interface Client {
  status: number
  headers: http.IncomingHttpHeaders
  events: ParsedEvent[]
  parser: SseParser
  /** Every byte of the body, as text. */
  raw: () => string
  ended: Promise<void>
  close: () => void
  /** Stops reading (the server's writes back up). */
  pause: () => void
}

/** Opens an event stream with node:http (a real client: it decodes the chunked body). */
function openSse(
  port: number,
  target: string,
  headers: http.OutgoingHttpHeaders = {},
  /** Keep only the first 100 characters of each event's data, and no raw text (big streams). */
  light = false,
): Promise<Client> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: target,
        agent: false,
        headers: { Accept: 'text/event-stream', ...headers },
      },
      (res) => {
        const events: ParsedEvent[] = []
        const parser = new SseParser(
          (e) => events.push(light ? { ...e, data: e.data.slice(0, 100) } : e),
          { maxEventLen: 16 * 1024 * 1024 },
        )
        let raw = ''
        const ended = new Promise<void>((done) => {
          res.on('end', done)
          res.on('close', done)
        })
        res.on('data', (d: Buffer) => {
          if (!light) raw += d.toString()
          parser.feed(d)
        })
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          parser,
          raw: () => raw,
          ended,
          close: () => req.destroy(),
          pause: () => res.socket.pause(),
        })
      },
    )
    req.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error)
    })
  })
}

function getText(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve(body))
      })
      .on('error', reject)
  })
}

/** The stream id the fixture puts in its greeting (`hello\nfrom <id>`). */
function streamId(client: Client): number {
  return Number(/from (\d+)/.exec(client.events[0]!.data)![1])
}

function closedMarker(id: number): string {
  return path.join(os.tmpdir(), `mummy-sse-close-${id}`)
}

describe.each(TRANSPORTS)('server-sent events (%s transport)', (transport) => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer({
      transport,
      app: APP,
      workers: 2,
      sseHeartbeat: 300,
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
    port = server.port
  })
  afterAll(() => server.close())

  it('answers with an event stream: headers, events with type, id, retry and multi-line data', async () => {
    const client = await openSse(port, '/sse/hello')
    expect(client.status).toBe(200)
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    // A header the handler gave replaces the default; others are added.
    expect(client.headers['cache-control']).toBe('no-store')
    expect(client.headers['x-accel-buffering']).toBe('no')
    expect(client.headers['x-mine']).toBe('yes')
    expect(client.headers['content-length']).toBeUndefined()
    await waitFor(() => client.events.length >= 2, 5000, 'the first events')
    expect(client.events[0]).toEqual({
      type: 'greeting',
      data: `hello\nfrom ${streamId(client)}`,
      lastEventId: '1',
    })
    expect(client.events[1]).toEqual({ type: 'message', data: 'last:none', lastEventId: '1' })
    expect(client.parser.retry).toBe(500)
    // The stream opened with a comment, so the client saw it open before any event.
    expect(client.raw().startsWith(':\n')).toBe(true)
    client.close()
  })

  it('gives the handler the Last-Event-ID of a reconnecting client', async () => {
    const client = await openSse(port, '/sse/hello', { 'Last-Event-ID': '42' })
    await waitFor(() => client.events.length >= 2, 5000, 'the events')
    expect(client.events[1]!.data).toBe('last:42')
    client.close()
  })

  it('delivers publishes to subscribed streams (from a worker and from the IO thread) and forgets the ones that left', async () => {
    const a = await openSse(port, '/sse/hello?topic=news')
    const b = await openSse(port, '/sse/hello?topic=news')
    await waitFor(
      () => [a, b].every((c) => c.events.some((e) => e.type === 'subscribed')),
      5000,
      'both subscribed',
    )
    expect(await getText(port, '/sse/publish/news/from-a-worker')).toBe('published')
    expect(server.publish('news', 'from the IO thread\nin two lines')).toBe(2)
    for (const c of [a, b]) {
      await waitFor(() => c.events.length >= 5, 5000, 'the published events')
      expect(c.events.slice(3).map((e) => [e.type, e.data])).toEqual([
        ['message', 'from-a-worker'],
        ['message', 'from the IO thread\nin two lines'],
      ])
    }
    // Binary publishes are for WebSockets only.
    expect(server.publish('news', Buffer.from([1, 2, 3]))).toBe(0)
    // publishEvent keeps the event's type and id (from a worker, and from the IO thread).
    expect(await getText(port, '/sse/publish-event/news/77/named-one')).toBe('published')
    expect(server.publishEvent('news', { event: 'io', id: '78', data: 'two' })).toBe(2)
    for (const c of [a, b]) {
      await waitFor(() => c.events.length >= 7, 5000, 'the published events')
      expect(c.events.slice(5)).toEqual([
        { type: 'named', data: 'named-one', lastEventId: '77' },
        { type: 'io', data: 'two', lastEventId: '78' },
      ])
    }
    a.close()
    await waitFor(
      () => server.publish('news', 'ping') === 1,
      5000,
      'the closed stream to be forgotten',
    )
    b.close()
  })

  it('is written to from any worker by its id; the end reaches sseHandler; writes after it are dropped', async () => {
    const client = await openSse(port, '/sse/hello')
    await waitFor(() => client.events.length >= 2, 5000, 'the greeting')
    const id = streamId(client)
    expect(['sent', 'buffered']).toContain(await getText(port, `/sse/send/${id}/hi`))
    await waitFor(() => client.events.length >= 3, 5000, 'the direct event')
    expect(client.events[2]).toMatchObject({ type: 'direct', data: 'hi' })
    client.close()
    await waitFor(() => fs.existsSync(closedMarker(id)), 5000, 'sseHandler to see the close')
    fs.unlinkSync(closedMarker(id))
    expect(await getText(port, `/sse/send/${id}/late`)).toBe('dropped')
  })

  it('stream.close() ends the response after its events; sseHandler hears of it', async () => {
    const client = await openSse(port, '/sse/hello?close-after=3')
    await client.ended
    const id = streamId(client)
    expect(client.events.slice(2).map((e) => [e.data, e.lastEventId])).toEqual([
      ['event 0', '2'],
      ['event 1', '3'],
      ['event 2', '4'],
    ])
    await waitFor(() => fs.existsSync(closedMarker(id)), 5000, 'sseHandler to see the end')
    fs.unlinkSync(closedMarker(id))
  })

  it('drops a subscriber that stops reading (past maxBackpressure) while the others get everything; memory stays bounded', async () => {
    const reader = await openSse(port, '/sse/hello?topic=firehose', {}, true)
    const stalled = await openSse(port, '/sse/hello?topic=firehose', {}, true)
    await waitFor(
      () => [reader, stalled].every((c) => c.events.some((e) => e.type === 'subscribed')),
      5000,
      'both subscribed',
    )
    stalled.pause()
    const rss0 = process.memoryUsage().rss
    const text = 'x'.repeat(64 * 1024)
    let sent = 0
    let droppedAt = -1
    // 1,000 × 64 KiB = 62.5 MiB to each subscriber; maxBackpressure is the default 1 MiB.
    for (let i = 0; i < 1000; i++) {
      if (server.publish('firehose', text) === 1 && droppedAt < 0) droppedAt = i
      sent++
      // Paced by the reader (every 10 × 64 KiB, below maxBackpressure, it must have caught up to
      // within 10 events), so that a machine busy with other suites cannot make the reader
      // itself fall past the limit; the stalled client never reads and is dropped all the same.
      if (i % 10 === 9)
        await waitFor(() => reader.events.length >= 3 + sent - 10, 20_000, 'the reader to keep up')
    }
    await waitFor(() => reader.events.length >= 3 + sent, 20_000, 'the reader to get every event')
    const grown = (process.memoryUsage().rss - rss0) / 1024 / 1024
    console.log(
      `${transport}: stalled SSE client dropped at message ${droppedAt} (of 1,000 × 64 KiB); ` +
        `RSS growth (server and both clients, garbage included) ${grown.toFixed(1)} MiB`,
    )
    // What the stalled client holds back is bounded by maxBackpressure plus the kernel's socket
    // buffers: it is dropped long before the 62.5 MiB are published, not kept in memory.
    expect(droppedAt).toBeGreaterThan(0)
    expect(droppedAt).toBeLessThan(200)
    expect(grown).toBeLessThan(300)
    reader.close()
    stalled.close()
  }, 60_000)

  it('serves 1,000 event streams at once: one publish reaches all', async () => {
    const clients = await Promise.all(
      Array.from({ length: 1000 }, () => openSse(port, '/sse/hello?topic=crowd')),
    )
    await waitFor(
      () => clients.every((c) => c.events.some((e) => e.type === 'subscribed')),
      20_000,
      'all subscribed',
    )
    expect(server.publish('crowd', 'to everyone')).toBe(1000)
    await waitFor(
      () => clients.every((c) => c.events.some((e) => e.data === 'to everyone')),
      20_000,
      'every client to get the event',
    )
    for (const c of clients) c.close()
    await waitFor(() => server.publish('crowd', '') === 0, 10_000, 'all to be forgotten')
  }, 60_000)

  it('sends a heartbeat comment to a stream idle for sseHeartbeat ms', async () => {
    const client = await openSse(port, '/sse/hello')
    await waitFor(() => client.events.length >= 2, 5000, 'the greeting')
    const before = client.raw().length
    await waitFor(() => client.raw().slice(before).includes(':\n'), 5000, 'a heartbeat')
    // Comments are not events.
    expect(client.events.length).toBe(2)
    client.close()
  })
})

describe('server-sent events: close and inline mode', () => {
  it.each(TRANSPORTS)(
    'server.close() ends open event streams instead of waiting for them (%s transport)',
    async (transport) => {
      const server = createServer({ transport, app: APP, workers: 1, logHandler: () => {} })
      await server.listen(0, '127.0.0.1')
      const client = await openSse(server.port, '/sse/hello')
      await waitFor(() => client.events.length >= 2, 5000, 'the greeting')
      await server.close()
      await client.ended
      expect(client.raw().endsWith('\n\n')).toBe(true)
    },
  )

  it('works with handlers inline on the IO thread (workers: 0), sseHandler included', async () => {
    const server = createServer({ app: APP, workers: 0, logHandler: () => {} })
    await server.listen(0, '127.0.0.1')
    try {
      const client = await openSse(server.port, '/sse/hello?topic=inline')
      await waitFor(() => client.events.length >= 3, 5000, 'the first events')
      expect(server.publish('inline', 'x')).toBe(1)
      await waitFor(() => client.events.length >= 4, 5000, 'the published event')
      const id = streamId(client)
      client.close()
      await waitFor(() => fs.existsSync(closedMarker(id)), 5000, 'sseHandler (inline)')
      fs.unlinkSync(closedMarker(id))
    } finally {
      await server.close()
    }
  })
})

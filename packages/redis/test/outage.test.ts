// Redis away: killed (SIGKILL) and restarted on the same port, not there at start, frozen
// (SIGSTOP). Nothing throws, nothing piles up, losses are counted, and everything comes back.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { type EngineMessage, redisPubSub, type RedisPubSubEngine } from '../dist/index.js'
import { Inbox, logRecorder, pendingTimers, timersDrained, waitFor } from './helpers.js'
import { RedisServer } from '@mummy/test-kit'

const engines: RedisPubSubEngine[] = []
const servers: RedisServer[] = []
const rejections: unknown[] = []
let timers = 0
const onRejection = (reason: unknown): void => void rejections.push(reason)

beforeAll(() => {
  timers = pendingTimers()
  process.on('unhandledRejection', onRejection)
})

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()))
  await Promise.all(servers.splice(0).map((s) => s.dispose()))
  expect(rejections).toEqual([])
})

afterAll(async () => {
  process.off('unhandledRejection', onRejection)
  await timersDrained(timers)
})

async function redis(): Promise<RedisServer> {
  const server = await RedisServer.start()
  servers.push(server)
  return server
}

function engine(server: RedisServer, options: Parameters<typeof redisPubSub>[0] = {}) {
  const { lines, log } = logRecorder()
  const e = redisPubSub({ url: server.url, log, ...options })
  engines.push(e)
  const inbox = new Inbox()
  return { engine: e, inbox, lines }
}

/** Publishes `topic` markers from `from` until `to` receives one: delivery works (again). */
async function flows(from: RedisPubSubEngine, to: Inbox, topic: string): Promise<void> {
  const seen = (marker: string): boolean =>
    to.on(topic).some((d) => d.message.kind === 'text' && d.message.data === marker)
  const markers: string[] = []
  await waitFor(
    async () => {
      const marker = randomBytes(6).toString('hex')
      markers.push(marker)
      await from.publish(topic, { kind: 'text', data: marker })
      // Give it up to ~200 ms to arrive before sending the next one.
      for (let i = 0; i < 20 && !markers.some(seen); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      return markers.some(seen)
    },
    `delivery on ${topic}`,
    20000,
  )
}

const message = (data: string): EngineMessage => ({ kind: 'text', data })

describe('Redis away', () => {
  it('killed: publishes resolve null fast and count as lost; restarted: both reconnect, subscriptions return', async () => {
    const server = await redis()
    const a = engine(server, {
      instanceId: 'A',
      history: { maxLen: 100, topics: (t) => t === 'h' },
    })
    const b = engine(server, {
      instanceId: 'B',
      history: { maxLen: 100, topics: (t) => t === 'h' },
    })
    await a.engine.start(a.inbox.deliver)
    await b.engine.start(b.inbox.deliver)
    a.engine.subscribe('room')
    a.engine.subscribe('gone')
    a.engine.subscribe('h')
    await flows(b.engine, a.inbox, 'room')
    const hid = await b.engine.publish('h', message('before'))
    expect(hid).not.toBeNull()
    const published = b.engine.stats.published

    await server.kill()
    await waitFor(() => !a.engine.connected && !b.engine.connected, 'both see Redis gone')

    // Fail fast: 10,000 publishes resolve null while Redis is away; nothing is queued.
    const payload = 'x'.repeat(1024)
    const started = performance.now()
    const results = await Promise.all(
      Array.from({ length: 10000 }, (_, i) =>
        b.engine.publish(i % 2 ? 'room' : 'h', message(payload)),
      ),
    )
    expect(performance.now() - started).toBeLessThan(5000)
    expect(results.every((r) => r === null)).toBe(true)
    expect(b.engine.stats).toMatchObject({ published, lost: 10000, pending: 0, buffered: 0 })
    // One log line for the burst (rate-limited), with a count.
    const lostLines = b.lines.filter(([, m]) => m.includes('lost:'))
    expect(lostLines.length).toBe(1)
    expect(await b.engine.history('h', hid!, 10)).toBeNull()

    // Changes while away take effect on reconnect.
    a.engine.subscribe('late')
    a.engine.unsubscribe('gone')
    expect(a.engine.stats.topics).toBe(3)

    await server.start()
    await waitFor(() => a.engine.connected && b.engine.connected, 'both reconnected', 20000)
    expect(a.engine.stats.reconnects).toBeGreaterThanOrEqual(1)
    expect(b.engine.stats.reconnects).toBeGreaterThanOrEqual(1)
    expect(b.lines.some(([level, m]) => level === 'info' && m.includes('restored'))).toBe(true)

    await flows(b.engine, a.inbox, 'room')
    await flows(b.engine, a.inbox, 'late')
    await flows(b.engine, a.inbox, 'h') // the publish script is loaded again on the new server
    // 'gone' was dropped while away: not subscribed again (the marker on 'late' comes after it).
    await b.engine.publish('gone', message('nobody'))
    await flows(b.engine, a.inbox, 'late')
    expect(a.inbox.on('gone')).toEqual([])
    // The new Redis has no history of before: an old id is a gap.
    expect(await a.engine.history('h', hid!, 10)).toBeNull()
    expect(b.engine.stats.pending).toBe(0)
  }, 60000)

  it('not there at start: start() resolves after startTimeout, then connects and subscribes when Redis comes', async () => {
    const server = await RedisServer.notStarted()
    servers.push(server)
    const a = engine(server, { startTimeout: 200 })
    a.engine.subscribe('early')
    const started = performance.now()
    await a.engine.start(a.inbox.deliver)
    expect(performance.now() - started).toBeLessThan(5000)
    expect(a.engine.connected).toBe(false)
    expect(a.lines.some(([level, m]) => level === 'warn' && m.includes('not reachable'))).toBe(true)
    expect(await a.engine.publish('early', message('lost'))).toBeNull()
    expect(a.engine.stats.lost).toBe(1)

    await server.start()
    await waitFor(() => a.engine.connected, 'connected once Redis is up', 20000)
    const b = engine(server)
    await b.engine.start(b.inbox.deliver)
    await flows(b.engine, a.inbox, 'early')
    // The first connection is not a reconnect.
    expect(a.engine.stats.reconnects).toBe(0)
  }, 60000)

  it('frozen: unanswered publishes time out as lost and the send buffer stays bounded', async () => {
    const server = await redis()
    const maxBufferedBytes = 1024 * 1024
    const a = engine(server)
    const b = engine(server, { commandTimeout: 300, maxBufferedBytes })
    await a.engine.start(a.inbox.deliver)
    await b.engine.start(b.inbox.deliver)
    a.engine.subscribe('big')
    await flows(b.engine, a.inbox, 'big')

    server.pause()
    const chunk = new Uint8Array(256 * 1024)
    let maxBuffered = 0
    const sends: Array<Promise<string | null>> = []
    for (let i = 0; i < 200; i++) {
      sends.push(b.engine.publish('big', { kind: 'binary', data: chunk }))
      maxBuffered = Math.max(maxBuffered, b.engine.stats.buffered)
    }
    const results = await Promise.all(sends) // resolved by the timeout, not by Redis
    expect(results.every((r) => r === null)).toBe(true)
    // Publishes stop being written once the buffer is over the bound: at most one more message.
    expect(maxBuffered).toBeGreaterThan(maxBufferedBytes)
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes + chunk.length + 64)
    expect(b.engine.stats.lost).toBe(200)
    expect(b.engine.stats.buffered).toBeLessThanOrEqual(maxBufferedBytes + chunk.length + 64)

    server.resume()
    await flows(b.engine, a.inbox, 'big')
  }, 60000)
})

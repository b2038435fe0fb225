// Two engines ("instances") on one real redis-server: delivery, order, own messages skipped,
// subscribe / unsubscribe, many topics, options.
import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { type EngineMessage, redisPubSub, type RedisPubSubEngine } from '../dist/index.js'
import { Inbox, logRecorder, text, useRedisServer, waitFor } from './helpers.js'

const redis = useRedisServer({ drainTimers: true })
const { engines } = redis

/** A started engine and what it receives. */
async function instance(
  options: Parameters<typeof redisPubSub>[0] = {},
): Promise<{ engine: RedisPubSubEngine; inbox: Inbox }> {
  const started = await redis.instance(options)
  expect(started.engine.connected).toBe(true)
  return started
}

/** How many subscribers Redis counts on `channel`. */
async function numsub(channel: string): Promise<number> {
  const reply = (await redis.raw.pubsub('NUMSUB', channel)) as [string, number]
  return Number(reply[1])
}

/** Waits until Redis counts `count` subscribers on each channel. */
async function subscribed(channels: string[], count = 1): Promise<void> {
  await waitFor(async () => {
    for (const channel of channels) if ((await numsub(channel)) !== count) return false
    return true
  }, `${count} subscriber(s) on ${channels.length} channel(s)`)
}

/**
 * Proves what `inbox` did not get on `topic` after now: `publisher` publishes a marker on
 * `control` (which the inbox's engine subscribes) after everything before it; once the marker
 * is in, nothing published earlier is still on the way (one connection, in order).
 */
async function settle(publisher: RedisPubSubEngine, inbox: Inbox, control: string): Promise<void> {
  const marker = randomBytes(6).toString('hex')
  await publisher.publish(control, { kind: 'text', data: marker })
  await waitFor(
    () => inbox.on(control).some((d) => d.message.kind === 'text' && d.message.data === marker),
    `marker on ${control}`,
  )
}

describe('two instances on one Redis', () => {
  it('delivers text, binary and events from the other instance, in order, and never its own', async () => {
    const a = await instance({ instanceId: 'A' })
    const b = await instance({ instanceId: 'B' })
    a.engine.subscribe('room')
    b.engine.subscribe('room')
    await subscribed(['mummy:room'], 2)

    const allBytes = new Uint8Array(256).map((_, i) => i)
    const mebibyte = new Uint8Array(randomBytes(1024 * 1024))
    for (let i = 0; i < 256; i++) mebibyte[i] = i
    const sent: EngineMessage[] = [
      { kind: 'text', data: 'hello' },
      { kind: 'binary', data: allBytes },
      { kind: 'text', data: 'ünïcødé ✓ 😀 \u0000 \r\n' },
      { kind: 'binary', data: mebibyte },
      { kind: 'event', event: { data: 'plain' } },
      { kind: 'event', event: { event: 'tick', id: 'e-1', data: 'line 1\nline 2' } },
      { kind: 'text', data: '' },
      { kind: 'binary', data: new Uint8Array(0) },
    ]
    const ids = await Promise.all(sent.map((m) => b.engine.publish('room', m)))
    expect(ids).toEqual(sent.map(() => null)) // no history

    const got = await a.inbox.waitFor(sent.length, 'room')
    // Binary compared as bytes (jest's toEqual walks a 1 MiB array element by element: seconds).
    const digest = (m: EngineMessage): unknown =>
      m.kind === 'binary' ? `binary:${Buffer.from(m.data).toString('base64')}` : m
    expect(got.map((d) => digest(d.message))).toEqual(sent.map(digest))
    expect(got.every((d) => d.historyId === undefined)).toBe(true)
    for (const d of got) {
      if (d.message.kind === 'binary') expect(Buffer.isBuffer(d.message.data)).toBe(false)
    }
    // B's own messages never come back to B: a marker from A proves nothing is still on the way.
    b.engine.subscribe('control')
    await subscribed(['mummy:control'])
    await settle(a.engine, b.inbox, 'control')
    expect(b.inbox.on('room')).toEqual([])
    expect(b.engine.stats).toMatchObject({ published: sent.length, received: 1, lost: 0 })
    expect(a.engine.stats).toMatchObject({
      published: 1,
      received: sent.length,
      lost: 0,
      topics: 1,
    })
  })

  it('keeps one publisher order across many messages sent without waiting', async () => {
    const a = await instance()
    const b = await instance()
    a.engine.subscribe('seq')
    a.engine.subscribe('other')
    await subscribed(['mummy:seq', 'mummy:other'])
    const n = 5000
    const sends: Array<Promise<string | null>> = []
    for (let i = 0; i < n; i++) {
      sends.push(b.engine.publish(i % 5 === 0 ? 'other' : 'seq', { kind: 'text', data: String(i) }))
    }
    await Promise.all(sends)
    const got = await a.inbox.waitFor(n)
    expect(got.map((d) => Number(text(d.message).slice(5)))).toEqual([...Array(n).keys()])
  })

  it('stops delivery on unsubscribe, even for messages already on the way', async () => {
    const a = await instance()
    const b = await instance()
    a.engine.subscribe('news')
    a.engine.subscribe('control')
    await subscribed(['mummy:news', 'mummy:control'])
    await b.engine.publish('news', { kind: 'text', data: 'before' })
    await a.inbox.waitFor(1, 'news')
    // Published right before unsubscribe: Redis may still send it; the engine drops it.
    const inFlight = b.engine.publish('news', { kind: 'text', data: 'in flight' })
    a.engine.unsubscribe('news')
    await inFlight
    await b.engine.publish('news', { kind: 'text', data: 'after' })
    await settle(b.engine, a.inbox, 'control')
    await subscribed(['mummy:news'], 0)
    expect(a.inbox.on('news').map((d) => text(d.message))).toEqual(['text:before'])
    expect(a.engine.stats.topics).toBe(1)
  })

  it('ends unsubscribed after a quick subscribe + unsubscribe (same tick, next tick, later)', async () => {
    const a = await instance()
    const b = await instance()
    a.engine.subscribe('control')
    // Same tick: nothing reaches Redis.
    a.engine.subscribe('t1')
    a.engine.unsubscribe('t1')
    // Next tick: SUBSCRIBE then UNSUBSCRIBE on the wire.
    a.engine.subscribe('t2')
    await Promise.resolve()
    await new Promise((resolve) => setImmediate(resolve))
    a.engine.unsubscribe('t2')
    // Unsubscribe, subscribe again, unsubscribe again.
    a.engine.subscribe('t3')
    await new Promise((resolve) => setImmediate(resolve))
    a.engine.unsubscribe('t3')
    a.engine.subscribe('t3')
    await new Promise((resolve) => setImmediate(resolve))
    a.engine.unsubscribe('t3')
    // And one that ends subscribed.
    a.engine.subscribe('t4')
    a.engine.unsubscribe('t4')
    a.engine.subscribe('t4')
    await subscribed(['mummy:control', 'mummy:t4'])
    for (const t of ['t1', 't2', 't3', 't4']) await b.engine.publish(t, { kind: 'text', data: t })
    await settle(b.engine, a.inbox, 'control')
    await subscribed(['mummy:t1', 'mummy:t2', 'mummy:t3'], 0)
    expect(a.inbox.got.filter((d) => d.topic !== 'control').map((d) => d.topic)).toEqual(['t4'])
    expect(a.engine.stats.topics).toBe(2)
  })

  it('subscribes and unsubscribes 1,000 topics', async () => {
    const a = await instance()
    const b = await instance()
    const topics = Array.from({ length: 1000 }, (_, i) => `many/${i}`)
    for (const t of topics) a.engine.subscribe(t)
    expect(a.engine.stats.topics).toBe(1000)
    await waitFor(
      async () =>
        ((await redis.raw.pubsub('CHANNELS', 'mummy:many/*')) as string[]).length === 1000,
      '1000 channels subscribed',
    )
    await Promise.all(topics.map((t) => b.engine.publish(t, { kind: 'text', data: t })))
    const got = await a.inbox.waitFor(1000)
    expect(got.map((d) => d.topic)).toEqual(topics)
    expect(got.every((d) => text(d.message) === `text:${d.topic}`)).toBe(true)

    for (const t of topics) a.engine.unsubscribe(t)
    expect(a.engine.stats.topics).toBe(0)
    await waitFor(
      async () => ((await redis.raw.pubsub('CHANNELS', 'mummy:many/*')) as string[]).length === 0,
      'all 1000 channels unsubscribed',
    )
  })

  it('takes subscriptions made before start() when it connects', async () => {
    const engine = redisPubSub({ url: redis.server.url })
    engines.push(engine)
    engine.subscribe('early')
    const inbox = new Inbox()
    await engine.start(inbox.deliver)
    await subscribed(['mummy:early'])
    const b = await instance()
    await b.engine.publish('early', { kind: 'text', data: 'x' })
    await inbox.waitFor(1, 'early')
  })

  it('keeps prefixes apart', async () => {
    const a = await instance({ prefix: 'app1:' })
    const b = await instance({ prefix: 'app2:' })
    const c = await instance({ prefix: 'app1:' })
    a.engine.subscribe('x')
    b.engine.subscribe('x')
    await subscribed(['app1:x', 'app2:x'])
    await c.engine.publish('x', { kind: 'text', data: 'for app1' })
    await a.inbox.waitFor(1, 'x')
    b.engine.subscribe('control')
    await subscribed(['app2:control'])
    const d = await instance({ prefix: 'app2:' })
    await settle(d.engine, b.inbox, 'control')
    expect(b.inbox.on('x')).toEqual([])
  })

  it('survives a deliver function that throws, and ignores foreign messages on its channels', async () => {
    const { lines, log } = logRecorder()
    const engine = redisPubSub({ url: redis.server.url, log })
    engines.push(engine)
    let calls = 0
    await engine.start(() => {
      calls++
      throw new Error('handler bug')
    })
    engine.subscribe('boom')
    await subscribed(['mummy:boom'])
    await redis.raw.publish('mummy:boom', 'not an envelope')
    const b = await instance()
    await b.engine.publish('boom', { kind: 'text', data: '1' })
    await b.engine.publish('boom', { kind: 'text', data: '2' })
    await waitFor(() => calls === 2, 'two deliveries')
    expect(lines.filter(([level]) => level === 'error')).toHaveLength(2)
    expect(lines.some(([, m]) => m.includes('malformed'))).toBe(true)
    expect(engine.stats.received).toBe(2)
  })

  it('refuses bad options and a second start()', async () => {
    expect(() => redisPubSub({ history: { maxLen: 0 } })).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_INVALID_OPTION' }),
    )
    expect(() => redisPubSub({ instanceId: '' })).toThrow(/instanceId/)
    expect(() => redisPubSub({ instanceId: 'x'.repeat(256) })).toThrow(/instanceId/)
    expect(() => redisPubSub({ startTimeout: -1 })).toThrow(/startTimeout/)
    const { engine } = await instance({ log: logRecorder().log })
    await expect(engine.start(() => {})).rejects.toMatchObject({ code: 'ERR_MUMMY_REDIS_STARTED' })
    await engine.close()
    await engine.close() // twice is fine
    expect(await engine.publish('x', { kind: 'text', data: 'late' })).toBeNull()
    expect(engine.connected).toBe(false)
  })

  it('uses a random instance id by default, and the one given', async () => {
    expect(redisPubSub().instanceId).toMatch(/^[\w-]{12}$/)
    expect(redisPubSub().instanceId).not.toBe(redisPubSub().instanceId)
    expect(redisPubSub({ instanceId: 'node-7' }).instanceId).toBe('node-7')
  })

  it('accepts an ioredis options object', async () => {
    const a = await instance({ url: { host: '127.0.0.1', port: redis.server.port } })
    const b = await instance({ url: { host: '127.0.0.1', port: redis.server.port } })
    a.engine.subscribe('obj')
    await subscribed(['mummy:obj'])
    await b.engine.publish('obj', { kind: 'text', data: 'ok' })
    await a.inbox.waitFor(1, 'obj')
  })
})

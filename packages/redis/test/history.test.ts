// Event history in Redis Streams: ids, reads after an id, gaps, the MAXLEN bound.
import { describe, expect, it } from '@jest/globals'
import { compareStreamIds, type EngineMessage, parseStreamId, redisPubSub } from '../dist/index.js'
import { text, useRedisServer, waitFor } from './helpers.js'

const redis = useRedisServer()
const { instance } = redis

let topicNo = 0
/** A topic no other test has used (the streams outlive engines). */
const fresh = (name: string): string => `${name}-${++topicNo}-${Date.now()}`

function ascending(ids: string[]): boolean {
  return ids.every(
    (id, i) => i === 0 || compareStreamIds(parseStreamId(ids[i - 1]!)!, parseStreamId(id)!) < 0,
  )
}

describe('history', () => {
  it('says which topics keep history', () => {
    const off = redisPubSub()
    expect(off.keepsHistory('chat')).toBe(false)
    const all = redisPubSub({ history: { maxLen: 10 } })
    expect(all.keepsHistory('chat')).toBe(true)
    const some = redisPubSub({ history: { maxLen: 10, topics: (t) => t.startsWith('sse/') } })
    expect(some.keepsHistory('sse/news')).toBe(true)
    expect(some.keepsHistory('ws/room')).toBe(false)
  })

  it('gives increasing ids, delivers them to the other instance, and reads back after an id', async () => {
    const history = { maxLen: 1000, topics: (t: string) => t.startsWith('h/') }
    const a = await instance({ history })
    const b = await instance({ history })
    const topic = fresh('h/feed')
    a.engine.subscribe(topic)
    a.engine.subscribe('plain')
    await waitFor(
      async () =>
        ((await redis.raw.pubsub('NUMSUB', `mummy:${topic}`)) as [string, number])[1] === 1,
      'subscribed',
    )
    const sent: EngineMessage[] = [
      { kind: 'text', data: 'one' },
      { kind: 'binary', data: new Uint8Array(256).map((_, i) => i) },
      { kind: 'event', event: { event: 'tick', id: 'publisher-id', data: 'three' } },
      { kind: 'event', event: { data: 'four' } },
    ]
    for (let i = 5; i <= 20; i++) sent.push({ kind: 'text', data: String(i) })
    const ids = (await Promise.all(sent.map((m) => b.engine.publish(topic, m)))) as string[]
    expect(ids.every((id) => parseStreamId(id) !== null)).toBe(true)
    expect(ascending(ids)).toBe(true)
    expect(await b.engine.publish('plain', { kind: 'text', data: 'no history' })).toBeNull()

    // The other instance gets each message with its history id; an event's id is replaced by it.
    const got = await a.inbox.waitFor(sent.length, topic)
    expect(got.map((d) => d.historyId)).toEqual(ids)
    expect(got[2]!.message).toEqual({
      kind: 'event',
      event: { event: 'tick', id: ids[2], data: 'three' },
    })
    expect(got[3]!.message).toEqual({ kind: 'event', event: { id: ids[3], data: 'four' } })
    expect(got.map((d) => text(d.message))).toEqual(sent.map(text))

    // Exactly the entries after an id, oldest first, at most `limit`; from any instance.
    const after = await a.engine.history(topic, ids[1]!, 100)
    expect(after?.map((e) => e.id)).toEqual(ids.slice(2))
    expect(after?.map((e) => text(e.message))).toEqual(sent.slice(2).map(text))
    expect(after?.[0]!.message).toEqual(got[2]!.message)
    expect((await b.engine.history(topic, ids[1]!, 3))?.map((e) => e.id)).toEqual(ids.slice(2, 5))
    const binary = await b.engine.history(topic, ids[0]!, 1)
    expect(binary?.[0]!.message).toEqual(sent[1])
    expect(await a.engine.history(topic, ids.at(-1)!, 10)).toEqual([])
    expect(await a.engine.history(topic, '18446744073709551615-18446744073709551615', 10)).toEqual(
      [],
    )
    expect(await a.engine.history(topic, ids[4]!, 0)).toEqual([])
    // From the very start: nothing was trimmed yet, so no gap.
    expect((await a.engine.history(topic, '0-0', 1000))?.map((e) => e.id)).toEqual(ids)
    // History off for the topic: null.
    expect(await a.engine.history('plain', '0-0', 10)).toBeNull()
  })

  it('answers null for a sinceId that is not a stream id', async () => {
    const { engine } = await instance({ history: { maxLen: 100 } })
    const topic = fresh('ids')
    await engine.publish(topic, { kind: 'text', data: 'x' })
    for (const bad of [
      '',
      'abc',
      '1',
      '1-',
      '-1-0',
      '1-0-0',
      '1.5-0',
      '99999999999999999999-0',
      ' 1-0',
    ]) {
      expect(await engine.history(topic, bad, 10)).toBeNull()
    }
  })

  it('answers [] from the start of a topic with no stream, and null for an id it never gave', async () => {
    const { engine } = await instance({ history: { maxLen: 100 } })
    const topic = fresh('empty')
    expect(await engine.history(topic, '0-0', 10)).toEqual([])
    expect(await engine.history(topic, '1733390000000-0', 10)).toBeNull()
  })

  it('bounds the stream near maxLen and reports a gap for an id trimmed away', async () => {
    const { engine } = await instance({ history: { maxLen: 10 } })
    const topic = fresh('bounded')
    const ids: string[] = []
    for (let i = 0; i < 500; i++) {
      ids.push((await engine.publish(topic, { kind: 'text', data: String(i) }))!)
    }
    expect(ascending(ids)).toBe(true)
    // MAXLEN ~ trims whole nodes (stream-node-max-entries, 100 by default): approximately.
    const len = await redis.raw.xlen(`mummy:history:${topic}`)
    expect(len).toBeGreaterThanOrEqual(10)
    expect(len).toBeLessThanOrEqual(10 + 100)

    // Older than what history still holds: a gap.
    expect(await engine.history(topic, ids[0]!, 10)).toBeNull()
    expect(await engine.history(topic, '0-0', 10)).toBeNull()
    expect(await engine.history(topic, ids[500 - len - 5]!, 10)).toBeNull()
    // Within: exactly the later ones.
    const since = ids.length - 5
    expect((await engine.history(topic, ids[since - 1]!, 100))?.map((e) => e.id)).toEqual(
      ids.slice(since),
    )
    const first = ids[500 - len]!
    expect((await engine.history(topic, first, 1000))?.length).toBe(len - 1)
  })

  it('stores what each publisher sent in publish order, with many publishers at once', async () => {
    const history = { maxLen: 10000 }
    const topic = fresh('many')
    const publishers = await Promise.all([
      instance({ history }),
      instance({ history }),
      instance({ history }),
    ])
    const sends = publishers.flatMap((p, n) =>
      Array.from({ length: 200 }, (_, i) =>
        p.engine.publish(topic, { kind: 'text', data: `${n}:${i}` }),
      ),
    )
    const ids = (await Promise.all(sends)) as string[]
    expect(new Set(ids).size).toBe(600)
    const all = (await publishers[0]!.engine.history(topic, '0-0', 1000))!
    expect(all).toHaveLength(600)
    expect(ascending(all.map((e) => e.id))).toBe(true)
    for (let n = 0; n < 3; n++) {
      const mine = all.map((e) => text(e.message)).filter((t) => t.startsWith(`text:${n}:`))
      expect(mine).toEqual(Array.from({ length: 200 }, (_, i) => `text:${n}:${i}`))
    }
  })
})

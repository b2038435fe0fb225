import { describe, expect, it } from '@jest/globals'
import { waitFor } from './fixtures/harness.js'
import { usePools } from './pools.js'

const make = usePools(5000)

describe('work conservation', () => {
  it('runs 100 jobs on the free workers while two workers are blocked', async () => {
    const { pool, rec } = make({ size: 4 })
    await pool.start()
    const slow = [pool.submit({ op: 'block', ms: 2000 }), pool.submit({ op: 'block', ms: 2000 })]
    await waitFor(() => slow.every((id) => rec.messages.has(id)), 'both slow jobs to start')
    const submittedAt = new Map<number, number>()
    const fast: number[] = []
    for (let i = 0; i < 100; i++) {
      const id = pool.submit({ op: 'echo', value: i })
      submittedAt.set(id, performance.now())
      fast.push(id)
    }
    await waitFor(() => slow.every((id) => rec.endedAt.has(id)), 'slow jobs', 10_000)
    const lastFast = Math.max(...fast.map((id) => rec.endedAt.get(id) ?? Infinity))
    const firstSlow = Math.min(...slow.map((id) => rec.endedAt.get(id) as number))
    const maxLatency = Math.max(
      ...fast.map((id) => (rec.endedAt.get(id) as number) - (submittedAt.get(id) as number)),
    )
    console.log(
      `100 jobs beside 2 blocked workers: max latency ${maxLatency.toFixed(1)} ms, steals ${pool.stats().steals}`,
    )
    expect(fast.every((id) => rec.done.includes(id))).toBe(true)
    expect(lastFast).toBeLessThan(firstSlow)
  })

  it('moves jobs queued behind a job that blocks to a worker that went idle', async () => {
    const { pool, rec } = make({ size: 2 })
    await pool.start()
    // Same turn: the blocking job and the fast ones are batched together, so
    // some fast jobs land behind it on the same worker and must be stolen.
    const slow = pool.submit({ op: 'block', ms: 1500 })
    const fast: number[] = []
    for (let i = 0; i < 60; i++) fast.push(pool.submit({ op: 'echo', value: i }))
    await waitFor(() => rec.endedAt.has(slow), 'slow job', 10_000)
    const lastFast = Math.max(...fast.map((id) => rec.endedAt.get(id) ?? Infinity))
    console.log(`60 jobs submitted with a blocking one: steals ${pool.stats().steals}`)
    expect(lastFast).toBeLessThan(rec.endedAt.get(slow) as number)
    expect(pool.stats().steals).toBeGreaterThan(0)
  })

  it('keeps every worker busy with async jobs without losing or repeating any', async () => {
    const { pool, rec } = make({ size: 3, concurrency: 4 })
    await pool.start()
    const ids: number[] = []
    for (let i = 0; i < 600; i++)
      ids.push(pool.submit(i % 7 === 0 ? { op: 'sleep', ms: 5 } : { op: 'echo', value: i }))
    await waitFor(() => rec.done.length === 600, '600 jobs', 20_000)
    expect([...rec.done].sort((a, b) => a - b)).toEqual(ids)
    expect(new Set(rec.done).size).toBe(600)
  })
})

import { rmSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import {
  getWorkerData,
  getWorkerIndex,
  isPoolWorker,
  postToMain,
  runWorker,
} from '../dist/index.js'
import { usePools } from './pools.js'
import { waitFor } from './fixtures/harness.js'

const make = usePools()

describe('faults inside a job', () => {
  it('reports a throwing job with onJobError; the same worker runs the next job', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const thrower = pool.submit({ op: 'throw', message: 'bad input' })
    const rejecter = pool.submit({ op: 'reject', message: 'async bad' })
    const next = pool.submit({ op: 'echo', value: 'still here' })
    await waitFor(() => rec.done.includes(next), 'next job')
    expect(rec.errors.get(thrower)).toMatchObject({ name: 'TypeError', message: 'bad input' })
    expect(rec.errors.get(thrower)?.stack).toContain('bad input')
    expect(rec.messages.get(thrower)).toEqual([{ before: 'throw' }])
    expect(rec.errors.get(rejecter)).toMatchObject({ message: 'async bad', code: 'E_FIXTURE' })
    expect(rec.exits).toEqual([])
    expect(pool.stats()).toMatchObject({ completed: 3, errored: 2, failed: 0, respawns: 0 })
  })
})

describe('worker deaths', () => {
  it('fails the job that called process.exit(), completes the others, respawns', async () => {
    const { pool, rec } = make({ size: 2 })
    await pool.start()
    const others: number[] = []
    for (let i = 0; i < 20; i++) others.push(pool.submit({ op: 'echo', value: i }))
    const exiting = pool.submit({ op: 'exit', code: 3 })
    for (let i = 0; i < 20; i++) others.push(pool.submit({ op: 'echo', value: i }))
    await waitFor(() => rec.failed.has(exiting), 'exit failure')
    expect(rec.failed.get(exiting)).toMatchObject({
      reason: 'worker-died',
      detail: { message: expect.stringContaining('code 3') },
    })
    await waitFor(() => others.every((id) => rec.done.includes(id)), 'other jobs')
    await waitFor(() => pool.alive === pool.size, 'full size again', 2000)
    expect(pool.stats().respawns).toBe(1)
    expect(rec.exits).toEqual([expect.objectContaining({ code: 3 })])
    expect(pool.stats()).toMatchObject({ failed: 1, completed: 40 })
  })

  it('keeps jobs queued while every worker is dead, then runs them', async () => {
    const { pool, rec } = make({ size: 1, respawnDelay: { min: 200, max: 1000 } })
    await pool.start()
    const exiting = pool.submit({ op: 'exit', code: 0 })
    await waitFor(() => pool.alive === 0, 'worker gone')
    const waiting = [pool.submit({ op: 'echo', value: 1 }), pool.submit({ op: 'echo', value: 2 })]
    await new Promise((resolve) => setImmediate(resolve))
    expect(pool.queued).toBe(2)
    await waitFor(() => waiting.every((id) => rec.done.includes(id)), 'jobs after respawn')
    expect(rec.failed.get(exiting)?.reason).toBe('worker-died')
  })

  it('treats a resourceLimits out-of-memory as a worker death', async () => {
    const { pool, rec } = make({
      size: 1,
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    })
    await pool.start()
    const oom = pool.submit({ op: 'oom' })
    await waitFor(() => rec.failed.has(oom), 'oom failure', 20_000)
    expect(rec.failed.get(oom)).toMatchObject({
      reason: 'worker-died',
      detail: { code: 'ERR_WORKER_OUT_OF_MEMORY' },
    })
    expect(rec.exits[0]?.error?.code).toBe('ERR_WORKER_OUT_OF_MEMORY')
    const after = pool.submit({ op: 'echo', value: 'alive' })
    await waitFor(() => rec.done.includes(after), 'job after respawn')
    expect(pool.stats().respawns).toBe(1)
  })

  it('respawns a worker killed by an uncaught error outside any job', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const id = pool.submit({ op: 'uncaught', message: 'escaped the job' })
    await waitFor(() => rec.exits.length === 1, 'worker exit')
    expect(rec.done).toContain(id)
    expect(rec.exits[0]?.error?.message).toBe('escaped the job')
    await waitFor(() => pool.alive === 1, 'respawn', 2000)
  })

  it('keeps retrying a worker that fails to load after a respawn, with back-off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mummy-workers-'))
    const marker = join(dir, 'refuse')
    try {
      const { pool, rec } = make({
        size: 1,
        workerURL: new URL('./fixtures/flaky-load.js', import.meta.url),
        workerData: { marker },
        respawnDelay: { min: 20, max: 80 },
      })
      await pool.start()
      writeFileSync(marker, '')
      pool.submit({ exit: true })
      await waitFor(() => pool.stats().respawns >= 4, 'several respawn attempts')
      expect(pool.alive).toBe(0)
      expect(rec.exits.at(-1)?.error?.message).toContain('marker present')
      const waiting = pool.submit({ hello: 1 })
      rmSync(marker)
      await waitFor(() => rec.done.includes(waiting), 'job once loading works again')
      expect(pool.alive).toBe(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('jobTimeout', () => {
  it('fails a job that runs too long with "timeout", and replaces its stuck worker one tick later', async () => {
    const { pool, rec } = make({ size: 2, jobTimeout: 200 })
    await pool.start()
    const t0 = performance.now()
    const stuck = pool.submit({ op: 'block', ms: 10_000 })
    const fine = pool.submit({ op: 'sleep', ms: 20 })
    await waitFor(() => rec.failed.has(stuck), 'timeout')
    expect(rec.failed.get(stuck)?.reason).toBe('timeout')
    expect(rec.done).toContain(fine)
    await waitFor(() => rec.exits.length === 1, 'stuck worker terminated', 5000)
    // Timeout (200) + three ticks of grace (150) + the tick that sees it; generous for a busy machine.
    expect(performance.now() - t0).toBeLessThan(1200)
    expect(rec.failed.size).toBe(1)
    await waitFor(() => pool.alive === 2, 'respawn')
    expect(performance.now() - t0).toBeLessThan(2200)
    expect(pool.running).toBe(0)
    expect(pool.stats()).toMatchObject({ timeouts: 1, failed: 1, respawns: 1 })
  })

  it('runs the jobs queued behind stuck workers within jobTimeout + 1 s', async () => {
    const { pool, rec } = make({ size: 2, jobTimeout: 500 })
    await pool.start()
    const t0 = performance.now()
    const stuck = [
      pool.submit({ op: 'block', ms: 10_000 }),
      pool.submit({ op: 'block', ms: 10_000 }),
    ]
    const queued: number[] = []
    for (let i = 0; i < 6; i++) queued.push(pool.submit({ op: 'echo', value: i }))
    await waitFor(() => queued.every((id) => rec.done.includes(id)), 'queued jobs', 5000)
    expect(performance.now() - t0).toBeLessThan(1500)
    expect(stuck.map((id) => rec.failed.get(id)?.reason)).toEqual(['timeout', 'timeout'])
    await waitFor(() => pool.alive === 2, 'respawns')
    expect(pool.stats().respawns).toBe(2)
  })

  it('lets a job that ends within the grace finish late, without a second report, on the same worker', async () => {
    // jobTimeout 1000: ticks every 100 ms, a grace of 300 ms; the job ends 200 ms past its
    // timeout: reported by the tick in [1000, 1100), and done before any tick at 1300 or later.
    const { pool, rec } = make({ size: 2, jobTimeout: 1000 })
    await pool.start()
    const slow = pool.submit({ op: 'block', ms: 1200 }, 'k')
    const next = pool.submit({ op: 'echo', value: 'next' }, 'k')
    await waitFor(() => rec.done.includes(next), 'next job of the key', 5000)
    expect(rec.failed.get(slow)?.reason).toBe('timeout')
    await waitFor(() => pool.running === 0, 'slow job to really end')
    expect(rec.done).not.toContain(slow)
    expect(rec.messages.get(slow)).toContainEqual({ finished: slow })
    expect(rec.exits).toEqual([])
  })

  it('with concurrency > 1: keeps a worker that still answers (until 3 × jobTimeout), replaces a blocked one', async () => {
    const { pool, rec } = make({ size: 1, concurrency: 2, jobTimeout: 200 })
    await pool.start()
    // An async job that never settles in time: its worker goes on serving the other slot.
    const hung = pool.submit({ op: 'sleep', ms: 60_000 })
    await waitFor(() => rec.failed.has(hung), 'timeout of the hung job')
    const served = [pool.submit({ op: 'echo', value: 1 }), pool.submit({ op: 'echo', value: 2 })]
    await waitFor(() => served.every((id) => rec.done.includes(id)), 'jobs beside the hung one')
    expect(rec.exits).toEqual([])
    await waitFor(() => rec.exits.length === 1, 'replaced at 3 × jobTimeout', 3000)
    await waitFor(() => pool.alive === 1, 'respawn')
    // A blocking job: the worker cannot answer the probe, so it is replaced one tick or two
    // after the timeout although a slot is free.
    const t0 = performance.now()
    const blocked = pool.submit({ op: 'block', ms: 10_000 })
    await waitFor(() => rec.exits.length === 2, 'blocked worker replaced', 3000)
    expect(performance.now() - t0).toBeLessThan(1200)
    expect(rec.failed.get(blocked)?.reason).toBe('timeout')
  })
})

describe('noTimeout()', () => {
  it('takes a job out of jobTimeout: neither reported nor its worker replaced, async or blocking', async () => {
    const { pool, rec } = make({ size: 2, jobTimeout: 100 })
    await pool.start()
    const waiting = pool.submit({ op: 'untimed', ms: 500 })
    const blocking = pool.submit({ op: 'untimed', ms: 500, block: true })
    await waitFor(
      () => rec.done.includes(waiting) && rec.done.includes(blocking),
      'both jobs',
      5000,
    )
    expect(rec.failed.size).toBe(0)
    expect(rec.exits).toEqual([])
    expect(pool.stats()).toMatchObject({ timeouts: 0, failed: 0, respawns: 0 })
  })
})

describe('start() failures', () => {
  it('rejects with ERR_MUMMY_WORKER_START when the module throws while loading', async () => {
    const { pool } = make({
      size: 2,
      workerURL: new URL('./fixtures/throws-at-load.js', import.meta.url),
    })
    const err = (await pool.start().catch((e: unknown) => e)) as MummyError
    expect(err).toBeInstanceOf(MummyError)
    expect(err.code).toBe('ERR_MUMMY_WORKER_START')
    expect(err.message).toContain('kaboom while loading')
    expect(pool.alive).toBe(0)
    expect(() => pool.submit(1)).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_POOL_CLOSED' }) as never,
    )
  })

  it('rejects when the module has a syntax error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mummy-workers-'))
    const file = join(dir, 'broken.mjs')
    writeFileSync(file, 'export const = ;\n')
    try {
      const { pool } = make({ size: 1, workerURL: file })
      await expect(pool.start()).rejects.toMatchObject({
        code: 'ERR_MUMMY_WORKER_START',
        message: expect.stringContaining('SyntaxError'),
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('rejects when the module does not call runWorker()', async () => {
    const { pool } = make({ size: 1, workerURL: new URL('./fixtures/no-run.js', import.meta.url) })
    await expect(pool.start()).rejects.toMatchObject({
      code: 'ERR_MUMMY_WORKER_START',
      message: expect.stringContaining('did not call runWorker()'),
    })
  })
})

describe('worker-side API on the main thread', () => {
  it('throws ERR_MUMMY_NOT_IN_WORKER and reports not being a worker', () => {
    expect(() => runWorker(() => {})).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_NOT_IN_WORKER' }) as never,
    )
    expect(() => postToMain('x')).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_NOT_IN_WORKER' }) as never,
    )
    expect(isPoolWorker()).toBe(false)
    expect(getWorkerData()).toBeUndefined()
    expect(getWorkerIndex()).toBe(-1)
  })
})

describe('withdrawUnstarted()', () => {
  it('fails every job not started yet (queued or prefetched), lets the running one finish, and the pool goes on', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const running = pool.submit({ op: 'block', ms: 300 })
    const waiting: number[] = []
    for (let i = 0; i < 10; i++) waiting.push(pool.submit({ op: 'echo', value: i }))
    await waitFor(() => rec.messages.get(running) !== undefined, 'the first job to start')
    expect(pool.withdrawUnstarted()).toBe(10)
    for (const id of waiting)
      expect(rec.failed.get(id)).toMatchObject({
        reason: 'worker-died',
        detail: { code: 'ERR_MUMMY_POOL_CLOSED' },
      })
    await waitFor(() => rec.done.includes(running), 'the running job')
    expect(rec.done.filter((id) => waiting.includes(id))).toEqual([])
    const after = pool.submit({ op: 'echo', value: 'after' })
    await waitFor(() => rec.done.includes(after), 'a job submitted afterwards')
  })
})

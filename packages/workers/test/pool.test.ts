import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import { WorkerPool } from '../dist/index.js'
import { usePools } from './pools.js'
import { sleep, waitFor } from './fixtures/harness.js'

const make = usePools()

describe('WorkerPool: jobs and messages', () => {
  it('runs every job and routes each message to its job, before the job is done', async () => {
    const { pool, rec } = make({ size: 2 })
    await pool.start()
    expect(pool.alive).toBe(2)
    const ids: number[] = []
    for (let i = 0; i < 300; i++) ids.push(pool.submit({ op: 'echo', value: i, messages: 3 }))
    await waitFor(() => rec.done.length === 300, '300 jobs')
    ids.forEach((id, i) => {
      const messages = rec.messages.get(id) as { echo: number; i: number }[]
      expect(messages.map((m) => [m.echo, m.i])).toEqual([
        [i, 0],
        [i, 1],
        [i, 2],
      ])
      const doneAt = rec.log.indexOf(`done:${id}`)
      expect(rec.log.lastIndexOf(`msg:${id}`)).toBeLessThan(doneAt)
    })
    expect(pool.stats()).toMatchObject({ submitted: 300, completed: 300, failed: 0, errored: 0 })
    expect(pool.queued).toBe(0)
    expect(pool.running).toBe(0)
  })

  it('sends jobs submitted in one turn as a few batches', async () => {
    const { pool, rec } = make({ size: 2 })
    await pool.start()
    for (let i = 0; i < 1000; i++) pool.submit({ op: 'echo', value: i })
    await waitFor(() => rec.done.length === 1000, '1000 jobs')
    const { batches } = pool.stats()
    console.log(
      `1000 jobs in one turn: ${batches} batches (${(batches / 1000).toFixed(3)} per job)`,
    )
    expect(batches).toBeLessThan(100)
  })

  it('runs up to `concurrency` async jobs at once in one worker', async () => {
    const { pool, rec } = make({ size: 1, concurrency: 10 })
    await pool.start()
    const started = performance.now()
    for (let i = 0; i < 10; i++) pool.submit({ op: 'sleep', ms: 50 })
    await waitFor(() => rec.done.length === 10, '10 sleeping jobs')
    const elapsed = performance.now() - started
    console.log(`10 × 50 ms async jobs, concurrency 10: ${elapsed.toFixed(0)} ms`)
    expect(elapsed).toBeLessThan(400)
  })

  it('keeps messages a job posts after its function returned, with its id', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const id = pool.submit({ op: 'stream', count: 3 })
    await waitFor(() => (rec.messages.get(id)?.length ?? 0) === 4, 'stream messages')
    expect(rec.done).toEqual([id])
    expect(rec.log.indexOf(`done:${id}`)).toBeLessThan(rec.log.indexOf(`msg:${id}`))
    expect(rec.messages.get(id)).toEqual([{ chunk: 0 }, { chunk: 1 }, { chunk: 2 }, { end: true }])
  })

  it('transfers buffers listed in submit()', async () => {
    const { pool, rec } = make({ size: 2 })
    await pool.start()
    const buffer = new ArrayBuffer(16)
    const id = pool.submit({ op: 'echo', value: buffer }, undefined, [buffer])
    expect(buffer.byteLength).toBe(16) // moved when the batch is handed over, at the end of this turn
    await new Promise((resolve) => setImmediate(resolve))
    expect(buffer.byteLength).toBe(0)
    await waitFor(() => rec.done.includes(id), 'transfer job')
    expect((rec.messages.get(id)?.[0] as { echo: ArrayBuffer }).echo.byteLength).toBe(16)
  })

  it('reports a payload that cannot be cloned as that job’s error only', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const good = pool.submit({ op: 'echo', value: 1 })
    const bad = pool.submit({ op: 'echo', value: () => 1 })
    await waitFor(() => rec.done.includes(good) && rec.errors.has(bad), 'both jobs')
    expect(rec.errors.get(bad)?.name).toBe('DataCloneError')
  })
})

describe('WorkerPool: postLast', () => {
  /**
   * Lets the pool hand out what was submitted (at the end of this turn), then keeps the main
   * thread busy for `ms`: no message is received meanwhile.
   */
  async function handOutThenBusy(ms: number): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    const until = performance.now() + ms
    while (performance.now() < until);
  }

  it('learns of a job that ends right after its last message from that message', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const id = pool.submit({ op: 'last', value: 1 })
    await handOutThenBusy(500) // the worker answers and completes before this thread reads it
    await waitFor(() => rec.done.includes(id), 'the job')
    expect(rec.messages.get(id)).toEqual([{ last: 1 }])
    expect(rec.log).toEqual([`msg:${id}`, `done:${id}`])
    expect(pool.stats()).toMatchObject({ completed: 1, completedWithLast: 1 })
    expect(pool.running).toBe(0)
    expect(pool.retained()).toMatchObject({ held: 0, keys: 0 })
    // The worker is idle again: the next job runs at once.
    const next = pool.submit({ op: 'last', value: 2 })
    await waitFor(() => rec.done.includes(next), 'the next job')
  })

  it('sends the last message at once, before work that follows it', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const id = pool.submit({ op: 'last', value: 'x', blockAfter: 300 })
    await waitFor(() => rec.messages.has(id), 'the last message')
    const messageAt = performance.now()
    await waitFor(() => rec.done.includes(id), 'the job')
    expect(rec.endedAt.get(id)! - messageAt).toBeGreaterThan(200)
    expect(rec.log).toEqual([`msg:${id}`, `done:${id}`])
    expect(pool.stats()).toMatchObject({ completed: 1, completedWithLast: 0 })
  })

  it('keeps a job done after every message when it posts again, and reports a throw', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const more = pool.submit({ op: 'last', value: 'a', postAfter: true })
    const thrown = pool.submit({ op: 'last', value: 'b', throwAfter: true })
    await handOutThenBusy(500)
    await waitFor(() => rec.log.length === 5, 'both jobs')
    expect(rec.messages.get(more)).toEqual([{ last: 'a' }, { after: 'a' }])
    expect(rec.log.indexOf(`done:${more}`)).toBeGreaterThan(rec.log.lastIndexOf(`msg:${more}`))
    expect(rec.errors.get(thrown)?.message).toBe('after the last message')
    expect(rec.log.indexOf(`error:${thrown}`)).toBeGreaterThan(rec.log.indexOf(`msg:${thrown}`))
    expect(rec.done).toEqual([more])
    expect(pool.stats()).toMatchObject({ completed: 2, errored: 1, completedWithLast: 0 })
  })

  it('completes async jobs and keeps every worker fed through many jobs', async () => {
    const { pool, rec } = make({ size: 2, concurrency: 4 })
    await pool.start()
    const ids: number[] = []
    for (let i = 0; i < 40; i++) ids.push(pool.submit({ op: 'lastAsync', value: i, ms: 5 }))
    for (let i = 0; i < 400; i++) ids.push(pool.submit({ op: 'last', value: i }))
    await waitFor(() => rec.done.length === ids.length, 'every job')
    for (const id of ids) {
      expect(rec.messages.get(id)).toHaveLength(1)
      expect(rec.log.indexOf(`done:${id}`)).toBeGreaterThan(rec.log.indexOf(`msg:${id}`))
    }
    const stats = pool.stats()
    console.log(`440 postLast jobs: ${stats.completedWithLast} completed with their last message`)
    expect(stats).toMatchObject({ completed: 440, failed: 0 })
    expect(pool.running).toBe(0)
    expect(pool.retained().held).toBe(0)
  })
})

describe('WorkerPool: per-key order', () => {
  it('runs jobs of one key in order, one at a time, beside slow unkeyed jobs', async () => {
    const order = new SharedArrayBuffer(4 * 17)
    const { pool, rec } = make({ size: 3, workerData: { order } })
    await pool.start()
    const slow1 = pool.submit({ op: 'block', ms: 300 })
    const seqs = [0, 0, 0]
    for (let i = 0; i < 10_000; i++) {
      const key = i % 3
      pool.submit({ op: 'ordered', key, seq: ++seqs[key]! }, `k${key}`)
      if (i === 5000) pool.submit({ op: 'block', ms: 200 })
    }
    await waitFor(() => rec.done.length === 10_002, '10 002 jobs', 25_000)
    expect(rec.done).toContain(slow1)

    // Seen from the main thread (jobs in order of their first message): per key,
    // start/end strictly alternate in sequence order.
    const perKey: string[][] = [[], [], []]
    for (const list of rec.messages.values()) {
      for (const m of list as { key?: number; seq: number; phase: string }[]) {
        if (m.key !== undefined) perKey[m.key]!.push(`${m.phase}${m.seq}`)
      }
    }
    for (let key = 0; key < 3; key++) {
      const expected: string[] = []
      for (let seq = 1; seq <= seqs[key]!; seq++) expected.push(`start${seq}`, `end${seq}`)
      expect(perKey[key]).toEqual(expected)
    }
    // Seen from the workers (shared memory): never two at once, never out of order.
    expect(Atomics.load(new Int32Array(order), 16)).toBe(0)
    // Nothing left behind per job or per key.
    expect(pool.retained()).toEqual({ keys: 0, claimSegments: 1, held: 0 })
  })
})

describe('WorkerPool: loading and control', () => {
  it('reports ready only after the worker module’s top-level await', async () => {
    const { pool, rec } = make({
      size: 2,
      workerURL: new URL('./fixtures/late-ready.js', import.meta.url),
      workerData: { hello: 'world' },
    })
    const before = Date.now()
    await pool.start()
    expect(Date.now() - before).toBeGreaterThanOrEqual(250)
    await waitFor(() => rec.messages.get(null)?.length === 2, 'messages posted while loading')
    const early = rec.messages.get(null) as {
      early: boolean
      isPoolWorker: boolean
      index: number
    }[]
    expect(early.map((m) => m.index).sort()).toEqual([0, 1])
    expect(early.every((m) => m.early && m.isPoolWorker)).toBe(true)
    const id = pool.submit('p')
    await waitFor(() => rec.done.includes(id), 'job')
    const reply = rec.messages.get(id)?.[0] as {
      loadedAt: number
      payload: string
      data: unknown
      index: number
    }
    expect(reply).toMatchObject({ payload: 'p', data: { hello: 'world' } })
    expect(reply.loadedAt).toBeLessThanOrEqual(Date.now())
  })

  it('delivers control messages to one worker or to all', async () => {
    const { pool, rec } = make({ size: 3 })
    await pool.start()
    pool.post('all', { config: 1 })
    pool.post(2, { config: 2 })
    await waitFor(() => (rec.messages.get(null)?.length ?? 0) === 4, 'control echoes')
    const echoes = rec.messages.get(null) as { control: { config: number }; worker: number }[]
    expect(
      echoes
        .filter((m) => m.control.config === 1)
        .map((m) => m.worker)
        .sort(),
    ).toEqual([0, 1, 2])
    expect(echoes.filter((m) => m.control.config === 2).map((m) => m.worker)).toEqual([2])
    expect(() => pool.post(3, 'x')).toThrow(MummyError)
  })

  it('rejects a second runWorker() call in the same worker', async () => {
    const { pool, rec } = make({
      size: 1,
      workerURL: new URL('./fixtures/twice.js', import.meta.url),
    })
    await pool.start()
    await waitFor(() => rec.messages.has(null), 'report')
    expect(rec.messages.get(null)).toEqual([{ secondCall: 'ERR_MUMMY_WORKER_ALREADY_RUNNING' }])
  })

  it('validates its options', () => {
    const onMessage = (): void => {}
    const url = new URL('./fixtures/jobs.js', import.meta.url)
    expect(() => new WorkerPool({ size: 0, workerURL: url, onMessage })).toThrow(/size/)
    expect(() => new WorkerPool({ size: 255, workerURL: url, onMessage })).toThrow(/size/)
    expect(() => new WorkerPool({ size: 1, workerURL: url, onMessage, concurrency: 0 })).toThrow(
      /concurrency/,
    )
    expect(() => new WorkerPool({ size: 1, workerURL: url, onMessage, jobTimeout: -1 })).toThrow(
      /jobTimeout/,
    )
    try {
      new WorkerPool({ size: 1.5, workerURL: url, onMessage })
    } catch (err) {
      expect((err as MummyError).code).toBe('ERR_MUMMY_INVALID_OPTION')
    }
  })
})

describe('WorkerPool: close()', () => {
  it('finishes in-flight and queued jobs, then ends every thread; idempotent', async () => {
    const { pool, rec } = make({ size: 2 })
    await pool.start()
    const slow = pool.submit({ op: 'block', ms: 300 })
    const ids = [slow]
    for (let i = 0; i < 20; i++) ids.push(pool.submit({ op: 'echo', value: i }))
    const first = pool.close()
    const second = pool.close()
    expect(second).toBe(first)
    expect(() => pool.submit({ op: 'echo', value: 'late' })).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_POOL_CLOSED' }) as never,
    )
    await first
    expect(rec.done.sort((a, b) => a - b)).toEqual(ids)
    expect(rec.exits.map((e) => e.index).sort()).toEqual([0, 1])
    expect(pool.alive).toBe(0)
    await pool.close()
  })

  it('gives up on jobs still running after the timeout', async () => {
    const { pool, rec } = make({ size: 1 })
    await pool.start()
    const stuck = pool.submit({ op: 'block', ms: 5000 })
    const queued = pool.submit({ op: 'echo', value: 1 }, 'k')
    await waitFor(() => rec.messages.has(stuck), 'stuck job to start')
    const started = performance.now()
    await pool.close({ timeout: 200 })
    expect(performance.now() - started).toBeLessThan(3000)
    expect(rec.failed.get(stuck)?.reason).toBe('worker-died')
    expect(rec.failed.get(queued)).toMatchObject({
      reason: 'worker-died',
      detail: { code: 'ERR_MUMMY_POOL_CLOSED' },
    })
  })

  it('rejects a pending start() when closed meanwhile', async () => {
    const { pool } = make({
      size: 2,
      workerURL: new URL('./fixtures/late-ready.js', import.meta.url),
    })
    const starting = pool.start()
    await pool.close()
    await expect(starting).rejects.toMatchObject({ code: 'ERR_MUMMY_POOL_CLOSED' })
    expect(pool.alive).toBe(0)
  })

  it('lets the process exit on its own once closed', () => {
    const script = fileURLToPath(new URL('./fixtures/exit-after-close.js', import.meta.url))
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 15_000 })
    expect(child.signal).toBeNull()
    expect(child.status).toBe(0)
    expect(child.stdout.trim()).toBe('done 50')
  })

  it('closes a pool that never started', async () => {
    const { pool, rec } = make({ size: 1 })
    const id = pool.submit({ op: 'echo', value: 1 })
    await pool.close()
    expect(rec.failed.get(id)?.detail?.code).toBe('ERR_MUMMY_POOL_CLOSED')
    await expect(pool.start()).rejects.toMatchObject({ code: 'ERR_MUMMY_POOL_CLOSED' })
    await sleep(1)
  })
})

/**
 * Micro-benchmark of the pool's hand-off: a trivial job that answers with one
 * small message, through 1 and 2 workers.
 *
 *   node packages/workers/dist-test/bench.js [jobs]   (or: pnpm --filter @mummy/workers bench)
 *
 * - burst: all jobs submitted up front, 1000 per turn of the event loop.
 * - window N: N jobs in flight; each completion submits the next (steady load).
 * - window 1: one job at a time (round-trip latency).
 * `batches/job` counts main → worker messages per job.
 */
import { WorkerPool } from '../dist/index.js'

const WORKER = new URL('./fixtures/bench-worker.js', import.meta.url)
const total = Number(process.argv[2] ?? 200_000)

interface Result {
  jobsPerSec: number
  batchesPerJob: number
}

async function measure(size: number, window: number, jobs: number): Promise<Result> {
  let done = 0
  let submitted = 0
  let finish: () => void = () => {}
  const finished = new Promise<void>((resolve) => (finish = resolve))
  const payload = { path: '/', n: 0 }
  const pool: WorkerPool = new WorkerPool({
    size,
    workerURL: WORKER,
    onMessage() {},
    onJobDone() {
      if (++done === jobs) finish()
      else if (window > 0 && submitted < jobs) {
        submitted++
        pool.submit(payload)
      }
    },
  })
  await pool.start()
  const started = performance.now()
  if (window > 0) {
    for (; submitted < Math.min(window, jobs); submitted++) pool.submit(payload)
  } else {
    while (submitted < jobs) {
      for (let i = 0; i < 1000 && submitted < jobs; i++, submitted++) pool.submit(payload)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  await finished
  const elapsed = performance.now() - started
  const { batches } = pool.stats()
  await pool.close()
  return { jobsPerSec: (jobs / elapsed) * 1000, batchesPerJob: batches / jobs }
}

const rows: string[][] = [['workers', 'mode', 'jobs/s', 'batches/job']]
for (const size of [1, 2]) {
  for (const [mode, window, jobs] of [
    ['burst', 0, total],
    ['window 256', 256, total],
    ['window 1', 1, Math.min(total, 20_000)],
  ] as const) {
    await measure(size, window, Math.min(jobs, 20_000)) // warm-up
    const r = await measure(size, window, jobs)
    rows.push([
      String(size),
      mode,
      Math.round(r.jobsPerSec).toLocaleString('en'),
      r.batchesPerJob.toFixed(4),
    ])
  }
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
for (const row of rows) console.log(row.map((cell, c) => cell.padStart(widths[c]!)).join('  '))

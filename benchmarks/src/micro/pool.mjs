// @mummy/workers: the cost of handing a job to a worker and getting its answer back, mirroring
// packages/workers' own bench: 256 jobs in flight (throughput per job) and 1 in flight (round
// trip), with 1 and 2 workers. The job is trivial, so this is all hand-off.
import { WorkerPool } from '@mummy/workers'

const WORKER = new URL('./pool-worker.mjs', import.meta.url)

async function measure(size, window, jobs) {
  let done = 0
  let submitted = 0
  let finish = () => {}
  const finished = new Promise((resolve) => (finish = resolve))
  const payload = { method: 'GET', path: '/', headers: ['host', 'x'], n: 0 }
  const pool = new WorkerPool({
    size,
    workerURL: WORKER,
    onMessage() {},
    onJobDone() {
      if (++done === jobs) finish()
      else if (submitted < jobs) {
        submitted++
        pool.submit(payload)
      }
    },
  })
  await pool.start()
  const started = performance.now()
  for (; submitted < Math.min(window, jobs); submitted++) pool.submit(payload)
  await finished
  const elapsed = performance.now() - started
  const { batches } = pool.stats()
  await pool.close()
  return { msPerJob: elapsed / jobs, batchesPerJob: batches / jobs }
}

export default async function run() {
  const rows = []
  for (const size of [1, 2]) {
    for (const [label, window, jobs] of [
      ['256 in flight', 256, 100_000],
      ['1 in flight (round trip)', 1, 10_000],
    ]) {
      await measure(size, window, Math.min(jobs, 10_000)) // warm-up
      const samples = []
      let batches = 0
      for (let r = 0; r < 3; r++) {
        const result = await measure(size, window, jobs)
        samples.push(result.msPerJob)
        batches = result.batchesPerJob
      }
      const ms = Math.min(...samples) // fastest run: noise only adds time
      rows.push({
        name: `${size} worker${size === 1 ? '' : 's'}, ${label}`,
        unit: 'job',
        nsPerOp: ms * 1e6,
        opsPerSec: 1000 / ms,
        note: `${batches.toFixed(3)} batches/job`,
      })
    }
  }
  return rows
}

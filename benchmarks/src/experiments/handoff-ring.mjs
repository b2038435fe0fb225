// Experiment: what would a shared-memory answer ring save the IO thread, compared with one
// postMessage per answer (how @mummy's workers answer today)? No sockets, no server: the main
// thread keeps 100 jobs in flight on one worker, submits them in batches per event-loop turn (as
// the pool does), and the worker answers each with an HTTP-shaped answer (status, two headers,
// a 26-byte body). Measures jobs/s and the main thread's busy time per job
// (performance.eventLoopUtilization).
//
//   node benchmarks/src/experiments/handoff-ring.mjs [message|ring] [seconds]
//
// message: the worker posts ['r', id, status, headers, body] per answer.
// ring:    the worker writes the same fields into a SharedArrayBuffer ring (single producer,
//          single consumer) and posts a doorbell only when the main thread has not yet taken
//          the last one (compare-and-swap on a flag); the main thread drains everything there is
//          per doorbell. Same information crosses; only the carrier differs.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'

const IN_FLIGHT = 100
const RING = 1 << 20
const BODY = Buffer.from('abcdefghijklmnopqrstuvwxyz')
const HEADERS = ['Content-Type', 'text/plain', 'Vary', 'Accept-Encoding']
const W = 0 // control cells: write offset, read offset, doorbell flag
const R = 1
const BELL = 2

/** Ring record: id i32, status u16, header count u16, [len u16, latin1]…, body len u32, body; 4-aligned. */
function writeRecord(view, at, id, status, headers, body) {
  let p = at
  view.writeInt32LE(id, p)
  view.writeUInt16LE(status, p + 4)
  view.writeUInt16LE(headers.length, p + 6)
  p += 8
  for (const h of headers) {
    const n = view.write(h, p + 2, 'latin1')
    view.writeUInt16LE(n, p)
    p += 2 + n
  }
  view.writeUInt32LE(body.length, p)
  body.copy(view, p + 4)
  p = (p + 4 + body.length + 3) & ~3
  return p + 4096 > RING ? 0 : p
}

function readRecord(view, at, out) {
  let p = at
  out.id = view.readInt32LE(p)
  out.status = view.readUInt16LE(p + 4)
  const count = view.readUInt16LE(p + 6)
  p += 8
  const headers = new Array(count)
  for (let i = 0; i < count; i++) {
    const n = view.readUInt16LE(p)
    headers[i] = view.latin1Slice(p + 2, p + 2 + n)
    p += 2 + n
  }
  const len = view.readUInt32LE(p)
  out.headers = headers
  out.body = new Uint8Array(view.subarray(p + 4, p + 4 + len)) // a copy the caller owns
  p = (p + 4 + len + 3) & ~3
  return p + 4096 > RING ? 0 : p
}

if (isMainThread) {
  const mode = process.argv[2] ?? 'message'
  const seconds = Number(process.argv[3] ?? 4)
  const sab = new SharedArrayBuffer(16 + RING)
  const ctl = new Int32Array(sab, 0, 4)
  const view = Buffer.from(sab, 16, RING)
  const worker = new Worker(new URL(import.meta.url), { workerData: { mode, sab } })
  let done = 0
  let pending = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    const batch = pending
    pending = []
    worker.postMessage(batch)
  }
  const submit = (id) => {
    pending.push(['GET', '/', 1, ['Host', 'x', 'User-Agent', 'wrk'], id])
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
  const answer = (id, status, headers, body) => {
    if (status !== 200 || headers.length !== 4 || body.length !== BODY.length)
      throw new Error('bad answer')
    done++
    submit(id)
  }
  const record = {}
  worker.on('message', (m) => {
    if (mode === 'message') return answer(m[1], m[2], m[3], m[4])
    Atomics.store(ctl, BELL, 0) // first: an answer written after this rings again
    let r = Atomics.load(ctl, R)
    const w = Atomics.load(ctl, W)
    while (r !== w) {
      r = readRecord(view, r, record)
      answer(record.id, record.status, record.headers, record.body)
    }
    Atomics.store(ctl, R, r)
  })
  worker.once('online', () => {
    for (let i = 0; i < IN_FLIGHT; i++) submit(i)
    setTimeout(() => {
      const elu0 = performance.eventLoopUtilization()
      const t0 = performance.now()
      const d0 = done
      setTimeout(() => {
        const elu = performance.eventLoopUtilization(elu0)
        const n = done - d0
        const secs = (performance.now() - t0) / 1000
        console.log(
          `${mode.padEnd(7)} ${Math.round(n / secs)
            .toLocaleString('en')
            .padStart(9)} jobs/s   main thread busy ${(elu.utilization * 100).toFixed(0)}%, ` +
            `${((elu.active * 1000) / n).toFixed(2)} µs per job`,
        )
        process.exit(0)
      }, seconds * 1000)
    }, 500)
  })
} else {
  const { mode, sab } = workerData
  const ctl = new Int32Array(sab, 0, 4)
  const view = Buffer.from(sab, 16, RING)
  parentPort.on('message', (batch) => {
    for (const job of batch) {
      const id = job[4]
      if (mode === 'message') {
        const body = new Uint8Array(BODY)
        parentPort.postMessage(['r', id, 200, HEADERS, body], [body.buffer])
        continue
      }
      // 100 answers in flight are ~8 KB: this ring never fills here. A real one must wait for
      // the reader (or fall back to a message, keeping order) when it would.
      const w = Atomics.load(ctl, W)
      Atomics.store(ctl, W, writeRecord(view, w, id, 200, HEADERS, BODY))
      if (Atomics.compareExchange(ctl, BELL, 0, 1) === 0) parentPort.postMessage(0)
    }
  })
}

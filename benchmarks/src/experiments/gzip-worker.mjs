// gzip on a worker thread: fflate's gzipSync against node:zlib's gzipSync (native zlib, run
// synchronously on the calling thread — no libuv pool), at level 6, for bodies from 64 bytes to
// 1 MiB of the json scenario's kind of content (and a less repetitive text). Both run in the
// same worker_threads worker, alternating in rounds, the way @mummy's workers compress answers.
// Prints µs per call (median of the rounds) and output size per body size.
//
//   node benchmarks/src/experiments/gzip-worker.mjs [--rounds 7] [--ms 300]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import zlib from 'node:zlib'
import { gzipSync as fflateGzip } from 'fflate'
import { makeDocument } from '@mummy/wrk-servers/lib/work.js'

const SIZES = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576]

function bodies() {
  const json = Buffer.from(JSON.stringify(makeDocument()))
  let big = json
  while (big.length < SIZES.at(-1)) big = Buffer.concat([big, json])
  // Less repetitive: words drawn from a fixed pseudo-random sequence.
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi'.split(
    ' ',
  )
  let seed = 1
  const text = []
  let length = 0
  while (length < SIZES.at(-1)) {
    seed = (seed * 1103515245 + 12345) >>> 0
    const word = `${words[seed % words.length]}${seed % 977} `
    text.push(word)
    length += word.length
  }
  const prose = Buffer.from(text.join(''))
  return { json: big, prose }
}

function time(fn, ms) {
  let calls = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < ms) {
    for (let i = 0; i < 8; i++) fn()
    calls += 8
    t = performance.now()
  }
  return ((t - t0) * 1000) / calls
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

if (isMainThread) {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '7' }, ms: { type: 'string', default: '300' } },
  })
  const worker = new Worker(fileURLToPath(import.meta.url), {
    workerData: { rounds: Number(values.rounds), ms: Number(values.ms) },
  })
  worker.on('message', (rows) => {
    console.log(
      '| content | bytes | fflate µs | node:zlib µs | zlib / fflate | fflate out | zlib out |',
    )
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for (const r of rows)
      console.log(
        `| ${r.kind} | ${r.size} | ${r.fflate.toFixed(1)} | ${r.zlib.toFixed(1)} | ` +
          `${(r.zlib / r.fflate).toFixed(2)} | ${r.fflateOut} | ${r.zlibOut} |`,
      )
    console.log(`\nlevel 6, one worker thread, medians of ${values.rounds} alternating rounds.`)
  })
} else {
  const { rounds, ms } = workerData
  const all = bodies()
  const rows = []
  for (const kind of ['json', 'prose']) {
    for (const size of SIZES) {
      const body = new Uint8Array(all[kind].subarray(0, size))
      const f = () => fflateGzip(body, { level: 6, mtime: 0 })
      const z = () => zlib.gzipSync(body, { level: 6 })
      // The two must agree on the content.
      if (!zlib.gunzipSync(f()).equals(zlib.gunzipSync(z()))) throw new Error('outputs differ')
      time(f, 50)
      time(z, 50)
      const tf = []
      const tz = []
      for (let i = 0; i < rounds; i++) {
        tf.push(time(f, ms))
        tz.push(time(z, ms))
      }
      rows.push({
        kind,
        size,
        fflate: median(tf),
        zlib: median(tz),
        fflateOut: f().length,
        zlibOut: z().length,
      })
    }
  }
  parentPort.postMessage(rows)
}

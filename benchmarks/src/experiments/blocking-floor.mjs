// The floor of sleep10 on this machine, by hand-off design: the least a server can spend per
// request when 100 connections each wait on a handler that blocks a thread for 10 ms. Each mode
// is a minimal server — node:http parses and answers on the main thread, no routing, no claims,
// no timeouts — so the numbers bound what any pool built the same way can reach:
//
// - node:    node:http with a 10 ms timer (the scenario's reference peer: nothing blocks)
// - port:    100 worker_threads; each request goes to an idle worker by postMessage, the worker
//            blocks 10 ms (Atomics.wait) and answers by postMessage (how @mummy's pool talks)
// - shared:  the same, but the request reaches a worker through a shared-memory mailbox and the
//            worker waits for it in Atomics.wait, never returning to its event loop (answers by
//            postMessage). Sound only for a worker that runs nothing but synchronous jobs.
// - shared2: `shared`, and the answer comes back through the mailbox too: the main thread
//            learns of it with Atomics.waitAsync (no MessagePort at all per request).
//
// Prints req/s (× node), server CPU per request split into main thread and the rest, and
// voluntary / involuntary context switches per request, for wrk -t2 -c100 after a warm-up;
// rounds alternate between the modes and the table shows medians.
//
//   node benchmarks/src/experiments/blocking-floor.mjs [--rounds 3] [--seconds 8] [--warmup 12]
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import http from 'node:http'

const WORKERS = 100
const SLEEP_MS = 10
const BODY = 'abcdefghijklmnopqrstuvwxyz'
const HEADERS = { 'Content-Type': 'text/plain' }
const MODES = ['node', 'port', 'shared', 'shared2']

if (!isMainThread) worker()
else if (process.env.FLOOR_MODE !== undefined) await serve(process.env.FLOOR_MODE)
else await measureAll()

/** One worker thread of the `port` or `shared` server. */
function worker() {
  const nap = new Int32Array(new SharedArrayBuffer(4))
  const encoder = new TextEncoder()
  const answer = (id) => {
    Atomics.wait(nap, 0, 0, SLEEP_MS)
    parentPort.postMessage([id, encoder.encode(BODY)])
  }
  const answerInBox = (box, bytes) => {
    Atomics.wait(nap, 0, 0, SLEEP_MS)
    const { written } = encoder.encodeInto(BODY, bytes)
    Atomics.store(box, 1, written)
    Atomics.store(box, 0, 0)
    Atomics.notify(box, 0)
  }
  if (workerData.mode === 'port') {
    parentPort.on('message', (job) => answer(job[0]))
    parentPort.postMessage('ready')
    return
  }
  const box = new Int32Array(workerData.box, 0, 2)
  const bytes = new Uint8Array(workerData.box, 8)
  const decoder = new TextDecoder()
  parentPort.postMessage('ready')
  for (;;) {
    Atomics.wait(box, 0, 0)
    const target = decoder.decode(bytes.subarray(0, Atomics.load(box, 1)))
    if (workerData.mode === 'shared2') {
      answerInBox(box, bytes)
      continue
    }
    Atomics.store(box, 0, 0)
    answer(target.length)
  }
}

/** Runs the server of `mode` on PORT until killed. */
async function serve(mode) {
  const port = Number(process.env.PORT)
  if (mode === 'node') {
    http
      .createServer((req, res) => setTimeout(() => res.writeHead(200, HEADERS).end(BODY), SLEEP_MS))
      .listen(port, '127.0.0.1')
    return
  }
  const idle = []
  const waiting = []
  const encoder = new TextEncoder()
  const members = []
  for (let i = 0; i < WORKERS; i++) {
    const box = mode === 'port' ? null : new SharedArrayBuffer(8 + 4096)
    const thread = new Worker(new URL(import.meta.url), { workerData: { mode, box } })
    const member = {
      thread,
      box: box && new Int32Array(box, 0, 2),
      bytes: box && new Uint8Array(box, 8),
      res: null,
    }
    members.push(member)
  }
  await Promise.all(members.map((m) => new Promise((resolve) => m.thread.once('message', resolve))))
  const run = (member, req, res) => {
    member.res = res
    if (mode === 'port') {
      member.thread.postMessage([0, req.method, req.url, req.rawHeaders])
      return
    }
    const { written } = encoder.encodeInto(`${req.method} ${req.url}`, member.bytes)
    Atomics.store(member.box, 1, written)
    Atomics.store(member.box, 0, 1)
    Atomics.notify(member.box, 0)
    if (mode === 'shared2') {
      const wait = Atomics.waitAsync(member.box, 0, 1)
      const answered = () => {
        const length = Atomics.load(member.box, 1)
        finish(member, Buffer.from(member.bytes.subarray(0, length)))
      }
      if (wait.async) void wait.value.then(answered)
      else answered()
    }
  }
  const finish = (member, body) => {
    const res = member.res
    member.res = null
    res.writeHead(200, HEADERS).end(body)
    const next = waiting.shift()
    if (next !== undefined) run(member, next[0], next[1])
    else idle.push(member)
  }
  for (const member of members) {
    member.thread.on('message', (message) => finish(member, Buffer.from(message[1])))
    idle.push(member)
  }
  http
    .createServer((req, res) => {
      const member = idle.pop()
      if (member !== undefined) run(member, req, res)
      else waiting.push([req, res])
    })
    .listen(port, '127.0.0.1')
}

/** CPU ticks (main thread, all threads) and context switches of `pid`, summed over its threads. */
function counters(pid) {
  let cpu = 0
  let main = 0
  let voluntary = 0
  let involuntary = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')
      const ticks = Number(stat[11]) + Number(stat[12])
      cpu += ticks
      if (tid === String(pid)) main += ticks
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
      voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)[1])
      involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)[1])
    } catch {
      // the thread ended meanwhile
    }
  }
  return { cpu, main, voluntary, involuntary }
}

function wrk(port, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t2', '-c100', `-d${seconds}s`, `http://127.0.0.1:${port}/`])
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('error', reject)
    child.on('exit', () => {
      const match = /Requests\/sec:\s+([\d.]+)/.exec(out)
      if (match === null) reject(new Error(`wrk said: ${out}`))
      else resolve(Number(match[1]))
    })
  })
}

async function measure(mode, port, seconds, warmup) {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname], {
    env: { ...process.env, FLOOR_MODE: mode, PORT: String(port) },
    stdio: 'inherit',
  })
  try {
    for (let i = 0; ; i++) {
      const up = await new Promise((resolve) => {
        http
          .get(`http://127.0.0.1:${port}/`, (res) => resolve(res.resume() && true))
          .on('error', () => resolve(false))
      })
      if (up) break
      if (i > 300) throw new Error(`${mode} server did not start`)
      await sleep(100)
    }
    await wrk(port, warmup)
    const before = counters(child.pid)
    const rps = await wrk(port, seconds)
    const after = counters(child.pid)
    const requests = rps * seconds
    const us = (ticks) => (ticks * 10_000) / requests // ticks are 10 ms
    return {
      rps,
      cpu: us(after.cpu - before.cpu),
      main: us(after.main - before.main),
      voluntary: (after.voluntary - before.voluntary) / requests,
      involuntary: (after.involuntary - before.involuntary) / requests,
    }
  } finally {
    child.kill()
    await new Promise((resolve) => child.once('exit', resolve))
  }
}

async function measureAll() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '12' },
    },
  })
  const rounds = Number(values.rounds)
  const results = Object.fromEntries(MODES.map((mode) => [mode, []]))
  let port = 18_400
  for (let round = 0; round < rounds; round++) {
    for (const mode of MODES) {
      const result = await measure(mode, port++, Number(values.seconds), Number(values.warmup))
      results[mode].push(result)
      console.error(
        `round ${round + 1} ${mode}: ${result.rps.toFixed(0)} req/s, ${result.cpu.toFixed(0)} µs`,
      )
    }
  }
  const median = (list, key) => {
    const sorted = list.map((r) => r[key]).sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)]
  }
  const reference = median(results.node, 'rps')
  console.log(
    '| mode | req/s | × node | CPU µs/req | main µs/req | other threads µs/req | voluntary switches/req | involuntary/req |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const mode of MODES) {
    const list = results[mode]
    const rps = median(list, 'rps')
    const cpu = median(list, 'cpu')
    const main = median(list, 'main')
    console.log(
      `| ${mode} | ${rps.toFixed(0)} | ${(rps / reference).toFixed(2)} | ${cpu.toFixed(0)} | ${main.toFixed(0)} | ${(cpu - main).toFixed(0)} | ${median(list, 'voluntary').toFixed(2)} | ${median(list, 'involuntary').toFixed(2)} |`,
    )
  }
}

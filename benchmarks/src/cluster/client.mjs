// Cross-instance fan-out load client in Node: `ws` for @mummy, `socket.io-client` for Socket.IO.
// Not the default: run.mjs uses clusterload.c (same CLI, semantics and output; C, epoll,
// threads), because in JavaScript the client costs more CPU per delivery than the servers do, and
// on a 2-core machine it takes that CPU from them. run.mjs falls back to this one when there is no
// C compiler, or with --client node.
//   node client.mjs <mummy|socketio> <burst|paced> <portA> <portB> <subscribers> <messages>
//                   [--threads T] [--warmup W] [--pids pid,pid,...]
// Subscribers alternate between instance A (portA) and B (portB) and are dealt to T worker
// threads (default 2), each its own event loop; the publisher (on A) runs in the main thread.
// Messages, checks, warm-up, modes and the JSON line: see clusterload.c. Latencies here come
// from process.hrtime (CLOCK_MONOTONIC, the same clock in every thread), taken as each message
// is handled.
import { readFileSync, readdirSync } from 'node:fs'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import WebSocket from 'ws'
import { io } from 'socket.io-client'

const PAYLOAD_LEN = 32
const CONNECT_BATCH = 50
const now = () => process.hrtime.bigint()

/** Ends the run with `message` on stderr (from a subscriber thread: through the main one). */
function fail(message) {
  if (!isMainThread) {
    parentPort.postMessage({ error: message })
    throw new Error(message)
  }
  process.stderr.write(`client.mjs: ${message}\n`)
  process.exit(1)
}

/**
 * One connection, subscriber or publisher, as `{ send(text), close() }`; resolves once ready.
 * `onMessage(text)` gets every benchmark message.
 */
function connect(proto, port, role, onMessage, where) {
  return new Promise((resolve) => {
    if (proto === 'socketio') {
      const socket = io(`http://127.0.0.1:${port}`, {
        transports: ['websocket'],
        query: { role },
        forceNew: true,
        reconnection: false,
        timeout: 20_000,
      })
      socket.on('connect_error', (error) => fail(`${where}: ${error.message}`))
      socket.on('disconnect', (reason) => fail(`${where}: disconnected (${reason})`))
      socket.on('m', (data) =>
        onMessage(typeof data === 'string' ? data : fail(`${where}: not text`)),
      )
      socket.once('connect', () =>
        resolve({
          send: (text) => socket.emit('pub', text),
          close: () => socket.off('disconnect').disconnect(),
        }),
      )
    } else {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/${role}`, { perMessageDeflate: false })
      ws.on('error', (error) => fail(`${where}: ${error.message}`))
      ws.on('close', (code) => fail(`${where}: closed by the server (close code ${code})`))
      ws.on('message', (data, isBinary) =>
        isBinary ? fail(`${where}: got a binary message`) : onMessage(data.toString()),
      )
      ws.once('open', () =>
        resolve({
          send: (text) => ws.send(text),
          close: () => ws.removeAllListeners('close').terminate(),
        }),
      )
    }
  })
}

/** Message `seq` with the time now: `<seq, 8 digits>:<ns, 20 digits>xxx`. */
const message = (seq) =>
  `${String(seq % 100_000_000).padStart(8, '0')}:${String(now()).padStart(20, '0')}xxx`

if (isMainThread) {
  const [proto, mode, ...rest] = process.argv.slice(2)
  const positional = rest.slice(0, 4).map(Number)
  const [portA, portB, count, amount] = positional
  const options = { threads: 2, warmup: 20, pids: '' }
  for (let i = 4; i < rest.length; i += 2) {
    const name = rest[i]?.replace(/^--/, '')
    if (!(name in options) || rest[i + 1] === undefined) fail(`unknown option ${rest[i]}`)
    options[name] = name === 'pids' ? rest[i + 1] : Number(rest[i + 1])
  }
  if (!['mummy', 'socketio'].includes(proto) || !['burst', 'paced'].includes(mode))
    fail(
      'usage: node client.mjs <mummy|socketio> <burst|paced> <portA> <portB> <subscribers> <messages> [--threads T] [--warmup W] [--pids a,b]',
    )
  if (positional.length !== 4 || !positional.every((v) => Number.isInteger(v) && v > 0))
    fail(`bad ports, subscribers or messages: ${rest.slice(0, 4).join(' ')}`)
  const pids = options.pids ? options.pids.split(',').map(Number) : []
  const threads = Math.min(options.threads, count)
  const warmup = options.warmup

  // Subscribers k = 0…count-1: side k % 2 (A, B), thread floor(k / 2) % threads.
  const shares = Array.from({ length: threads }, () => [])
  for (let k = 0; k < count; k++) shares[Math.floor(k / 2) % threads].push(k)
  const state = { sent: new Int32Array(new SharedArrayBuffer(4)) }
  const workers = shares.map(
    (ids) =>
      new Worker(new URL(import.meta.url), {
        workerData: { proto, ports: [portA, portB], ids, total: warmup + amount, sent: state.sent },
      }),
  )
  // Each worker answers { ready } once connected, { reached: k, t } once every one of its
  // subscribers has message k (asked with { until: k }), and { latencies } when asked to end.
  const inbox = workers.map(() => [])
  const waiting = new Map()
  workers.forEach((worker, i) => {
    worker.on('error', (error) => fail(`subscriber thread: ${error.stack ?? error}`))
    worker.on('message', (m) => {
      if (m.error !== undefined) fail(m.error)
      inbox[i].push(m)
      waiting.get(i)?.()
    })
  })
  const next = (i, timeoutMs, what) =>
    new Promise((resolve) => {
      if (inbox[i].length > 0) return resolve(inbox[i].shift())
      const timer = setTimeout(() => fail(`timed out: ${what}`), timeoutMs)
      waiting.set(i, () => {
        waiting.delete(i)
        clearTimeout(timer)
        resolve(inbox[i].shift())
      })
    })
  const all = (timeoutMs, what) => Promise.all(workers.map((_, i) => next(i, timeoutMs, what)))

  await all(40_000, 'connecting the subscribers')
  const publisher = await connect(
    proto,
    portA,
    'pub',
    () => fail('publisher got a message'),
    'publisher',
  )
  await new Promise((resolve) => setTimeout(resolve, 500)) // let the servers finish subscribing

  const publish = (seq) => {
    Atomics.store(state.sent, 0, seq)
    publisher.send(message(seq))
  }
  /** Waits until every subscriber has message k; the time the last one got it. */
  const reach = async (k, timeoutMs) => {
    for (const worker of workers) worker.postMessage({ until: k })
    const answers = await all(timeoutMs, `message ${k} did not reach every subscriber`)
    return answers.reduce((t, a) => (a.t > t ? a.t : t), 0n)
  }
  const burst = async (first, last) => {
    for (let seq = first; seq <= last; seq++) {
      publish(seq)
      if ((seq - first) % 50 === 49) await new Promise((resolve) => setImmediate(resolve))
    }
  }
  const processCpuNs = (pid) => {
    try {
      let total = 0
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
        } catch {
          // the thread just ended
        }
      }
      return total
    } catch {
      return -1
    }
  }

  if (warmup > 0) {
    await burst(1, warmup)
    await reach(warmup, 120_000)
  }
  for (const worker of workers) worker.postMessage({ measureFrom: warmup })
  await all(10_000, 'the subscriber threads')
  const cpu0 = pids.map(processCpuNs)
  const client0 = process.cpuUsage()
  const t0 = now()
  let tEnd
  const lastLatencies = []
  if (mode === 'burst') {
    await burst(warmup + 1, warmup + amount)
    tEnd = await reach(warmup + amount, 120_000)
  } else {
    for (let k = warmup + 1; k <= warmup + amount; k++) {
      const ts = now()
      publish(k)
      tEnd = await reach(k, 10_000)
      lastLatencies.push(Number(tEnd - ts) / 1e6)
    }
  }
  const cpu = pids.map((pid, i) => {
    const c1 = processCpuNs(pid)
    return c1 < 0 || cpu0[i] < 0 ? -1 : c1 - cpu0[i]
  })
  const clientCpu = process.cpuUsage(client0)

  for (const worker of workers) worker.postMessage({ end: true })
  const ends = await all(10_000, 'the subscriber threads')
  const sides = [[], []]
  for (const end of ends) for (const s of [0, 1]) sides[s].push(...end.latencies[s])
  const both = [...sides[0], ...sides[1]]
  if (both.length !== count * amount)
    fail(`${both.length} latencies recorded, expected ${count * amount}`)
  const pct = (xs, q) => {
    const sorted = Float64Array.from(xs).sort()
    return Number(sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1].toFixed(3))
  }
  const seconds = Number(tEnd - t0) / 1e9
  const out = {
    mode,
    rate: (count * amount) / seconds,
    p50Ms: pct(both, 0.5),
    p99Ms: pct(both, 0.99),
    maxMs: pct(both, 1),
  }
  if (sides[0].length > 0)
    Object.assign(out, { p50MsA: pct(sides[0], 0.5), p99MsA: pct(sides[0], 0.99) })
  if (sides[1].length > 0)
    Object.assign(out, { p50MsB: pct(sides[1], 0.5), p99MsB: pct(sides[1], 0.99) })
  if (mode === 'paced')
    Object.assign(out, { lastP50Ms: pct(lastLatencies, 0.5), lastP99Ms: pct(lastLatencies, 0.99) })
  Object.assign(out, {
    delivered: count * amount,
    seconds,
    cpuNs: cpu,
    clientCpuNs: (clientCpu.user + clientCpu.system) * 1000,
  })
  process.stdout.write(JSON.stringify(out) + '\n')
  publisher.close()
  process.exit(0)
} else {
  // A subscriber thread: its share of the subscribers, on its own event loop.
  const { proto, ports, ids, total, sent } = workerData
  let measureFrom = total
  let until = Infinity
  let behind = ids.length // subscribers that do not have message `until` yet
  let tLatest = 0n // the latest delivery: when every subscriber has message `until` and no later
  // one was sent, the time the last of them got it
  const latencies = [[], []]
  const received = new Array(ids.length).fill(0)
  const onMessage = (i, side, where) => (text) => {
    const t = (tLatest = now())
    const seq = Number(text.slice(0, 8))
    if (text.length !== PAYLOAD_LEN || text[8] !== ':' || !text.endsWith('xxx'))
      fail(`${where}: message "${text.slice(0, 100)}" is not one the publisher sent`)
    const n = ++received[i]
    if (seq !== n % 100_000_000)
      fail(`${where}: got message ${seq}, expected ${n} (lost, duplicated or out of order)`)
    if (n > Atomics.load(sent, 0))
      fail(`${where}: got message ${n}, but only ${Atomics.load(sent, 0)} were sent`)
    if (n > total) fail(`${where}: got more than ${total} messages`)
    if (n > measureFrom) latencies[side].push(Number(t - BigInt(text.slice(9, 29))) / 1e6)
    if (n === until && --behind === 0) parentPort.postMessage({ reached: until, t })
  }
  const subs = []
  for (let j = 0; j < ids.length; j += CONNECT_BATCH)
    subs.push(
      ...(await Promise.all(
        ids.slice(j, j + CONNECT_BATCH).map((k, i) => {
          const where = `subscriber ${k} (port ${ports[k % 2]})`
          return connect(proto, ports[k % 2], 'sub', onMessage(j + i, k % 2, where), where)
        }),
      )),
    )
  parentPort.on('message', (m) => {
    if (m.until !== undefined) {
      until = m.until
      behind = received.filter((n) => n < until).length
      if (behind === 0) parentPort.postMessage({ reached: until, t: tLatest })
    } else if (m.measureFrom !== undefined) {
      measureFrom = m.measureFrom
      parentPort.postMessage({ ok: true })
    } else if (m.end) {
      const short = received.findIndex((n) => n !== total)
      if (short >= 0)
        fail(`subscriber ${ids[short]}: got ${received[short]} messages, expected ${total}`)
      parentPort.postMessage({ latencies })
      for (const s of subs) s.close()
      parentPort.close()
    }
  })
  parentPort.postMessage({ ready: true })
}

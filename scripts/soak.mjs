// Soak test: runs the server (scripts/soak-app.mjs, 2 workers) in this process under a modest,
// steady, mixed load for a long time, samples memory and file descriptors every 10 s, and fails
// when they keep growing or when any answer, echo or broadcast was wrong or missing.
// Usage: pnpm soak [--minutes 30 | --seconds S] [--transport node|uws|both] [--rate 200]
//          [--out file.json] [--warmup 30] [--interval 10] [--workers 2] [--http-clients 4]
//          [--ws-clients 20] [--sse-clients 10] [--upload-kib 300]
//          [--max-heap-slope 2] [--max-heap-growth 2] [--max-rss-slope 50] [--max-rss-growth 50]
//          [--max-fd-slope 10] [--max-fd-growth 20] [--min-fd-growth 5] [--max-error-rate 0.001]
//          [--heap-snapshots DIR]
// (`node --expose-gc scripts/soak.mjs …` without the build.) `both` runs node:net, then
// uWebSockets.js, each for the whole duration. Exit code 1 when a run failed. --heap-snapshots
// writes the IO thread's heap at the baseline and at the end (after GC), to compare in DevTools
// (RSS is then not judged).
//
// Load, all at once, loopback only, until the time is up:
// - HTTP: --http-clients keep-alive clients (one socket at a time each) alternating
//   `GET /hello/:n` and `POST /echo` (a small JSON body echoed), --rate requests/s in all;
//   every answer checked; every 25th request of a client on a connection of its own.
// - WebSocket: --ws-clients clients for the whole run, each sending an echo every second (every
//   4th binary); all subscribed to one topic with a broadcast every second (odd ones published
//   from this thread with `server.publish`, even ones from a worker with `publish`). Every 10 s
//   three clients leave (two with a close handshake, one cut) and three new ones connect.
// - SSE: --sse-clients event streams subscribed to one topic, a `publishEvent` every second
//   (alternating threads as above); every 10 s two streams are cut and two new ones opened.
// - Uploads: every 2 s a multipart upload of --upload-kib KiB of random bytes, answered with the
//   size the worker found on disk; the uploads folder is counted at every sample.
// - Sampling: new connections to `GET /heap` (a full GC and that worker's heap), so each sample
//   also opens and closes a few connections.
//
// Every sample (every --interval s; the one at --warmup s is the baseline, earlier ones are
// warm-up and left out of the trends; see WARMUP for its default) records: the process's RSS; this (IO) thread's heap
// after gc(); each worker's heap after gc() (from /heap, which blocks its worker ~100 ms so
// that concurrent requests reach every worker); open fds (/proc/self/fd); and the counters.
// The load generator lives on the IO thread too, so it keeps nothing that grows: pending
// echoes and broadcasts are checked within 5 s and dropped.
//
// Verdicts per run, from least-squares slopes over the samples after warm-up:
// - Heap after GC (IO thread; workers summed) fails when it grows more than 2 MiB per 10 min
//   AND more than 2 MiB from the baseline to the end. After a full GC the heap of a server
//   whose connections come and go holds only live state, so it is flat within a few hundred
//   KiB; the growth condition keeps a short run (whose slope turns ±200 KiB of noise into
//   MiBs per 10 min) from failing on noise, the slope condition keeps a one-off step (a cache
//   filled late, code optimised) from failing a long run. What a 30-min run catches at the
//   defaults: per 10 min ~120,000 requests, ~30,000 WebSocket and SSE messages and ~5,600
//   connections (one-request HTTP, /publish and /heap connections, churn), so 2 MiB per 10 min is
//   ~18 bytes kept per request, ~70 per message or ~370 per connection.
// - RSS is reported; it fails only on gross growth (> 50 MiB per 10 min and > 50 MiB in all):
//   allocator arenas and V8's heap sizing make it noisy.
// - fds fail when the end is more than 20 above the baseline, or when the slope is above 10
//   per 10 min with the end at least 5 above the baseline (a fd or two in flight at a sample
//   would otherwise read as a slope of dozens per 10 min on a short run).
// - Checks: HTTP errors above 0.1 % of requests; any echo or broadcast missing after 5 s or
//   delivered twice; a WebSocket or event stream closed or failed by the server; a failed
//   upload; files left in the uploads folder; an error logged by the server.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import v8 from 'node:v8'
import { createServer } from '../packages/server/dist/index.js'
import { SSE_TOPIC, WS_TOPIC } from './soak-app.mjs'

// `ws` is a dependency of the server package (not of the root): resolve it from there.
const WebSocket = createRequire(new URL('../packages/server/package.json', import.meta.url))('ws')

const APP = new URL('./soak-app.mjs', import.meta.url)
const MiB = 1024 * 1024
/** How long an echo or broadcast may take before it counts as missing. */
const DELIVERY_MS = 5000

/** Says what is wrong with the command line, and exits. */
function usage(message) {
  console.error(`soak: ${message}`)
  console.error(
    'usage: pnpm soak [--minutes 30 | --seconds S] [--transport node|uws|both] [--rate 200] [--out file.json] …',
  )
  process.exit(2)
}

const OPTIONS = [
  'minutes',
  'seconds',
  'transport',
  'rate',
  'out',
  'warmup',
  'interval',
  'workers',
  'http-clients',
  'ws-clients',
  'sse-clients',
  'upload-kib',
  'max-heap-slope',
  'max-heap-growth',
  'max-rss-slope',
  'max-rss-growth',
  'max-fd-slope',
  'max-fd-growth',
  'min-fd-growth',
  'max-error-rate',
  'heap-snapshots',
]
let args
try {
  args = parseArgs({
    // `pnpm soak -- --minutes 5` passes the `--` on.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: Object.fromEntries(OPTIONS.map((name) => [name, { type: 'string' }])),
  }).values
} catch (error) {
  usage(error.message)
}
/** The number given as --name (or `fallback`); above 0 with `positive`. */
const number = (name, fallback, positive = false) => {
  const value = Number(args[name] ?? fallback)
  if (!Number.isFinite(value) || value < 0 || (positive && value === 0))
    usage(`--${name} ${args[name]}: not a ${positive ? 'positive ' : ''}number`)
  return value
}
const SECONDS =
  args.seconds !== undefined ? number('seconds', 0, true) : number('minutes', 30, true) * 60
const INTERVAL = number('interval', 10, true)
// Warm-up: a tenth of the run, 30 s to 5 min (at most half of it), on an interval. V8 keeps
// compiling for minutes under this load: from 30 s to 150 s the IO heap after GC grew 0.7 MiB,
// most of it optimised code and its metadata (heap snapshots), which is no leak.
const WARMUP = number(
  'warmup',
  Math.floor(Math.min(Math.max(30, SECONDS / 10), 300, SECONDS / 2) / INTERVAL) * INTERVAL,
)
const RATE = number('rate', 200, true)
const WORKERS = number('workers', 2)
const HTTP_CLIENTS = number('http-clients', 4)
const WS_CLIENTS = number('ws-clients', 20)
const SSE_CLIENTS = number('sse-clients', 10)
const UPLOAD_KIB = number('upload-kib', 300)
const LIMITS = {
  heapSlope: number('max-heap-slope', 2) * MiB,
  heapGrowth: number('max-heap-growth', 2) * MiB,
  rssSlope: number('max-rss-slope', 50) * MiB,
  rssGrowth: number('max-rss-growth', 50) * MiB,
  fdSlope: number('max-fd-slope', 10),
  fdGrowth: number('max-fd-growth', 20),
  fdMinGrowth: number('min-fd-growth', 5),
  errorRate: number('max-error-rate', 0.001),
}
const TRANSPORTS = { node: ['node'], uws: ['uws'], both: ['node', 'uws'] }[args.transport ?? 'both']
if (!TRANSPORTS) usage(`--transport ${args.transport}: node, uws or both`)
if (SECONDS < 2 * INTERVAL || WARMUP >= SECONDS)
  usage(`run at least ${2 * INTERVAL} s, and longer than the warm-up (${WARMUP} s)`)
if (typeof globalThis.gc !== 'function')
  usage('run with node --expose-gc (pnpm soak does): the heap is measured after gc()')
const OUT =
  args.out ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-soak-')), 'soak.json')

// Stops a run that hangs (the timer only fires while something else keeps the process alive).
setTimeout(
  () => {
    console.error(`soak: still running ${TRANSPORTS.length * SECONDS + 120} s after the start`)
    process.exit(1)
  },
  (TRANSPORTS.length * SECONDS + 120) * 1000,
).unref()

const mib = (bytes) => `${(bytes / MiB).toFixed(2)} MiB`
const signed = (text, value) => (value >= 0 ? `+${text}` : text)
const openFds = () => {
  try {
    return fs.readdirSync('/proc/self/fd').length
  } catch {
    return null // not Linux
  }
}

/** Least-squares slope of `ys` over `xs`. */
function slope(xs, ys) {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my)
    sxx += (xs[i] - mx) ** 2
  }
  return sxx === 0 ? 0 : sxy / sxx
}

/**
 * One HTTP request; resolves to `{ status, type, body }` (the body as text). Fails after
 * 10 s. `agent: false` opens a connection for this request alone.
 */
function request(url, { method = 'GET', agent = false, headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode, type: res.headers['content-type'], body: text }),
      )
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)))
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Broadcasts in flight: for each sequence number, the clients that must get it (ready when it
 * was sent) and those that did. Checked `DELIVERY_MS` after sending, then forgotten.
 */
class Deliveries {
  #pending = new Map()
  #run
  #what
  constructor(run, what) {
    this.#run = run
    this.#what = what
  }

  expect(seq, clients) {
    const expected = new Set([...clients].filter((client) => client.ready && !client.closing))
    this.#pending.set(seq, { at: performance.now(), expected, got: new Set() })
  }

  receive(seq, client) {
    const record = this.#pending.get(seq)
    if (record === undefined) {
      this.#run.problem(`${this.#what}Missed`, `${this.#what} #${client.id}: ${seq} came late`)
    } else if (record.got.has(client)) {
      this.#run.problem(`${this.#what}Duplicates`, `${this.#what} #${client.id}: ${seq} twice`)
    } else {
      record.got.add(client)
      record.expected.delete(client)
      this.#run.counts[`${this.#what}Deliveries`]++
    }
  }

  /** Counts deliveries still missing `DELIVERY_MS` after sending (all of them with `all`). */
  check(all = false) {
    const now = performance.now()
    for (const [seq, record] of this.#pending) {
      if (!all && now - record.at < DELIVERY_MS) continue
      for (const client of record.expected)
        if (!client.closing)
          this.#run.problem(`${this.#what}Missed`, `${this.#what} #${client.id}: ${seq} missing`)
      this.#pending.delete(seq)
    }
  }

  get complete() {
    for (const record of this.#pending.values())
      for (const client of record.expected) if (!client.closing) return false
    return true
  }
}

/** HTTP keep-alive clients, each one request at a time, at `RATE` requests/s in all. */
class HttpLoad {
  #run
  #loops = []
  #stopped = false
  constructor(run) {
    this.#run = run
  }

  start() {
    for (let id = 1; id <= HTTP_CLIENTS; id++) this.#loops.push(this.#loop(id))
  }

  async #loop(id) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const interval = (HTTP_CLIENTS * 1000) / RATE
    let next = performance.now() + Math.random() * interval
    for (let n = 1; !this.#stopped; n++) {
      await this.#one(agent, id, n)
      next += interval
      const wait = next - performance.now()
      if (wait > 0) await sleep(wait)
      else if (wait < -1000) next = performance.now() // fell behind: no burst to catch up
    }
    agent.destroy()
  }

  async #one(agent, id, n) {
    const { base, counts } = this.#run
    counts.requests++
    try {
      // Every 25th request goes on a connection of its own (`Connection: close`), so that HTTP
      // connections come and go too. (Not `Connection: close` on the kept socket: Node's
      // keep-alive agent reuses it unless the answer says `close`, and uWebSockets.js closes
      // without saying so: the next request would fail with "socket hang up".)
      const via = n % 25 === 0 ? false : agent
      if (n % 2 === 1) {
        const res = await request(`${base}/hello/${n}`, { agent: via })
        if (res.status !== 200 || res.body !== `hello ${n}`)
          throw new Error(`GET /hello/${n}: ${res.status} ${res.body.slice(0, 80)}`)
      } else {
        const body = JSON.stringify({ client: id, n, pad: 'x'.repeat(128 + (n % 64)) })
        const res = await request(`${base}/echo`, {
          method: 'POST',
          agent: via,
          headers: { 'Content-Type': 'application/json' },
          body,
        })
        if (res.status !== 200 || res.body !== body || res.type !== 'application/json')
          throw new Error(`POST /echo: ${res.status} ${res.body.slice(0, 80)}`)
      }
    } catch (error) {
      this.#run.problem('requestErrors', `http client ${id}: ${error.message}`)
    }
  }

  async stop() {
    this.#stopped = true
    await Promise.all(this.#loops)
  }
}

/** WebSocket clients: echoes, a broadcast topic, churn. */
class WsLoad {
  #run
  #clients = new Set()
  #closing = new Set()
  #nextId = 0
  #timers = []
  #stopped = false
  deliveries
  constructor(run) {
    this.#run = run
    this.deliveries = new Deliveries(run, 'ws')
  }

  get clients() {
    return this.#clients
  }

  start() {
    for (let i = 0; i < WS_CLIENTS; i++) this.#open()
    this.#timers.push(setInterval(() => this.#echoes(), 1000))
    // Churn between the samples (so that one does not count sockets mid-close) and between
    // the echo ticks (so that a client does not leave with an echo just sent).
    this.#timers.push(
      setTimeout(() => this.#timers.push(setInterval(() => this.#churn(), 10_000)), 5500),
    )
  }

  #open() {
    const client = { id: ++this.#nextId, ready: false, closing: false, n: 0, echoes: new Map() }
    const ws = new WebSocket(`ws://127.0.0.1:${this.#run.port}/ws`, { perMessageDeflate: false })
    client.ws = ws
    client.closed = new Promise((resolve) => ws.once('close', resolve))
    this.#clients.add(client)
    this.#run.counts.wsOpened++
    const notReady = setTimeout(() => {
      if (!client.ready && !client.closing)
        this.#run.problem('wsErrors', `ws #${client.id}: not ready after 5 s`)
    }, DELIVERY_MS)
    ws.on('message', (data, isBinary) => this.#message(client, data, isBinary))
    ws.on('error', (error) => {
      if (!client.closing) this.#run.problem('wsErrors', `ws #${client.id}: ${error.message}`)
    })
    ws.on('close', (code) => {
      clearTimeout(notReady)
      this.#clients.delete(client)
      this.#closing.delete(client)
      if (client.closing) return
      client.closing = true
      this.#run.problem('wsErrors', `ws #${client.id}: closed by the server (${code})`)
      if (!this.#stopped) this.#open()
    })
  }

  #message(client, data, isBinary) {
    if (client.closing) return // leaving: what it still gets is not checked
    const text = data.toString()
    if (!isBinary && text === 'ready') {
      client.ready = true
    } else if (!isBinary && text.startsWith('bcast:')) {
      this.deliveries.receive(Number(text.slice(6)), client)
    } else if (text.startsWith('echo:')) {
      const n = Number(text.split(':')[1])
      const sent = client.echoes.get(n)
      if (sent === undefined || sent.text !== text || sent.binary !== isBinary) {
        this.#run.problem('wsEchoMissed', `ws #${client.id}: unexpected echo ${text.slice(0, 40)}`)
      } else {
        client.echoes.delete(n)
        this.#run.counts.wsEchoes++
      }
    } else {
      this.#run.problem('wsErrors', `ws #${client.id}: unexpected message ${text.slice(0, 40)}`)
    }
  }

  /** Sends every ready client its next echo, and counts those still missing after 5 s. */
  #echoes() {
    const now = performance.now()
    for (const client of this.#clients) {
      for (const [n, sent] of client.echoes)
        if (now - sent.at > DELIVERY_MS) {
          client.echoes.delete(n)
          this.#run.problem('wsEchoMissed', `ws #${client.id}: echo ${n} missing`)
        }
      if (!client.ready || client.closing) continue
      const n = ++client.n
      const text = `echo:${n}:${'e'.repeat(64 + (n % 32))}`
      const binary = n % 4 === 0
      client.echoes.set(n, { at: now, text, binary })
      client.ws.send(binary ? Buffer.from(text) : text, { binary })
      this.#run.counts.wsEchoSent++
    }
    this.deliveries.check()
  }

  /** Two clients leave with a close handshake, one is cut; three new ones connect. */
  #churn() {
    const leaving = [...this.#clients].filter((c) => c.ready && !c.closing).slice(0, 3)
    leaving.forEach((client, i) => {
      client.closing = true
      this.#run.counts.wsEchoAbandoned += client.echoes.size
      client.echoes.clear()
      this.#closing.add(client)
      if (i < 2) client.ws.close(1000, 'churn')
      else client.ws.terminate()
      this.#run.counts.wsChurned++
      this.#open()
    })
  }

  /** True once every broadcast sent has reached every client that must get it. */
  get complete() {
    return this.deliveries.complete && [...this.#clients].every((c) => c.echoes.size === 0)
  }

  async stop() {
    this.#stopped = true
    this.#timers.forEach(clearInterval)
    this.deliveries.check(true)
    for (const client of this.#clients) {
      for (const n of client.echoes.keys())
        this.#run.problem('wsEchoMissed', `ws #${client.id}: echo ${n} missing at the end`)
      client.closing = true
      client.ws.close(1000, 'done')
    }
    const all = [...this.#clients, ...this.#closing].map((client) => client.closed)
    const done = await Promise.race([Promise.all(all).then(() => true), sleep(5000, false)])
    if (!done) this.#run.problem('wsErrors', 'ws: close handshakes unfinished after 5 s')
    for (const client of [...this.#clients, ...this.#closing]) client.ws.terminate()
  }
}

/** Event-stream clients on one topic, read with node:http; churn. */
class SseLoad {
  #run
  #clients = new Set()
  #nextId = 0
  #timers = []
  #stopped = false
  deliveries
  constructor(run) {
    this.#run = run
    this.deliveries = new Deliveries(run, 'sse')
  }

  get clients() {
    return this.#clients
  }

  start() {
    for (let i = 0; i < SSE_CLIENTS; i++) this.#open()
    this.#timers.push(setInterval(() => this.deliveries.check(), 1000))
    this.#timers.push(
      setTimeout(() => this.#timers.push(setInterval(() => this.#churn(), 10_000)), 5500),
    )
  }

  #open() {
    const client = { id: ++this.#nextId, ready: false, closing: false }
    this.#clients.add(client)
    this.#run.counts.sseOpened++
    const fail = (message) => {
      if (client.closing) return
      this.#run.problem('sseErrors', `sse #${client.id}: ${message}`)
    }
    const notReady = setTimeout(() => !client.ready && fail('not ready after 5 s'), DELIVERY_MS)
    const req = http.get(`${this.#run.base}/sse`, { agent: false }, (res) => {
      if (res.statusCode !== 200 || !res.headers['content-type']?.startsWith('text/event-stream')) {
        fail(`answered ${res.statusCode} ${res.headers['content-type']}`)
        req.destroy()
        return
      }
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        buffer += chunk
        for (let end; (end = buffer.indexOf('\n\n')) >= 0;) {
          this.#event(client, buffer.slice(0, end), fail)
          buffer = buffer.slice(end + 2)
        }
      })
    })
    client.req = req
    client.closed = new Promise((resolve) => req.once('close', resolve))
    req.on('error', (error) => fail(error.message))
    req.once('close', () => {
      clearTimeout(notReady)
      this.#clients.delete(client)
      if (client.closing) return
      fail('closed by the server')
      client.closing = true
      if (!this.#stopped) this.#open()
    })
  }

  /** One event block: `ready`, or a `tick` with its sequence number; comments are skipped. */
  #event(client, block, fail) {
    const fields = {}
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const name = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      fields[name] =
        name === 'data' && fields.data !== undefined ? `${fields.data}\n${value}` : value
    }
    if (fields.data === undefined) return // a heartbeat or comment
    if (fields.event === 'ready') client.ready = true
    else if (fields.event === 'tick' && fields.data === `tick ${fields.id}`)
      this.deliveries.receive(Number(fields.id), client)
    else fail(`unexpected event ${JSON.stringify(fields).slice(0, 80)}`)
  }

  /** Two streams are cut, two new ones opened. */
  #churn() {
    const leaving = [...this.#clients].filter((c) => c.ready && !c.closing).slice(0, 2)
    for (const client of leaving) {
      client.closing = true
      client.req.destroy()
      this.#run.counts.sseChurned++
      this.#open()
    }
  }

  async stop() {
    this.#stopped = true
    this.#timers.forEach(clearInterval)
    this.deliveries.check(true)
    const all = [...this.#clients]
    for (const client of all) {
      client.closing = true
      client.req.destroy()
    }
    await Promise.all(all.map((client) => client.closed))
  }
}

/** A multipart upload every 2 s, one at a time. */
class UploadLoad {
  #run
  #loop
  #stopped = false
  constructor(run) {
    this.#run = run
  }

  start() {
    this.#loop = (async () => {
      for (let n = 1; !this.#stopped; n++) {
        await this.#one(n)
        await sleep(2000)
      }
    })()
  }

  async #one(n) {
    const { base, counts } = this.#run
    const size = UPLOAD_KIB * 1024 + Math.floor(Math.random() * 1024)
    const form = new FormData()
    form.append('note', `upload ${n}`)
    form.append('file', new Blob([randomBytes(size)]), `soak-${n}.bin`)
    counts.uploads++
    try {
      const res = await fetch(`${base}/upload`, {
        method: 'POST',
        body: form,
        signal: AbortSignal.timeout(10_000),
      })
      const text = await res.text()
      // fetch() records a PerformanceResourceTiming per request (up to 250): this thread's
      // heap would grow with them for the first 8 minutes.
      performance.clearResourceTimings()
      if (res.status !== 200 || text !== JSON.stringify({ sizes: [size], note: `upload ${n}` }))
        throw new Error(`${res.status} ${text.slice(0, 80)} (sent ${size} bytes)`)
    } catch (error) {
      this.#run.problem('uploadErrors', `upload ${n}: ${error.message}`)
    }
  }

  async stop() {
    this.#stopped = true
    await this.#loop
  }
}

/** Every second: a broadcast to the WebSockets and one to the event streams. */
class Publisher {
  #run
  #timer
  #seq = 0
  #inFlight = new Set()
  constructor(run) {
    this.#run = run
  }

  start() {
    this.#timer = setInterval(() => this.#tick(), 1000)
  }

  #tick() {
    const { server, base, counts, ws, sse } = this.#run
    const seq = ++this.#seq
    ws.deliveries.expect(seq, ws.clients)
    sse.deliveries.expect(seq, sse.clients)
    counts.publishes++
    if (seq % 2 === 1) {
      // From this (the IO) thread.
      server.publish(WS_TOPIC, `bcast:${seq}`)
      server.publishEvent(SSE_TOPIC, { event: 'tick', id: String(seq), data: `tick ${seq}` })
      return
    }
    // From a worker, through a route (a new connection each time).
    counts.requests++
    const done = request(`${base}/publish/${seq}`)
      .then((res) => {
        if (res.status !== 200 || res.body !== 'published')
          throw new Error(`GET /publish/${seq}: ${res.status} ${res.body.slice(0, 80)}`)
      })
      .catch((error) => this.#run.problem('requestErrors', error.message))
      .finally(() => this.#inFlight.delete(done))
    this.#inFlight.add(done)
  }

  async stop() {
    clearInterval(this.#timer)
    await Promise.all(this.#inFlight)
  }
}

/**
 * Every worker's heap after a full GC: concurrent `GET /heap` requests (each blocks its worker
 * ~100 ms, so they spread), repeated until every worker answered. Returns threadId → bytes.
 */
async function workerHeaps(run) {
  const heaps = new Map()
  for (let round = 0; round < 5 && heaps.size < WORKERS; round++) {
    const answers = await Promise.allSettled(
      Array.from({ length: WORKERS * 2 }, () => request(`${run.base}/heap`)),
    )
    for (const answer of answers) {
      run.counts.requests++
      if (answer.status === 'rejected' || answer.value.status !== 200) {
        const why = answer.reason?.message ?? `${answer.value.status} ${answer.value.body}`
        run.problem('requestErrors', `GET /heap: ${why}`)
        continue
      }
      const { threadId, heapUsed, gc } = JSON.parse(answer.value.body)
      if (!gc) throw new Error('no gc() in the workers: run with node --expose-gc')
      heaps.set(threadId, heapUsed)
    }
  }
  return heaps
}

/** Soaks one transport; returns its record (samples, table, failures). */
async function soak(transport) {
  console.log(`\n=== ${transport}: ${SECONDS} s, warm-up ${WARMUP} s, sample every ${INTERVAL} s`)
  const uploadsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-soak-uploads-'))
  const fdsBefore = openFds()
  const serverLog = { error: 0, warn: 0, printed: 0 }
  let server
  try {
    server = createServer({
      app: APP,
      workers: WORKERS,
      transport,
      uploads: { dir: uploadsDir },
      logHandler: (level, message) => {
        if (level === 'debug') return
        if (level === 'error' || level === 'warn') serverLog[level]++
        if (serverLog.printed++ < 20) console.log(`  server ${level}: ${message}`)
      },
    })
    await server.listen(0, '127.0.0.1')
  } catch (error) {
    fs.rmSync(uploadsDir, { recursive: true, force: true })
    if (error?.code === 'ERR_MUMMY_TRANSPORT_UNAVAILABLE' && TRANSPORTS.length > 1) {
      console.log(`skipped: ${error.message}`)
      return { transport, skipped: error.message, failures: [] }
    }
    throw error
  }

  const counts = {
    requests: 0,
    requestErrors: 0,
    publishes: 0,
    wsOpened: 0,
    wsChurned: 0,
    wsErrors: 0,
    wsEchoSent: 0,
    wsEchoes: 0,
    wsEchoMissed: 0,
    wsEchoAbandoned: 0,
    wsDeliveries: 0,
    wsMissed: 0,
    wsDuplicates: 0,
    sseOpened: 0,
    sseChurned: 0,
    sseErrors: 0,
    sseDeliveries: 0,
    sseMissed: 0,
    sseDuplicates: 0,
    uploads: 0,
    uploadErrors: 0,
  }
  let printed = 0
  const run = {
    server,
    port: server.port,
    base: `http://127.0.0.1:${server.port}`,
    counts,
    /** Counts a failed check under `kind`; prints the first 20. */
    problem(kind, message) {
      counts[kind]++
      if (printed++ < 20) console.log(`  ! ${message}`)
      else if (printed === 21) console.log('  ! (further problems are counted, not printed)')
    },
  }
  const httpLoad = new HttpLoad(run)
  run.ws = new WsLoad(run)
  run.sse = new SseLoad(run)
  const uploads = new UploadLoad(run)
  const publisher = new Publisher(run)
  const loads = [httpLoad, run.ws, run.sse, uploads, publisher]
  for (const load of loads) load.start()

  // Samples at every interval, at the end of the warm-up and at the end.
  const times = new Set([WARMUP, SECONDS])
  for (let t = INTERVAL; t <= SECONDS; t += INTERVAL) times.add(t)
  const samples = []
  // Every worker's latest heap (by threadId, most recent last) and every threadId seen.
  const latest = new Map()
  const workerIds = new Set()
  // Samples fall half a second off the load's 1-s ticks, and count fds (and uploads) before
  // their own /heap connections: a sample does not count a connection a tick is opening.
  const start = performance.now() + 500
  for (const t of [...times].sort((a, b) => a - b)) {
    await sleep(start + t * 1000 - performance.now())
    const fds = openFds()
    const uploadsDirFiles = fs.readdirSync(uploadsDir).length
    const heaps = await workerHeaps(run)
    const answered = heaps.size
    for (const [id, bytes] of heaps) {
      workerIds.add(id)
      latest.delete(id)
      latest.set(id, bytes)
    }
    // A worker that did not answer this time counts with its latest value.
    for (const [id, bytes] of [...latest].reverse())
      if (heaps.size < WORKERS && !heaps.has(id)) heaps.set(id, bytes)
    globalThis.gc()
    globalThis.gc()
    const memory = process.memoryUsage()
    if (args['heap-snapshots'] !== undefined && (t === WARMUP || t === SECONDS)) {
      const file = path.join(args['heap-snapshots'], `io-${transport}-${t}s.heapsnapshot`)
      fs.mkdirSync(args['heap-snapshots'], { recursive: true })
      console.log(`  [${transport}] heap snapshot: ${v8.writeHeapSnapshot(file)}`)
    }
    const sample = {
      t,
      warmup: t < WARMUP,
      rss: memory.rss,
      ioHeap: memory.heapUsed,
      ioExternal: memory.external,
      // Where the IO heap is (old space, code space, …): tells a leak from code being compiled.
      ioHeapSpaces: Object.fromEntries(
        v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size]),
      ),
      workerHeaps: Object.fromEntries(heaps),
      workersHeap: [...heaps.values()].reduce((a, b) => a + b, 0),
      workersAnswered: answered,
      fds,
      uploadsDirFiles,
      wsClients: run.ws.clients.size,
      sseClients: run.sse.clients.size,
      counts: { ...counts },
    }
    samples.push(sample)
    const errors = problemCount(counts)
    console.log(
      `  [${transport}] ${String(t).padStart(5)} s${sample.warmup ? ' (warm-up)' : t === WARMUP ? ' (baseline)' : ''}  ` +
        `rss ${mib(sample.rss)}  io heap ${mib(sample.ioHeap)}  ` +
        `workers ${sample.workersAnswered}× ${mib(sample.workersHeap)}  fds ${sample.fds}  ` +
        `uploads dir ${sample.uploadsDirFiles}  requests ${counts.requests}  ` +
        `ws ${counts.wsEchoes} echoes ${counts.wsDeliveries} bcast  sse ${counts.sseDeliveries}  ` +
        `uploads ${counts.uploads}  problems ${errors}`,
    )
  }

  // Stop the load, let the last broadcasts and echoes arrive, check, close everything.
  await Promise.all([httpLoad.stop(), uploads.stop(), publisher.stop()])
  const settle = performance.now()
  while (!(run.ws.complete && run.sse.deliveries.complete)) {
    if (performance.now() - settle > DELIVERY_MS) break
    await sleep(50)
  }
  await Promise.all([run.ws.stop(), run.sse.stop()])
  // Upload files are deleted after their handler: give the last one a moment.
  for (let i = 0; i < 20 && fs.readdirSync(uploadsDir).length > 0; i++) await sleep(100)
  const uploadsLeft = fs.readdirSync(uploadsDir).length
  await server.close()
  let fdsAfter = openFds()
  for (let i = 0; i < 20 && fdsAfter !== null && fdsAfter > fdsBefore; i++) {
    await sleep(100)
    fdsAfter = openFds()
  }
  fs.rmSync(uploadsDir, { recursive: true, force: true })

  return verdicts(transport, samples, counts, {
    uploadsLeft,
    fdsBefore,
    fdsAfter,
    serverLog,
    workersSeen: workerIds.size,
  })
}

const problemCount = (counts) =>
  Object.entries(counts)
    .filter(([name]) => /Errors|Missed|Duplicates/.test(name))
    .reduce((sum, [, n]) => sum + n, 0)

/** Trends and checks of one run: prints the table, returns the record with its failures. */
function verdicts(transport, samples, counts, end) {
  const trend = samples.filter((s) => !s.warmup)
  const xs = trend.map((s) => s.t)
  const failures = []
  const series = []
  const row = (name, key, format, judge) => {
    const ys = trend.map((s) => s[key])
    if (ys.some((y) => y === null)) return
    const first = ys[0]
    const last = ys.at(-1)
    const per10 = slope(xs, ys) * 600
    const failed = judge(per10, last - first)
    if (failed) failures.push(`${name}: ${failed}`)
    series.push({ name, start: first, end: last, slopePer10Min: per10, verdict: failed || 'ok' })
    console.log(
      `  ${name.padEnd(24)} ${format(first).padStart(12)} ${format(last).padStart(12)} ` +
        `${signed(format(per10), per10).padStart(14)}  ${failed ? `FAIL: ${failed}` : 'ok'}`,
    )
  }
  const heapJudge = (per10, growth) =>
    per10 > LIMITS.heapSlope &&
    growth > LIMITS.heapGrowth &&
    `grows ${mib(per10)} per 10 min, ${mib(growth)} in all (limits ${mib(LIMITS.heapSlope)} and ${mib(LIMITS.heapGrowth)})`
  console.log(`\n  ${transport}: trends over ${xs.at(-1) - xs[0]} s after warm-up`)
  console.log(
    `  ${'series'.padEnd(24)} ${'start'.padStart(12)} ${'end'.padStart(12)} ${'slope/10 min'.padStart(14)}  verdict`,
  )
  row('io heap after gc', 'ioHeap', mib, heapJudge)
  row(`workers heap after gc (${WORKERS})`, 'workersHeap', mib, heapJudge)
  row(
    'rss',
    'rss',
    mib,
    (per10, growth) =>
      // (Writing a heap snapshot costs ~50 MiB of RSS that stays.)
      args['heap-snapshots'] === undefined &&
      per10 > LIMITS.rssSlope &&
      growth > LIMITS.rssGrowth &&
      `grows ${mib(per10)} per 10 min, ${mib(growth)} in all`,
  )
  row(
    'open fds',
    'fds',
    (n) => n.toFixed(Number.isInteger(n) ? 0 : 1),
    (per10, growth) =>
      growth > LIMITS.fdGrowth
        ? `${growth} more than at the baseline (limit ${LIMITS.fdGrowth})`
        : per10 > LIMITS.fdSlope && growth >= LIMITS.fdMinGrowth
          ? `grows ${per10.toFixed(1)} per 10 min (limit ${LIMITS.fdSlope})`
          : false,
  )

  // Checks.
  const c = counts
  const checks = []
  const check = (what, failed) => {
    checks.push({ what, ok: !failed })
    if (failed) failures.push(what)
    console.log(`  ${failed ? 'FAIL' : 'ok  '}  ${what}`)
  }
  const rate = c.requests ? c.requestErrors / c.requests : 0
  console.log('')
  check(
    `http: ${c.requests} requests, ${c.requestErrors} errors (${(rate * 100).toFixed(3)} %, limit ${LIMITS.errorRate * 100} %)`,
    rate > LIMITS.errorRate,
  )
  check(
    `ws echo: ${c.wsEchoSent} sent, ${c.wsEchoes} echoed, ${c.wsEchoAbandoned} left with a churned client, ${c.wsEchoMissed} missing or wrong`,
    c.wsEchoMissed > 0 || c.wsEchoes + c.wsEchoAbandoned !== c.wsEchoSent,
  )
  check(
    `ws broadcast: ${c.publishes} published, ${c.wsDeliveries} deliveries, ${c.wsMissed} missing, ${c.wsDuplicates} twice`,
    c.wsMissed + c.wsDuplicates > 0 || c.wsDeliveries === 0,
  )
  check(
    `ws connections: ${c.wsOpened} opened, ${c.wsChurned} churned, ${c.wsErrors} failures`,
    c.wsErrors > 0,
  )
  check(
    `sse: ${c.sseDeliveries} events, ${c.sseMissed} missing, ${c.sseDuplicates} twice; ` +
      `${c.sseOpened} streams opened, ${c.sseChurned} churned, ${c.sseErrors} failures`,
    c.sseMissed + c.sseDuplicates + c.sseErrors > 0 || c.sseDeliveries === 0,
  )
  const maxDir = Math.max(...samples.map((s) => s.uploadsDirFiles))
  check(
    `uploads: ${c.uploads} sent, ${c.uploadErrors} failed; uploads dir at most ${maxDir} files, ${end.uploadsLeft} at the end`,
    c.uploadErrors > 0 || end.uploadsLeft > 0 || maxDir > 2,
  )
  check(
    `workers: ${end.workersSeen} threads answered /heap (${WORKERS} workers; more means one was replaced)`,
    end.workersSeen !== WORKERS,
  )
  check(
    `server log: ${end.serverLog.error} errors, ${end.serverLog.warn} warnings`,
    end.serverLog.error > 0,
  )
  if (end.fdsBefore !== null)
    check(
      `fds after close: ${end.fdsAfter} (${signed(String(end.fdsAfter - end.fdsBefore), end.fdsAfter - end.fdsBefore)} over before the server started)`,
      end.fdsAfter - end.fdsBefore > LIMITS.fdGrowth,
    )
  console.log(`\n  ${transport}: ${failures.length ? `FAIL (${failures.length})` : 'PASS'}`)
  return {
    transport,
    seconds: SECONDS,
    warmup: WARMUP,
    samples,
    series,
    checks,
    failures,
    counts,
    ...end,
  }
}

const startedAt = new Date().toISOString()
const runs = []
for (const transport of TRANSPORTS) runs.push(await soak(transport))

fs.mkdirSync(path.dirname(OUT), { recursive: true })
fs.writeFileSync(
  OUT,
  `${JSON.stringify({ startedAt, node: process.version, args, limits: LIMITS, runs }, null, 2)}\n`,
)
console.log('\n=== summary')
for (const r of runs) {
  if (r.skipped) console.log(`  ${r.transport}: skipped (${r.skipped})`)
  else {
    const c = r.counts
    console.log(
      `  ${r.transport}: ${r.failures.length ? 'FAIL' : 'PASS'} after ${r.seconds} s: ` +
        `${c.requests} requests, ${c.wsEchoes} echoes, ` +
        `${c.wsDeliveries + c.sseDeliveries} broadcast deliveries, ${c.uploads} uploads; ` +
        r.series
          .map(
            (s) =>
              `${s.name} ${signed(s.name === 'open fds' ? s.slopePer10Min.toFixed(1) : mib(s.slopePer10Min), s.slopePer10Min)}/10 min`,
          )
          .join(', '),
    )
    for (const failure of r.failures) console.log(`    - ${failure}`)
  }
}
console.log(`  samples: ${OUT}`)
process.exitCode = runs.some((r) => r.failures.length > 0) ? 1 : 0

// The process should now exit by itself; if something still holds it open, say what.
setTimeout(() => {
  console.error('soak: still alive 15 s after the end:', process.getActiveResourcesInfo())
  process.exit(1)
}, 15_000).unref()

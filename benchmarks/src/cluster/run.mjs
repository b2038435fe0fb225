// Cross-instance fan-out: one publisher on instance A, 1,000 WebSocket subscribers spread over
// instances A and B (500 each), two processes of each server on one Redis — @mummy
// (cluster-mummy.js, `pubsub: redisPubSub(...)`, on node:net and on uWebSockets.js) against
// Socket.IO 4 with @socket.io/redis-adapter (cluster-socketio.js), in one run, on this machine.
// Burst (the publisher sends all messages at once) and paced (one at a time, the next when every
// subscriber has the last), deliveries/s and publish → delivered latency measured at the
// subscribers (a timestamp in each message, one clock), medians of RUNS runs interleaved across
// servers, and the CPU time of both server processes per delivery (/proc, every thread).
// Prints a Markdown table on stdout (progress on stderr) and writes it, with the raw numbers, to
// --out (default benchmarks/results) as cluster.md and cluster.json.
// Usage: node benchmarks/src/cluster/run.mjs [--runs 3] [--subscribers 1000] [--messages 500]
//   [--paced-messages 200] [--warmup 20] [--threads 2] [--servers mummy,mummy-uws,socketio]
//   [--client c|node] [--out DIR]
// Load comes from clusterload.c (compiled here to benchmarks/.build/clusterload with `cc` when
// missing or older than the source or ../ws/wsclient.h); without a C compiler, or with --client
// node, from client.mjs. redis-server (Debian package, installed by scripts/setup.sh) is started
// on a free port without persistence and stopped at the end.
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { RedisServer } from '@mummy/test-kit'
import { compileC, median, parseArgs, runJson, startServer, stopServer } from '../children.mjs'

const args = parseArgs()
const RUNS = Number(args.runs ?? 3)
const SUBSCRIBERS = Number(args.subscribers ?? 1000)
const MESSAGES = Number(args.messages ?? 500)
const PACED_MESSAGES = Number(args['paced-messages'] ?? 200)
const WARMUP = Number(args.warmup ?? 20)
const THREADS = Number(args.threads ?? 2)
const OUT = args.out ?? fileURLToPath(new URL('../../results', import.meta.url))
const here = (f) => fileURLToPath(new URL(f, import.meta.url))

const SERVERS = [
  {
    id: 'mummy',
    name: '@mummy',
    file: 'cluster-mummy.js',
    proto: 'mummy',
    env: { TRANSPORT: 'node' },
  },
  {
    id: 'mummy-uws',
    name: '@mummy (uws)',
    file: 'cluster-mummy.js',
    proto: 'mummy',
    env: { TRANSPORT: 'uws' },
  },
  { id: 'socketio', name: 'Socket.IO', file: 'cluster-socketio.js', proto: 'socketio', env: {} },
]
const BASELINE = 'socketio'
const chosen = (args.servers ?? SERVERS.map((s) => s.id).join(',')).split(',')
for (const id of chosen)
  if (!SERVERS.some((s) => s.id === id)) {
    console.error(`unknown server "${id}"; known: ${SERVERS.map((s) => s.id).join(', ')}`)
    process.exit(2)
  }
const servers = SERVERS.filter((s) => chosen.includes(s.id))

// The load client: [command, ...args] and a one-line description for the report.
function loadClient() {
  const node = [
    [process.execPath, here('client.mjs')],
    'client.mjs (Node: `ws`, `socket.io-client`)',
  ]
  if (args.client === 'node') return node
  const binary = here('../../.build/clusterload')
  if (!compileC(here('clusterload.c'), binary, ['-pthread'], [here('../ws/wsclient.h')])) {
    console.error('note: no C compiler (cc) found; using the Node load client client.mjs')
    return [node[0], `${node[1]}; no C compiler for clusterload.c`]
  }
  return [[binary], 'clusterload (C, epoll, benchmarks/.build/clusterload)']
}
const [clientCommand, clientName] = loadClient()
const cClient = clientCommand[0] !== process.execPath
console.error(`load client: ${clientName}`)

const redis = await RedisServer.start()
console.error(`redis-server on port ${redis.port}`)
let stopping = false
const cleanup = async () => {
  stopping = true
  await redis.dispose()
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)))
const redisPid = Number((await redis.command('INFO', 'server')).match(/process_id:(\d+)/)?.[1])

/** Starts the two instances of `server`; null (with a reason logged) when it cannot run here. */
async function startPair(server) {
  const env = { ...server.env, REDIS_URL: redis.url }
  const a = await startServer(server.file, env)
  const b = a.unavailable ? a : await startServer(server.file, env)
  if (a.unavailable || b.unavailable) {
    console.error(`${server.name}: skipped (${a.unavailable ?? b.unavailable})`)
    await Promise.all([stopServer(a), stopServer(b)])
    return null
  }
  return [a, b]
}

const runClient = (server, pair, mode, messages) =>
  runJson(clientCommand, [
    server.proto,
    mode,
    pair[0].port,
    pair[1].port,
    SUBSCRIBERS,
    messages,
    '--threads',
    THREADS,
    '--warmup',
    WARMUP,
    '--pids',
    [pair[0].child.pid, pair[1].child.pid, redisPid].join(','),
  ])

const loadAverage = os.loadavg()[0]
const runs = Object.fromEntries(servers.map((s) => [s.id, []]))
const skipped = new Set()
const failed = new Set()
for (let run = 0; run < RUNS && !stopping; run++) {
  // Interleaved: each run goes through every server, so a burst of background load on this
  // shared machine hits them all.
  for (const server of servers) {
    if (skipped.has(server.id) || failed.has(server.id)) continue
    const pair = await startPair(server)
    if (pair === null) {
      skipped.add(server.id)
      continue
    }
    const burst = await runClient(server, pair, 'burst', MESSAGES)
    const paced = burst.failed ? burst : await runClient(server, pair, 'paced', PACED_MESSAGES)
    await Promise.all(pair.map(stopServer))
    if (paced.failed) {
      console.error(
        `${server.name} run ${run + 1}: ${burst.failed ? 'burst' : 'paced'} failed (${paced.failed})`,
      )
      failed.add(server.id)
      continue
    }
    // CPU per delivery: both instances (ns → µs), Redis, and the client itself.
    const per = (ns, r) => ns / 1000 / r.delivered
    const cost = (r) => ({
      server: per(r.cpuNs[0] + r.cpuNs[1], r),
      a: per(r.cpuNs[0], r),
      b: per(r.cpuNs[1], r),
      redis: per(r.cpuNs[2], r),
      client: per(r.clientCpuNs, r),
    })
    runs[server.id].push({ burst, paced, burstCpu: cost(burst), pacedCpu: cost(paced) })
    console.error(
      `${server.name} run ${run + 1}: burst ${burst.rate.toFixed(0)} deliveries/s ` +
        `(p99 ${burst.p99Ms.toFixed(1)} ms, ${cost(burst).server.toFixed(2)} µs CPU), ` +
        `paced ${paced.rate.toFixed(0)} deliveries/s (p50 ${paced.p50Ms.toFixed(2)} ms, ` +
        `p99 ${paced.p99Ms.toFixed(2)} ms, ${cost(paced).server.toFixed(2)} µs CPU)`,
    )
  }
}
await cleanup()

// Medians of every number over the runs.
const med = (list, pick) => median(list.map(pick))
const results = {}
for (const server of servers) {
  const list = runs[server.id]
  if (failed.has(server.id)) results[server.id] = { name: server.name, failed: true }
  else if (list.length > 0)
    results[server.id] = {
      name: server.name,
      runs: list.length,
      burst: {
        rate: med(list, (r) => r.burst.rate),
        p50Ms: med(list, (r) => r.burst.p50Ms),
        p99Ms: med(list, (r) => r.burst.p99Ms),
        cpu: Object.fromEntries(
          Object.keys(list[0].burstCpu).map((k) => [k, med(list, (r) => r.burstCpu[k])]),
        ),
      },
      paced: {
        rate: med(list, (r) => r.paced.rate),
        p50Ms: med(list, (r) => r.paced.p50Ms),
        p99Ms: med(list, (r) => r.paced.p99Ms),
        p50MsA: med(list, (r) => r.paced.p50MsA),
        p50MsB: med(list, (r) => r.paced.p50MsB),
        lastP50Ms: med(list, (r) => r.paced.lastP50Ms),
        cpu: Object.fromEntries(
          Object.keys(list[0].pacedCpu).map((k) => [k, med(list, (r) => r.pacedCpu[k])]),
        ),
      },
    }
}

const base = results[BASELINE]
const int = (x) => Math.round(x).toLocaleString('en-US')
const ms = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
const us = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2))
const ratio = (x, b) => (b && !b.failed ? (x / b.burst.rate).toFixed(2) : 'n/a')
const lines = [
  '| server | burst deliveries/s | × socket.io | paced deliveries/s | paced p50 ms | p99 ms | µs CPU per delivery (burst / paced) |',
  '|---|---:|---:|---:|---:|---:|---:|',
]
for (const server of servers) {
  const r = results[server.id]
  if (r === undefined) lines.push(`| ${server.name} | skipped | | | | | |`)
  else if (r.failed) lines.push(`| ${server.name} | failed | | | | | |`)
  else
    lines.push(
      `| ${r.name} | ${int(r.burst.rate)} | ${ratio(r.burst.rate, base)} | ${int(r.paced.rate)} ` +
        `| ${ms(r.paced.p50Ms)} | ${ms(r.paced.p99Ms)} | ${us(r.burst.cpu.server)} / ${us(r.paced.cpu.server)} |`,
    )
}
const details = [
  '| server | burst p50 / p99 ms | paced p50 on A / B ms | paced: last subscriber p50 ms | µs CPU per delivery, instance A / B / Redis / load client (burst; paced) |',
  '|---|---:|---:|---:|---:|',
]
for (const server of servers) {
  const r = results[server.id]
  if (r === undefined || r.failed) continue
  const c = (x) => `${us(x.a)} / ${us(x.b)} / ${us(x.redis)} / ${us(x.client)}`
  details.push(
    `| ${r.name} | ${ms(r.burst.p50Ms)} / ${ms(r.burst.p99Ms)} | ${ms(r.paced.p50MsA)} / ${ms(r.paced.p50MsB)} ` +
      `| ${ms(r.paced.lastP50Ms)} | ${c(r.burst.cpu)}; ${c(r.paced.cpu)} |`,
  )
}
const notes =
  `${SUBSCRIBERS} WebSocket subscribers, alternately on instance A and B; one publisher on A. ` +
  `Two processes per server on one local redis-server (no persistence). ` +
  `Burst: ${MESSAGES} messages sent as fast as the publisher can${cClient ? ' (50 frames per write)' : ''}; ` +
  `deliveries/s from the first send to the last delivery. Paced: ${PACED_MESSAGES} messages, each ` +
  `sent when every subscriber has the one before; p50/p99 are per delivery, publish → delivered ` +
  `(a CLOCK_MONOTONIC timestamp in the message, read by the subscriber)` +
  `${cClient ? ", and include up to 0.2 ms of the client's read interval" : ''}. ` +
  `Each client run starts with ${WARMUP} unmeasured messages. ` +
  `CPU: both instances' processes, all threads (/proc/<pid>/task/*/schedstat), over the ` +
  `measurement, per delivery. ${RUNS === 1 ? 'One run' : `Medians of ${RUNS} runs`}, interleaved across servers; fresh ` +
  `instances per run. Load client: ${clientName}, ${THREADS} subscriber threads. ` +
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ` +
  `${process.version}, load average ${loadAverage.toFixed(2)} at the start.`
const markdown = `${lines.join('\n')}\n\n${details.join('\n')}\n\n${notes}\n`
console.log(markdown)
mkdirSync(OUT, { recursive: true })
writeFileSync(
  path.join(OUT, 'cluster.md'),
  `# Cross-instance fan-out (pnpm bench:cluster)\n\n${markdown}`,
)
writeFileSync(
  path.join(OUT, 'cluster.json'),
  `${JSON.stringify({ date: new Date().toISOString(), options: { RUNS, SUBSCRIBERS, MESSAGES, PACED_MESSAGES, WARMUP, THREADS, client: clientName }, loadAverage, results, runs }, null, 2)}\n`,
)
console.error(`wrote ${path.join(OUT, 'cluster.md')} and cluster.json`)
if (failed.size > 0) process.exitCode = 1

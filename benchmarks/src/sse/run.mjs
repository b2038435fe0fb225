// Runs the Server-Sent Events benchmark: burst fan-out — 1,000 subscribers on GET /sse, one
// GET /burst/200 makes the server send 200 events to each — for @mummy (node:net and
// uWebSockets.js transports), a hand-written node:http SSE server and raw uWebSockets.js, in one
// run, medians of RUNS (default 3). Deliveries/s are counted by the C client sseload.c
// (compiled to benchmarks/.build/sseload with `cc`), from the burst request to the last event.
// Usage: node benchmarks/src/sse/run.mjs [--runs 3] [--subscribers 1000] [--messages 200]
import { fileURLToPath } from 'node:url'
import { compileC, median, parseArgs, runJson, startServer, stopServer } from '../children.mjs'

const args = parseArgs()
const RUNS = Number(args.runs ?? 3)
const SUBSCRIBERS = Number(args.subscribers ?? 1000)
const MESSAGES = Number(args.messages ?? 200)
const here = (f) => fileURLToPath(new URL(f, import.meta.url))

const binary = here('../../.build/sseload')
if (!compileC(here('sseload.c'), binary)) {
  console.error('bench:sse needs a C compiler (cc) for its load client: apt-get install gcc')
  process.exit(1)
}

const servers = [
  ['@mummy', 'sse-mummy.js', { TRANSPORT: 'node' }],
  ['@mummy (uws)', 'sse-mummy.js', { TRANSPORT: 'uws' }],
  ['node:http', 'sse-node.js', {}],
  ['uWebSockets.js', 'sse-uws.js', {}],
]
const results = {}
let failed = false
for (const [name, file, env] of servers) {
  const rates = []
  const cpus = []
  for (let run = 0; run < RUNS; run++) {
    const server = await startServer(file, env)
    if (server.unavailable) {
      console.error(`${name}: skipped (${server.unavailable})`)
      await stopServer(server)
      break
    }
    const result = await runJson([binary], [server.port, SUBSCRIBERS, MESSAGES], server.child.pid)
    await stopServer(server)
    if (result.failed) {
      console.error(`${name} run ${run + 1}: failed (${result.failed})`)
      failed = true
      results[name] = null
      break
    }
    rates.push(result.rate)
    cpus.push(result.cpuUsPer)
    console.error(
      `${name} run ${run + 1}: ${result.rate.toFixed(0)} deliveries/s ` +
        `(${result.cpuUsPer?.toFixed(2) ?? '—'} µs server CPU per delivery)`,
    )
  }
  if (results[name] !== null && rates.length > 0)
    results[name] = { rate: median(rates), cpu: median(cpus.filter((x) => x != null)) }
}
const base = results['node:http']?.rate
console.log(
  '| server | burst fan-out deliveries/s | × node:http | server CPU µs per delivery |\n' +
    '|---|---:|---:|---:|',
)
for (const [name, r] of Object.entries(results))
  console.log(
    r === null
      ? `| ${name} | failed | | |`
      : `| ${name} | ${r.rate.toFixed(0)} | ${base ? (r.rate / base).toFixed(2) : 'n/a'} ` +
          `| ${r.cpu?.toFixed(2) ?? '—'} |`,
  )
console.log(
  `\n${SUBSCRIBERS} subscribers, ${MESSAGES} events each, sent by one request; medians of ${RUNS} runs.\n` +
    'Each server sends the events the way its users would write it: @mummy publishes from a ' +
    'worker, node:http writes each event to each response, uWebSockets.js corks each write.\n' +
    "Server CPU: all the server process's threads (/proc/<pid>/task/*/schedstat) from the " +
    'burst request to the last event, per delivery.\n' +
    'Load client: sseload (C, benchmarks/.build/sseload).',
)
if (failed) process.exitCode = 1

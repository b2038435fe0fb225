// Runs the WebSocket benchmarks: echo messages/s, broadcast fan-out deliveries/s with the
// messages sent in bursts, and the same fan-out paced (one message at a time, with its latency)
// for @mummy (node:net and uWebSockets.js transports), `ws` on node:http and raw uWebSockets.js,
// in one run, medians of RUNS (default 3).
// Usage: node benchmarks/src/ws/run.mjs [--runs 3] [--seconds 5] [--connections 100] [--subscribers 1000] [--messages 200] [--paced-messages 200] [--client c|node]
// Load comes from wsload.c (compiled here to benchmarks/.build/wsload with `cc` when missing or
// older than the source or wsclient.h); without a C compiler, or with --client node, from
// client.mjs.
import { fileURLToPath } from 'node:url'
import { compileC, median, parseArgs, runJson, startServer, stopServer } from '../children.mjs'

const args = parseArgs()
const RUNS = Number(args.runs ?? 3)
const SECONDS = Number(args.seconds ?? 5)
const CONNECTIONS = Number(args.connections ?? 100)
const SUBSCRIBERS = Number(args.subscribers ?? 1000)
const MESSAGES = Number(args.messages ?? 200)
const PACED_MESSAGES = Number(args['paced-messages'] ?? 200)
const here = (f) => fileURLToPath(new URL(f, import.meta.url))

// The load client: [command, ...args] and a one-line description for the report.
function loadClient() {
  const node = [[process.execPath, here('client.mjs')], 'client.mjs (Node `ws`)']
  if (args.client === 'node') return node
  const source = here('wsload.c')
  const binary = here('../../.build/wsload')
  if (!compileC(source, binary, [], [here('wsclient.h')])) {
    console.error('note: no C compiler (cc) found; using the Node load client client.mjs')
    return [node[0], `${node[1]}; no C compiler for wsload.c`]
  }
  return [[binary], 'wsload (C, benchmarks/.build/wsload)']
}
const [clientCommand, clientName] = loadClient()
console.error(`load client: ${clientName}`)

/** "12.3 µs CPU" for the progress lines. */
function us(value) {
  return value == null ? 'CPU —' : `${cpuCell(value)} µs CPU`
}
/** A CPU µs figure with sensible precision. */
function cpuCell(value) {
  if (value == null) return '—'
  return value < 10 ? value.toFixed(2) : value.toFixed(1)
}

const runClient = (server, ...argv) => runJson(clientCommand, argv, server.child.pid)
const servers = [
  ['@mummy', 'ws-mummy.js', { TRANSPORT: 'node' }],
  ['@mummy (uws)', 'ws-mummy.js', { TRANSPORT: 'uws' }],
  ['ws', 'ws-ws.js', {}],
  ['uWebSockets.js', 'ws-uws.js', {}],
]
const results = {}
const failed = {}
for (const [name, file, env] of servers) {
  const echo = []
  const fan = []
  const paced = []
  const pacedP50 = []
  const cpu = { echo: [], fan: [], paced: [] }
  for (let run = 0; run < RUNS; run++) {
    const server = await startServer(file, env)
    if (server.unavailable) {
      console.error(`${name}: skipped (${server.unavailable})`)
      await stopServer(server)
      break
    }
    const e = await runClient(server, 'echo', server.port, CONNECTIONS, SECONDS)
    const f = e.failed ? e : await runClient(server, 'fanout', server.port, SUBSCRIBERS, MESSAGES)
    const p = f.failed
      ? f
      : await runClient(server, 'fanout-paced', server.port, SUBSCRIBERS, PACED_MESSAGES)
    await stopServer(server)
    if (p.failed) {
      const what = e.failed ? 'echo' : f.failed ? 'fan-out' : 'paced fan-out'
      console.error(`${name} run ${run + 1}: ${what} failed (${p.failed})`)
      failed[name] = true
      break
    }
    echo.push(e.rate)
    fan.push(f.rate)
    paced.push(p.rate)
    pacedP50.push(p.p50Ms)
    cpu.echo.push(e.cpuUsPer)
    cpu.fan.push(f.cpuUsPer)
    cpu.paced.push(p.cpuUsPer)
    console.error(
      `${name} run ${run + 1}: echo ${e.rate.toFixed(0)} msg/s (${us(e.cpuUsPer)}), ` +
        `fan-out ${f.rate.toFixed(0)} deliveries/s (${us(f.cpuUsPer)}), ` +
        `paced fan-out ${p.rate.toFixed(0)} deliveries/s (${us(p.cpuUsPer)}; ` +
        `p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)} ms)`,
    )
  }
  if (failed[name]) results[name] = null
  else if (echo.length > 0)
    results[name] = {
      echo: median(echo),
      fanout: median(fan),
      paced: median(paced),
      pacedP50: median(pacedP50),
      cpu: { echo: median(cpu.echo), fan: median(cpu.fan), paced: median(cpu.paced) },
    }
}
const ws = results.ws
const ratio = (x, base) => (base ? (x / base).toFixed(2) : 'n/a')
console.log(
  `| server | echo msg/s | × ws | fan-out deliveries/s | × ws | paced fan-out deliveries/s | × ws | paced p50 ms | server CPU µs per echo / burst delivery / paced delivery |\n` +
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
)
for (const [name, r] of Object.entries(results)) {
  if (!r) console.log(`| ${name} | failed | | failed | | failed | | | |`)
  else
    console.log(
      `| ${name} | ${r.echo.toFixed(0)} | ${ratio(r.echo, ws?.echo)} | ${r.fanout.toFixed(0)} | ${ratio(r.fanout, ws?.fanout)} ` +
        `| ${r.paced.toFixed(0)} | ${ratio(r.paced, ws?.paced)} | ${r.pacedP50.toFixed(2)} ` +
        `| ${cpuCell(r.cpu.echo)} / ${cpuCell(r.cpu.fan)} / ${cpuCell(r.cpu.paced)} |`,
    )
}
console.log(
  `\n${CONNECTIONS} echo connections for ${SECONDS} s; fan-out to ${SUBSCRIBERS} subscribers: ` +
    `${MESSAGES} messages in bursts, ${PACED_MESSAGES} paced; medians of ${RUNS} runs.\n` +
    `Burst fan-out: the publisher sends all messages at once (50 frames per write), so a server may ` +
    `coalesce queued messages into fewer, larger writes per subscriber; it measures throughput when messages queue up.\n` +
    `Paced fan-out: the publisher sends one message and waits until every subscriber has it before ` +
    `the next, so nothing can be coalesced; it measures the cost of one publish to all subscribers, ` +
    `and p50 is the median time from sending a message to the last subscriber receiving it.\n` +
    `Server CPU: all the server process's threads (/proc/<pid>/task/*/schedstat) while the ` +
    `client measures (connection set-up left out), per echoed message or per delivery.\n` +
    `Load client: ${clientName}.`,
)
if (Object.values(results).includes(null)) process.exitCode = 1

// Runs the WebSocket benchmarks: echo messages/s, broadcast fan-out deliveries/s with the
// messages sent in bursts, and the same fan-out paced (one message at a time, with its latency)
// for @mummy (node:net and uWebSockets.js transports), `ws` on node:http and raw uWebSockets.js,
// in one run, medians of RUNS (default 3).
// Usage: node benchmarks/src/ws/run.mjs [--runs 3] [--seconds 5] [--connections 100] [--subscribers 1000] [--messages 200] [--paced-messages 200] [--client c|node]
// Load comes from wsload.c (compiled here to benchmarks/.build/wsload with `cc` when missing or
// older than the source); without a C compiler, or with --client node, from client.mjs.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce(
      (acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc),
      [],
    ),
)
const RUNS = Number(args.runs ?? 3)
const SECONDS = Number(args.seconds ?? 5)
const CONNECTIONS = Number(args.connections ?? 100)
const SUBSCRIBERS = Number(args.subscribers ?? 1000)
const MESSAGES = Number(args.messages ?? 200)
const PACED_MESSAGES = Number(args['paced-messages'] ?? 200)
const here = (f) => fileURLToPath(new URL(f, import.meta.url))
const server = (f) => fileURLToPath(new URL(`../../../apps/wrk-servers/${f}`, import.meta.url))

// The load client: [command, ...args] and a one-line description for the report.
function loadClient() {
  const node = [[process.execPath, here('client.mjs')], 'client.mjs (Node `ws`)']
  if (args.client === 'node') return node
  const source = here('wsload.c')
  const binary = here('../../.build/wsload')
  const mtime = (f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1
  if (mtime(binary) < mtime(source)) {
    mkdirSync(here('../../.build'), { recursive: true })
    const cc = spawnSync('cc', ['-O2', '-o', binary, source], {
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    if (cc.error?.code === 'ENOENT') {
      console.error('note: no C compiler (cc) found; using the Node load client client.mjs')
      return [node[0], `${node[1]}; no C compiler for wsload.c`]
    }
    if (cc.error || cc.status !== 0) {
      console.error(`cc failed to compile ${source} (${cc.error ?? `exit code ${cc.status}`})`)
      process.exit(1)
    }
  }
  return [[binary], 'wsload (C, benchmarks/.build/wsload)']
}
const [clientCommand, clientName] = loadClient()
console.error(`load client: ${clientName}`)

function startServer(file, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [server(file)], {
      env: { ...process.env, ...env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.stdout.once('data', (d) => {
      const line = String(d).trim()
      if (line.startsWith('ready ')) resolve({ child, port: Number(line.slice(6)) })
      else resolve({ child, port: 0, unavailable: line })
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      resolve({ child, port: 0, unavailable: `exited with code ${code}` }),
    )
  })
}

// Resolves to the client's JSON result, or to { failed } when it exits non-zero (its message is
// on stderr): a broken run reports no rate.
function runClient(...argv) {
  return new Promise((resolve) => {
    const child = spawn(clientCommand[0], [...clientCommand.slice(1), ...argv.map(String)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.once('error', (error) => resolve({ failed: error.message }))
    child.once('close', (code, signal) => {
      const line = out.trim().split('\n').pop()
      if (code !== 0 || !line)
        resolve({ failed: signal ? `killed by ${signal}` : `exit code ${code}` })
      else resolve(JSON.parse(line))
    })
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
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
  for (let run = 0; run < RUNS; run++) {
    const server = await startServer(file, env)
    if (server.unavailable) {
      console.error(`${name}: skipped (${server.unavailable})`)
      server.child.kill()
      break
    }
    const e = await runClient('echo', server.port, CONNECTIONS, SECONDS)
    const f = e.failed ? e : await runClient('fanout', server.port, SUBSCRIBERS, MESSAGES)
    const p = f.failed
      ? f
      : await runClient('fanout-paced', server.port, SUBSCRIBERS, PACED_MESSAGES)
    if (server.child.exitCode === null) {
      server.child.kill()
      await new Promise((r) => server.child.once('exit', r))
    }
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
    console.error(
      `${name} run ${run + 1}: echo ${e.rate.toFixed(0)} msg/s, fan-out ${f.rate.toFixed(0)} deliveries/s, ` +
        `paced fan-out ${p.rate.toFixed(0)} deliveries/s (p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)} ms)`,
    )
  }
  if (failed[name]) results[name] = null
  else if (echo.length > 0)
    results[name] = {
      echo: median(echo),
      fanout: median(fan),
      paced: median(paced),
      pacedP50: median(pacedP50),
    }
}
const ws = results.ws
const ratio = (x, base) => (base ? (x / base).toFixed(2) : 'n/a')
console.log(
  `| server | echo msg/s | × ws | fan-out deliveries/s | × ws | paced fan-out deliveries/s | × ws | paced p50 ms |\n` +
    `|---|---:|---:|---:|---:|---:|---:|---:|`,
)
for (const [name, r] of Object.entries(results)) {
  if (!r) console.log(`| ${name} | failed | | failed | | failed | | |`)
  else
    console.log(
      `| ${name} | ${r.echo.toFixed(0)} | ${ratio(r.echo, ws?.echo)} | ${r.fanout.toFixed(0)} | ${ratio(r.fanout, ws?.fanout)} ` +
        `| ${r.paced.toFixed(0)} | ${ratio(r.paced, ws?.paced)} | ${r.pacedP50.toFixed(2)} |`,
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
    `Load client: ${clientName}.`,
)
if (Object.values(results).includes(null)) process.exitCode = 1

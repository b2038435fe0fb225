// Runs the WebSocket benchmarks: echo messages/s and broadcast fan-out deliveries/s for
// @mummy, `ws` on node:http and raw uWebSockets.js, in one run, medians of RUNS (default 3).
// Usage: node benchmarks/src/ws/run.mjs [--runs 3] [--seconds 5] [--connections 100] [--subscribers 1000] [--messages 200]
import { spawn } from 'node:child_process'
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
const here = (f) => fileURLToPath(new URL(f, import.meta.url))
const server = (f) => fileURLToPath(new URL(`../../../apps/wrk-servers/${f}`, import.meta.url))

function startServer(file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [server(file)], {
      env: { ...process.env, PORT: '0' },
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

function runClient(...argv) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [here('client.mjs'), ...argv.map(String)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('exit', () => resolve(JSON.parse(out.trim().split('\n').pop() || '{"rate":0}')))
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const servers = [
  ['@mummy', 'ws-mummy.js'],
  ['ws', 'ws-ws.js'],
  ['uWebSockets.js', 'ws-uws.js'],
]
const results = {}
for (const [name, file] of servers) {
  const echo = []
  const fan = []
  for (let run = 0; run < RUNS; run++) {
    const server = await startServer(file)
    if (server.unavailable) {
      console.error(`${name}: skipped (${server.unavailable})`)
      server.child.kill()
      break
    }
    echo.push((await runClient('echo', server.port, CONNECTIONS, SECONDS)).rate)
    fan.push((await runClient('fanout', server.port, SUBSCRIBERS, MESSAGES)).rate)
    server.child.kill()
    await new Promise((r) => server.child.once('exit', r))
    console.error(
      `${name} run ${run + 1}: echo ${echo.at(-1).toFixed(0)} msg/s, fan-out ${fan.at(-1).toFixed(0)} deliveries/s`,
    )
  }
  if (echo.length > 0) results[name] = { echo: median(echo), fanout: median(fan) }
}
const ws = results.ws
console.log(
  `| server | echo msg/s | × ws | fan-out deliveries/s | × ws |\n|---|---:|---:|---:|---:|`,
)
for (const [name, r] of Object.entries(results)) {
  console.log(
    `| ${name} | ${r.echo.toFixed(0)} | ${(r.echo / ws.echo).toFixed(2)} | ${r.fanout.toFixed(0)} | ${(r.fanout / ws.fanout).toFixed(2)} |`,
  )
}
console.log(
  `\n${CONNECTIONS} echo connections for ${SECONDS} s; ${SUBSCRIBERS} subscribers × ${MESSAGES} messages; medians of ${RUNS} runs.`,
)

// Measures the latency of cheap requests while some workers are blocked.
// Starts the fixture app with 4 workers in this process's child, opens 100 keep-alive
// connections, sends 2 requests that block their worker for 2 s, then 100 concurrent GET /fast.
// Usage: node benchmarks/src/blocking-latency.mjs [rounds]
import net from 'node:net'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const rounds = Number(process.argv[2] ?? 5)
const serverScript = fileURLToPath(new URL('./blocking-server.mjs', import.meta.url))
const child = spawn(process.execPath, [serverScript], { stdio: ['ignore', 'pipe', 'inherit'] })
const port = await new Promise((resolve) =>
  child.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
)

function connect() {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s))
    s.setNoDelay(true)
  })
}
function request(socket, path) {
  return new Promise((resolve) => {
    const t0 = performance.now()
    let got = ''
    const onData = (d) => {
      got += d
      if (got.includes('\r\n\r\n') && got.endsWith(path === '/fast' ? 'fast' : 'slow')) {
        socket.off('data', onData)
        resolve(performance.now() - t0)
      }
    }
    socket.on('data', onData)
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
  })
}

const fastConns = await Promise.all(Array.from({ length: 100 }, connect))
const slowConns = await Promise.all([connect(), connect()])
// warm up
await Promise.all(fastConns.map((s) => request(s, '/fast')))
const p99s = []
for (let r = 0; r < rounds; r++) {
  const slow = slowConns.map((s) => request(s, '/slow'))
  await new Promise((res) => setTimeout(res, 50))
  const lat = await Promise.all(fastConns.map((s) => request(s, '/fast')))
  lat.sort((a, b) => a - b)
  const slowLat = await Promise.all(slow)
  p99s.push(lat[98])
  console.log(
    `round ${r + 1}: fast p50 ${lat[49].toFixed(1)} ms, p99 ${lat[98].toFixed(1)} ms, max ${lat[99].toFixed(1)} ms; slow ${slowLat.map((x) => x.toFixed(0)).join(', ')} ms`,
  )
}
p99s.sort((a, b) => a - b)
console.log(`median p99 over ${rounds} rounds: ${p99s[Math.floor(rounds / 2)].toFixed(1)} ms`)
for (const s of [...fastConns, ...slowConns]) s.destroy()
child.kill('SIGTERM')

// WebSocket load client in Node (`ws`), runs in its own process, same client for every server.
// Not the default any more: run.mjs uses wsload.c (same CLI, semantics and output; C + epoll),
// because this client is itself the ceiling: ~2 s of JavaScript CPU per 5 s echo run on top of
// the kernel's socket work, so on 2 cores it capped uWebSockets.js at ~120k echo msg/s and ~240k
// fan-out deliveries/s (wsload: ~185k and ~385k). run.mjs falls back to it when there is no C
// compiler, or with --client node.
//   node client.mjs echo <port> <connections> <seconds>   → messages/s (each connection keeps
//        one 32-byte text message in flight and sends the next when its echo arrives)
//   node client.mjs fanout <port> <subscribers> <messages> → deliveries/s (one publisher sends
//        <messages> 32-byte messages; time until every subscriber got all of them)
import WebSocket from 'ws'

const [mode, portArg, countArg, amountArg] = process.argv.slice(2)
const port = Number(portArg)
const count = Number(countArg)
const amount = Number(amountArg)
const PAYLOAD = 'x'.repeat(32)

function connect(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false })
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

if (mode === 'echo') {
  const sockets = []
  for (let i = 0; i < count; i += 50)
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, () => connect('/echo')),
      )),
    )
  let received = 0
  let running = true
  for (const ws of sockets) {
    ws.on('message', () => {
      received++
      if (running) ws.send(PAYLOAD)
    })
  }
  // warm-up
  for (const ws of sockets) ws.send(PAYLOAD)
  await new Promise((r) => setTimeout(r, 1000))
  const start = received
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, amount * 1000))
  const rate = ((received - start) * 1000) / (performance.now() - t0)
  running = false
  process.stdout.write(JSON.stringify({ mode, rate }) + '\n')
  for (const ws of sockets) ws.terminate()
} else if (mode === 'fanout') {
  const subs = []
  for (let i = 0; i < count; i += 100)
    subs.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, () => connect('/sub')),
      )),
    )
  const publisher = await connect('/echo')
  let delivered = 0
  const total = count * amount
  let done
  const finished = new Promise((r) => (done = r))
  for (const ws of subs) ws.on('message', () => ++delivered === total && done())
  await new Promise((r) => setTimeout(r, 500))
  const t0 = performance.now()
  for (let i = 0; i < amount; i++) {
    publisher.send(`pub:${PAYLOAD}`)
    if (i % 50 === 49) await new Promise((r) => setImmediate(r))
  }
  const timeout = setTimeout(() => done(), 60_000)
  await finished
  clearTimeout(timeout)
  const seconds = (performance.now() - t0) / 1000
  process.stdout.write(JSON.stringify({ mode, rate: delivered / seconds, delivered, total }) + '\n')
  for (const ws of [...subs, publisher]) ws.terminate()
}
process.exit(0)

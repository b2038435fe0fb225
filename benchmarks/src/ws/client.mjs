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
//   node client.mjs fanout-paced <port> <subscribers> <messages> → deliveries/s and p50Ms,
//        p99Ms, maxMs (the publisher sends one message, waits until every subscriber got it, then
//        sends the next; latency per message from send to the last subscriber receiving it).
//        Strict like wsload: a wrong message (binary, size, content), a message before it was
//        sent, a close, an error or a message missing after 10 s prints on stderr and exits 1.
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
  process.stdout.write('@start\n')
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, amount * 1000))
  const rate = ((received - start) * 1000) / (performance.now() - t0)
  process.stdout.write('@end\n')
  running = false
  process.stdout.write(JSON.stringify({ mode, rate, count: received - start }) + '\n')
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
  process.stdout.write('@start\n')
  const t0 = performance.now()
  for (let i = 0; i < amount; i++) {
    publisher.send(`pub:${PAYLOAD}`)
    if (i % 50 === 49) await new Promise((r) => setImmediate(r))
  }
  const timeout = setTimeout(() => done(), 60_000)
  await finished
  clearTimeout(timeout)
  const seconds = (performance.now() - t0) / 1000
  process.stdout.write('@end\n')
  process.stdout.write(
    JSON.stringify({ mode, rate: delivered / seconds, delivered, total, count: delivered }) + '\n',
  )
  for (const ws of [...subs, publisher]) ws.terminate()
} else if (mode === 'fanout-paced') {
  const fail = (message) => {
    process.stderr.write(`client.mjs: ${message}\n`)
    process.exit(1)
  }
  for (const [name, value] of [
    ['port', port],
    ['subscribers', count],
    ['messages', amount],
  ])
    if (!Number.isInteger(value) || value <= 0) fail(`bad ${name} "${value}"`)
  const connectOrFail = (path, i) =>
    connect(path).catch((error) => fail(`connection ${i} (${path}): ${error.message}`))
  const subs = []
  for (let i = 0; i < count; i += 100)
    subs.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, (_, j) => connectOrFail('/sub', i + j)),
      )),
    )
  const publisher = await connectOrFail('/echo', count)
  const expected = Buffer.from(PAYLOAD)
  const received = new Array(count).fill(0)
  let sent = 0
  let delivered = 0
  let target = 0
  let tLast = 0
  let done = () => {}
  const watch = (ws, i, path) => {
    const where = `connection ${i} (${path}${ws === publisher ? ', publisher' : ''})`
    ws.on('error', (error) => fail(`${where}: ${error.message}`))
    ws.on('close', (code) => fail(`${where}: closed by the server (close code ${code})`))
    ws.on('message', (data, isBinary) => {
      if (ws === publisher) fail(`${where}: publisher got a message; expected none`)
      if (isBinary) fail(`${where}: got a binary message, expected text`)
      if (data.length !== expected.length)
        fail(`${where}: got a message of ${data.length} bytes, expected ${expected.length}`)
      if (!data.equals(expected)) fail(`${where}: message content differs from the payload sent`)
      if (++received[i] > sent)
        fail(`${where}: subscriber got message ${received[i]}, but only ${sent} were sent`)
      if (++delivered === target) {
        tLast = performance.now()
        done()
      }
    })
  }
  subs.forEach((ws, i) => watch(ws, i, '/sub'))
  watch(publisher, count, '/echo')
  await new Promise((r) => setTimeout(r, 500))
  const latencies = []
  process.stdout.write('@start\n')
  const t0 = performance.now()
  while (sent < amount) {
    const ts = performance.now()
    target = (sent + 1) * count
    const arrived = new Promise((r) => (done = r))
    sent++
    publisher.send(`pub:${PAYLOAD}`)
    const timeout = setTimeout(
      () =>
        fail(
          `timed out after 10 s: message ${sent} of ${amount} reached ${delivered - (sent - 1) * count} of ${count} subscribers`,
        ),
      10_000,
    )
    await arrived
    clearTimeout(timeout)
    latencies.push(tLast - ts)
  }
  received.forEach((n, i) => {
    if (n !== amount)
      fail(`connection ${i} (/sub): subscriber got ${n} messages, expected ${amount}`)
  })
  process.stdout.write('@end\n')
  latencies.sort((a, b) => a - b)
  const pct = (q) => Number(latencies[Math.max(1, Math.ceil(q * amount)) - 1].toFixed(3))
  const rate = (delivered * 1000) / (tLast - t0)
  process.stdout.write(
    JSON.stringify({
      mode,
      rate,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      maxMs: pct(1),
      delivered,
      total: count * amount,
      count: delivered,
    }) + '\n',
  )
  for (const ws of [...subs, publisher]) {
    ws.removeAllListeners('close')
    ws.terminate()
  }
} else {
  process.stderr.write(
    'usage: node client.mjs echo|fanout|fanout-paced <port> <connections|subscribers> <seconds|messages>\n',
  )
  process.exit(2)
}
process.exit(0)

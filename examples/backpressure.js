// WebSocket backpressure: ws.send() answers 'sent', 'buffered' or 'dropped'; maxBackpressure and backpressure: 'drop' | 'close' bound a slow reader.
// Run: node examples/backpressure.js (BACKPRESSURE=close to close slow readers), then open http://localhost:8080
import { Router, createServer } from '@mummy/server'
import { setTimeout as sleep } from 'node:timers/promises'

const CHUNK = Buffer.alloc(16 * 1024, 'x')
const STREAM = 2048 // 32 MiB, paced by the answers of send()
const FLOOD = 1024 // 16 MiB in one go, answers ignored

const page = `<!doctype html>
<title>firehose</title>
<button onclick="ws.send('stream')">stream 32 MiB</button>
<button onclick="ws.send('flood')">flood 16 MiB</button>
<p id="status">connecting…</p>
<script>
  const ws = new WebSocket('ws://' + location.host + '/firehose')
  let chunks = 0
  const show = (text) => (document.getElementById('status').textContent = text)
  ws.onopen = () => show('connected')
  ws.onclose = (event) => show('closed: ' + event.code + ' ' + event.reason)
  ws.onmessage = (event) => {
    if (typeof event.data === 'string') show(chunks + ' chunks received; server: ' + event.data)
    else show(++chunks + ' chunks received')
  }
</script>
`

const router = new Router()
router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/html' }, page))
router.get('/firehose', (request) => request.upgradeToWebSocket())

// 'stream': a producer that listens. 'sent' means nothing was waiting; 'buffered' means the
// message queues behind bytes not yet sent (including messages this handler sent moments ago and
// the IO thread has not written yet), so it yields for a moment to let them go out; on
// 'dropped' the client is over maxBackpressure and it stops.
async function stream(ws) {
  const counts = { sent: 0, buffered: 0, dropped: 0 }
  for (let i = 0; i < STREAM; i++) {
    const status = ws.send(CHUNK)
    counts[status]++
    if (status === 'dropped') break
    if (status === 'buffered') await sleep(1)
  }
  const summary = `stream: ${counts.sent} sent, ${counts.buffered} buffered, ${counts.dropped} dropped`
  console.log(`ws ${ws.id} ${summary}`)
  // Say how it went once the client has caught up (a send over the limit would be dropped too).
  for (let tries = 0; tries < 100 && ws.isOpen && ws.send(summary) === 'dropped'; tries++) {
    await sleep(50)
  }
}

// 'flood': a producer that ignores the answers. Whatever goes over maxBackpressure is the
// server's to handle: 'drop' discards those messages (the connection stays), 'close' closes
// it with 1008.
function flood(ws) {
  const counts = { sent: 0, buffered: 0, dropped: 0 }
  for (let i = 0; i < FLOOD; i++) counts[ws.send(CHUNK)]++
  console.log(
    `ws ${ws.id} flood: ${counts.sent} sent, ${counts.buffered} buffered, ${counts.dropped} dropped`,
  )
}

async function websocketHandler(ws, event, message) {
  if (event !== 'message' || message.kind !== 'text') return
  if (message.data === 'stream') await stream(ws)
  else if (message.data === 'flood') flood(ws)
}

const server = createServer(router, {
  websocketHandler,
  workers: 4,
  maxBackpressure: 1024 * 1024, // unsent bytes per connection above which sends are refused
  backpressure: process.env.BACKPRESSURE === 'close' ? 'close' : 'drop',
})
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving on ${server.url}`)

// Server-Sent Events: a clock and a message board. Every page subscribes to 'board'; the IO
// thread publishes a tick each second; POST /say (in a worker) publishes a message.
// Run: node examples/sse.js, open http://localhost:8080, then: curl -d 'hello' localhost:8080/say
import { Router, createServer, publish } from '@mummy/server'

const page = `<!doctype html>
<title>sse</title>
<p>time: <b id="time">…</b></p>
<ul id="board"></ul>
<script>
  const events = new EventSource('/events')
  events.addEventListener('tick', (event) => (document.getElementById('time').textContent = event.data))
  events.onmessage = (event) => {
    const item = document.createElement('li')
    item.textContent = event.data
    document.getElementById('board').prepend(item)
  }
</script>
`

const router = new Router()
router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/html' }, page))
router.get('/events', (request) => {
  const stream = request.respondSSE()
  // A reconnecting browser says where it was (its last event id).
  stream.send({ data: `welcome (last event: ${stream.lastEventId ?? 'none'})` })
  stream.subscribe('board')
})
router.post('/say', (request) => {
  const text = request.text().trim()
  if (text === '' || text.length > 1000) {
    request.respond(400, { 'Content-Type': 'text/plain' }, 'send 1 to 1000 characters\n')
    return
  }
  // publish() reaches the topic's event streams (as message events) and WebSockets alike.
  publish('board', text)
  request.respond(202, { 'Content-Type': 'text/plain' }, 'published\n')
})

// Runs on a worker when a stream is over (the client left, or it was closed).
function sseHandler(stream, event) {
  console.log(`stream ${stream.id}: ${event}`)
}

const server = createServer(router, { workers: 4, sseHandler })
await server.listen(Number(process.env.PORT ?? 8080))

// After `await server.listen()`: the IO thread only (in a worker, listen() never resolves).
console.log(`Serving on ${server.url}`)
let tick = 0
setInterval(
  () => {
    tick++
    // A named event with an id; on the IO thread it says how many streams it reached.
    server.publishEvent('board', {
      event: 'tick',
      id: String(tick),
      data: new Date().toISOString(),
    })
  },
  Number(process.env.TICK_MS ?? 1000),
)

// A server-wide broadcast: clients subscribe to 'news'; a timer on the IO thread and POST /news (in a worker) publish to it.
// Run: node examples/broadcast.js, open http://localhost:8080, then: curl -d 'hello everyone' localhost:8080/news
import { Router, createServer, publish } from '@mummy/server'

const page = `<!doctype html>
<title>news</title>
<ul id="news"></ul>
<script>
  const ws = new WebSocket('ws://' + location.host + '/ws')
  ws.onmessage = (event) => {
    const item = document.createElement('li')
    item.textContent = event.data
    document.getElementById('news').prepend(item)
  }
</script>
`

const router = new Router()
router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/html' }, page))
router.get('/ws', (request) => {
  // Subscribing right away is fine: commands given before the handshake completes are queued.
  const ws = request.upgradeToWebSocket()
  ws.subscribe('news')
})
router.post('/news', (request) => {
  const text = request.text().trim()
  if (text === '' || text.length > 1000) {
    request.respond(400, { 'Content-Type': 'text/plain' }, 'send 1 to 1000 characters\n')
    return
  }
  // publish() works in any worker: the IO thread fans it out to every subscriber.
  publish('news', `news: ${text}`)
  request.respond(202, { 'Content-Type': 'text/plain' }, 'published\n')
})

const server = createServer(router, { workers: 4 })
await server.listen(Number(process.env.PORT ?? 8080))

// After `await server.listen()`: the IO thread only (in a worker, listen() never resolves).
console.log(`Serving on ${server.url}`)
let tick = 0
setInterval(
  () => {
    tick++
    // On the IO thread, server.publish also says how many subscribers it reached.
    const clients = server.publish('news', `tick ${tick} at ${new Date().toISOString()}`)
    if (clients > 0) console.log(`tick ${tick} went to ${clients} client(s)`)
  },
  Number(process.env.TICK_MS ?? 5000),
)

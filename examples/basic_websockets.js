// WebSockets: the seed's WebSocket example, line for line: a page that connects to /ws, a greeting, every event logged.
// Run: node examples/basic_websockets.js, then open http://localhost:8080 (messages you send are logged here)
import { Router, createServer } from '@mummy/server'

function indexHandler(request) {
  const headers = { 'Content-Type': 'text/html' }
  request.respond(
    200,
    headers,
    `
  <script>
    var ws = new WebSocket("ws://" + location.host + "/ws");
    ws.onmessage = function (event) {
      document.body.innerHTML = event.data;
    };
  </script>
  `,
  )
}

function upgradeHandler(request) {
  const websocket = request.upgradeToWebSocket()
  websocket.send('Hello world from WebSocket!')
}

function websocketHandler(websocket, event, message) {
  switch (event) {
    case 'open':
      break
    case 'message':
      console.log(`${message.kind}: ${message.data}`)
      break
    case 'error':
      break
    case 'close':
      break
  }
}

const router = new Router()
router.get('/', indexHandler)
router.get('/ws', upgradeHandler)

const server = createServer(router, { websocketHandler })
// This file is loaded again in every worker thread; print only once, on the IO thread.
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving on ${server.url}`)

// The same handlers on the uWebSockets.js transport: `transport: 'auto'` takes it where its
// native build loads (with @mummy/uws installed) and falls back to node:net elsewhere.
// Run: node examples/uws_transport.js
import { Router, createServer } from '@mummy/server'

const router = new Router()
router.get('/', (request) => {
  request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!')
})
router.get('/ws', (request) => request.upgradeToWebSocket())

function websocketHandler(ws, event, message) {
  if (event === 'message') ws.send(message.data)
}

const server = createServer(router, { websocketHandler, transport: 'auto' })
await server.listen(Number(process.env.PORT ?? 8080))
// (Past `await server.listen()` only the IO thread runs: in a worker listen() never resolves.)
console.log(`Serving on ${server.url} (${server.transport} transport)`)

// The same handlers on the uWebSockets.js transport: `transport: 'auto'` takes it where its
// native build loads and falls back to node:net elsewhere. Run: node examples/uws_transport.js
import { isMainThread } from 'node:worker_threads'
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
// (This file runs again in every worker: only the IO thread says where it listens.)
if (isMainThread)
  console.log(`Serving on http://localhost:${server.port} (${server.transport} transport)`)

// WebSocket benchmark server, @mummy: /echo echoes every message; /sub subscribes to "fan";
// POST-free fan-out: a client sending "pub:<payload>" publishes <payload> to "fan".
// WORKERS (default 2) worker threads run the handlers. PORT defaults to 9400. TRANSPORT=uws
// runs it on uWebSockets.js (exit code 78 where that does not load).
import { isMainThread } from 'node:worker_threads'
import { Router, createServer } from '@mummy/server'
import { listen, transport } from './lib/config.js'

const router = new Router()
router.get('/echo', (request) => void request.upgradeToWebSocket())
router.get('/sub', (request) => request.upgradeToWebSocket().subscribe('fan'))

function websocketHandler(ws, event, message) {
  if (event !== 'message') return
  if (message.kind === 'text' && message.data.startsWith('pub:'))
    ws.publish('fan', message.data.slice(4))
  else if (message.kind === 'text' || message.kind === 'binary') ws.send(message.data)
}

const server = createServer(router, {
  websocketHandler,
  workers: Number(process.env.WORKERS ?? 2),
  logHandler: () => {},
  maxBackpressure: 64 * 1024 * 1024,
  ...transport(),
})
await listen(server, Number(process.env.PORT ?? 9400), '127.0.0.1')
if (isMainThread) process.stdout.write(`ready ${server.port}\n`)

// SSE benchmark server, @mummy: GET /sse opens an event stream subscribed to "fan";
// GET /burst/<n> publishes n events ("data: <i>") to it from a worker and answers "ok".
// WORKERS (default 2) worker threads run the handlers. TRANSPORT=uws runs it on uWebSockets.js.
import { isMainThread } from 'node:worker_threads'
import { Router, createServer, publish } from '@mummy/server'
import { listen, transport } from './lib/config.js'

const router = new Router()
router.get('/sse', (request) => request.respondSSE().subscribe('fan'))
router.get('/burst/:n', (request) => {
  const n = Number(request.pathParams.n)
  for (let i = 0; i < n; i++) publish('fan', String(i))
  request.respond(200, { 'Content-Type': 'text/plain' }, 'ok')
})

const server = createServer(router, {
  workers: Number(process.env.WORKERS ?? 2),
  logHandler: () => {},
  maxBackpressure: 64 * 1024 * 1024,
  sseHeartbeat: 0,
  ...transport(),
})
await listen(server, Number(process.env.PORT ?? 9400), '127.0.0.1')
if (isMainThread) process.stdout.write(`ready ${server.port}\n`)

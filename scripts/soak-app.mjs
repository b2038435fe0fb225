// The app module of the soak test (scripts/soak.mjs), loaded in every worker: small routes for
// each kind of load (HTTP, WebSocket echo and broadcast, event streams, uploads) and /heap,
// which reports this worker's heap after a full GC. Stateless on purpose: whatever grows
// during a soak is the server's (or the load generator's), never the app's.
import fs from 'node:fs'
import { threadId } from 'node:worker_threads'
import { Router, publish, publishEvent } from '../packages/server/dist/index.js'

/** The topic every soak WebSocket subscribes to. */
export const WS_TOPIC = 'soak-ws'
/** The topic every soak event stream subscribes to. */
export const SSE_TOPIC = 'soak-sse'

const router = new Router()
const SLEEP = new Int32Array(new SharedArrayBuffer(4))

router.get('/hello/:n', (request) =>
  request.respond(200, { 'Content-Type': 'text/plain' }, `hello ${request.pathParams.n}`),
)
router.post('/echo', (request) =>
  request.respond(200, { 'Content-Type': 'application/json' }, request.body),
)

router.get('/heap', (request) => {
  // Full GC, then the heap of this worker's isolate; then block ~100 ms so that concurrent
  // /heap requests spread over every worker instead of queueing on one.
  globalThis.gc?.()
  const { heapUsed } = process.memoryUsage()
  Atomics.wait(SLEEP, 0, 0, Number(request.query.get('block') ?? 100))
  request.respond(
    200,
    { 'Content-Type': 'application/json' },
    JSON.stringify({ threadId, heapUsed, gc: typeof globalThis.gc === 'function' }),
  )
})

// Broadcast from a worker (the soak publishes every other tick from the IO thread instead).
router.get('/publish/:seq', (request) => {
  const seq = request.pathParams.seq
  publish(WS_TOPIC, `bcast:${seq}`)
  publishEvent(SSE_TOPIC, { event: 'tick', id: seq, data: `tick ${seq}` })
  request.respond(200, {}, 'published')
})

router.get('/ws', (request) => {
  // Subscribed before `ready` leaves: a client that saw `ready` gets every later broadcast.
  const ws = request.upgradeToWebSocket()
  ws.subscribe(WS_TOPIC)
  ws.send('ready')
})

router.get('/sse', (request) => {
  const stream = request.respondSSE()
  stream.subscribe(SSE_TOPIC)
  stream.send({ event: 'ready', data: String(stream.id) })
})

router.post('/upload', (request) => {
  // Sizes as seen on disk; the server deletes the files once this handler is done.
  const sizes = request.files.map((file) => fs.statSync(file.path).size)
  request.respond(
    200,
    { 'Content-Type': 'application/json' },
    JSON.stringify({ sizes, note: request.fields.get('note') }),
  )
})

/** Echoes every message (text or binary) to its sender. */
export function websocketHandler(ws, event, message) {
  if (event === 'message' && message !== undefined && message.kind !== 'close')
    ws.send(message.data, message.kind)
}

export default router

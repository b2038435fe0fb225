// Cross-instance fan-out benchmark server, @mummy: one of two (or more) instances sharing topics
// through the Redis at REDIS_URL (`pubsub: redisPubSub(...)` from @mummy/redis, as the root
// README's "Running more than one instance" shows). `GET /sub` is a WebSocket subscribed to the
// topic `fan`; `GET /pub` is a WebSocket whose every text message is published to `fan` by the
// websocketHandler, on a worker, with `publish(topic, data)` — what a chat app does with a
// message a client sends. The message reaches this instance's subscribers first, then goes to
// Redis once and from there to every other instance's subscribers.
// WORKERS (default 1: the handler costs nothing, and two instances share the machine's cores)
// worker threads run the handler. PORT defaults to 9500; TRANSPORT=uws runs it on
// uWebSockets.js (exit code 78 where that does not load). Prints `ready <port>` when listening.
import { isMainThread } from 'node:worker_threads'
import { redisPubSub } from '@mummy/redis'
import { Router, createServer, publish } from '@mummy/server'
import { listen, quietLog, transport, workers } from './lib/config.js'

const router = new Router()
router.get('/sub', (request) => request.upgradeToWebSocket().subscribe('fan'))
router.get('/pub', (request) => void request.upgradeToWebSocket())

function websocketHandler(ws, event, message) {
  if (event === 'message' && message.kind === 'text') publish('fan', message.data)
}

const server = createServer(router, {
  websocketHandler,
  workers: workers(1),
  pubsub: redisPubSub({ url: process.env.REDIS_URL }),
  logHandler: quietLog,
  maxBackpressure: 64 * 1024 * 1024,
  ...transport(),
})
await listen(server, Number(process.env.PORT ?? 9500), '127.0.0.1')
if (isMainThread) process.stdout.write(`ready ${server.port}\n`)

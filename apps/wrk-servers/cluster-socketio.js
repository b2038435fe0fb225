// Cross-instance fan-out benchmark server, Socket.IO 4 with @socket.io/redis-adapter (on ioredis)
// — the same shape as cluster-mummy.js, written the way Socket.IO's documentation does it: one of
// two (or more) instances on the Redis at REDIS_URL. A client connecting with `?role=sub` joins
// the room `fan`; a `pub` event from any client is emitted to the room with
// `io.to('fan').emit('m', data)`, which the adapter delivers here and publishes to Redis for the
// other instances. PORT defaults to 9500. Prints `ready <port>` when listening and connected.
import { once } from 'node:events'
import http from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'

const pubClient = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const subClient = pubClient.duplicate()
await Promise.all([once(pubClient, 'ready'), once(subClient, 'ready')])

const httpServer = http.createServer()
const io = new Server(httpServer, {
  adapter: createAdapter(pubClient, subClient),
  serveClient: false,
})
io.on('connection', (socket) => {
  if (socket.handshake.query.role === 'sub') socket.join('fan')
  socket.on('pub', (data) => io.to('fan').emit('m', data))
})
httpServer.listen(Number(process.env.PORT ?? 9500), '127.0.0.1', () =>
  process.stdout.write(`ready ${httpServer.address().port}\n`),
)

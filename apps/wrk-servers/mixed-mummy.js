// mixed on @mummy/server: GET / answers "abcdefghijklmnopqrstuvwxyz" at once; GET /heavy
// hashes 100 × the cpu scenario's work (~100 ms of CPU) and answers the digest.
// Workers: the server's default, 4 × cores (8 here), untuned. The load has at most 5 heavy
// requests in flight (see the runner), so a cheap request always finds a free worker; the heavy
// ones share the two cores through the OS scheduler instead of stalling the IO thread.
import { createServer } from '@mummy/server'
import { HOST, PORT, listen, quietLog, transport, workers } from './lib/config.js'

const server = createServer({
  app: new URL('./mixed-mummy.app.js', import.meta.url),
  workers: workers(undefined), // undefined → the default
  logHandler: quietLog,
  ...transport(),
})
await listen(server)
console.log(`@mummy/server listening on ${HOST}:${PORT} with ${server.workers} workers`)

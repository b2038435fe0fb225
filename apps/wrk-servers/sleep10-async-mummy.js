// sleep10-async on @mummy/server: every request awaits a 10 ms timer, then answers
// "abcdefghijklmnopqrstuvwxyz" — the second execution model: async handlers, several in
// flight per worker. Workers: 2 (one per core here), concurrency 64: 128 requests in flight,
// above wrk's 100 connections, so no request waits for a slot; a blocked slot costs nothing
// but a pending promise, unlike a blocked thread (sleep10: 100 workers).
import { createServer } from '@mummy/server'
import { HOST, PORT, listen, quietLog, transport, workers } from './lib/config.js'

const server = createServer({
  app: new URL('./sleep10-async-mummy.app.js', import.meta.url),
  workers: workers(2),
  concurrency: 64,
  logHandler: quietLog,
  ...transport(),
})
await listen(server)
console.log(`@mummy/server listening on ${HOST}:${PORT} with ${server.workers} workers × 64`)

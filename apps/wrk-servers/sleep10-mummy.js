// sleep10 on @mummy/server: every request blocks its worker thread for 10 ms (Atomics.wait), as
// Mummy's wrk_mummy does with sleep(10), then answers "abcdefghijklmnopqrstuvwxyz".
// Workers: 100, as Mummy used. A blocked worker serves nobody, so throughput is
// workers / 10 ms at most: wrk's 100 connections need 100 workers to keep every request moving
// (~10,000 req/s ceiling). More would sit idle; each costs ~10 MB of RSS.
import { createServer } from '@mummy/server'
import { HOST, PORT, listen, quietLog, transport, workers } from './lib/config.js'

const server = createServer({
  app: new URL('./sleep10-mummy.app.js', import.meta.url),
  workers: workers(100),
  logHandler: quietLog,
  ...transport(),
})
await listen(server)
console.log(`@mummy/server listening on ${HOST}:${PORT} with ${server.workers} workers`)

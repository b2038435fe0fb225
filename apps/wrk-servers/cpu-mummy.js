// cpu on @mummy/server: every request hashes 1,800 KiB with SHA-256 (~1 ms of CPU) and answers
// the hex digest. Workers: 2, one per core. CPU-bound handlers gain nothing from more threads
// than cores; the IO thread and wrk use the gaps.
import { createServer } from '@mummy/server'
import { HOST, PORT, listen, quietLog, transport, workers } from './lib/config.js'

const server = createServer({
  app: new URL('./cpu-mummy.app.js', import.meta.url),
  workers: workers(2),
  logHandler: quietLog,
  ...transport(),
})
await listen(server)
console.log(`@mummy/server listening on ${HOST}:${PORT} with ${server.workers} workers`)

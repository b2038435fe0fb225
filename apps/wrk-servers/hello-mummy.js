// hello on @mummy/server: GET / → 200 text/plain "abcdefghijklmnopqrstuvwxyz".
// Workers: 1. The handler costs next to nothing, so the work is the IO thread's (accept, parse,
// write) plus one hand-off per request; a second worker only adds threads competing for the two
// cores with the IO thread and wrk (measured 1 vs 2 on the 2-core machine: see the README's
// Performance section). WORKERS=0 answers inline on the IO thread (the no-pool baseline).
import { createServer } from '@mummy/server'
import { HOST, PORT, listen, quietLog, transport, workers } from './lib/config.js'

const server = createServer({
  app: new URL('./hello-mummy.app.js', import.meta.url),
  workers: workers(1),
  logHandler: quietLog,
  ...transport(),
})
await listen(server)
console.log(`@mummy/server listening on ${HOST}:${PORT} with ${server.workers} workers`)

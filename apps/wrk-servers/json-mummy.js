// json on @mummy/server: GET / → a ~10 KB JSON document, stringified per request and gzipped
// (level 6, fflate) by the server's built-in compression when the client accepts gzip.
// Workers: 2, one per core: stringify + gzip are CPU work done on the workers.
import { createServer } from '@mummy/server'
import { HOST, PORT, listen, quietLog, transport, workers } from './lib/config.js'
import { GZIP_LEVEL } from './lib/work.js'

const server = createServer({
  app: new URL('./json-mummy.app.js', import.meta.url),
  workers: workers(2),
  compression: { level: GZIP_LEVEL, encodings: ['gzip'] },
  logHandler: quietLog,
  ...transport(),
})
await listen(server)
console.log(`@mummy/server listening on ${HOST}:${PORT} with ${server.workers} workers`)

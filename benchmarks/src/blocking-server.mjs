// Server for blocking-latency.mjs: 4 workers, /slow blocks its worker 2 s, /fast answers at once.
import { createServer } from '@mummy/server'

const server = createServer({
  app: new URL('./blocking-app.mjs', import.meta.url),
  workers: 4,
  logHandler: () => {},
})
await server.listen(0, '127.0.0.1')
process.stdout.write(`${server.port}\n`)
process.on('SIGTERM', () => server.close().then(() => process.exit(0)))

// hello: GET / → 200 text/plain "abcdefghijklmnopqrstuvwxyz" through @mummy's worker pool.
// WORKERS=0 answers inline on the IO thread (the no-pool baseline). PORT defaults to 8080.
import { createServer } from '@mummy/server'

const BODY = 'abcdefghijklmnopqrstuvwxyz'
const HEADERS = { 'Content-Type': 'text/plain' }

const server = createServer((request) => request.respond(200, HEADERS, BODY), {
  workers: Number(process.env.WORKERS ?? 1),
  compression: false,
  logHandler: () => {},
})
await server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1')

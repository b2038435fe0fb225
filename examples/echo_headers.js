// Request headers are case-insensitive and multi-value; this echoes them back as JSON.
// Run: node examples/echo_headers.js, then: curl -H 'X-Demo: 1' http://localhost:8080/
import { Router, createServer } from '@mummy/server'

function echo(request) {
  const body = { method: request.method, uri: request.uri, headers: [...request.headers] }
  request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify(body, null, 2))
}

const router = new Router()
router.all('/', echo)
router.all('/**', echo)

await createServer(router).listen(Number(process.env.PORT ?? 8080))

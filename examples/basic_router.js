// A Router with one route: the seed's Router example, line for line.
// Run: node examples/basic_router.js, then open http://localhost:8080
import { Router, createServer } from '@mummy/server'

function indexHandler(request) {
  const headers = { 'Content-Type': 'text/plain' }
  request.respond(200, headers, 'Hello, World!')
}

const router = new Router()
router.get('/', indexHandler)

const server = createServer(router)
// This file is loaded again in every worker thread; print only once, on the IO thread.
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving on ${server.url}`)

// A plain handler function with a switch on request.uri: the seed's first HTTP example, line for line.
// Run: node examples/basic.js, then open http://localhost:8080
import { createServer } from '@mummy/server'

function handler(request) {
  switch (request.uri) {
    case '/':
      if (request.method === 'GET') {
        const headers = { 'Content-Type': 'text/plain' }
        request.respond(200, headers, 'Hello, World!')
      } else {
        request.respond(405)
      }
      break
    default:
      request.respond(404)
  }
}

const server = createServer(handler)
await server.listen(Number(process.env.PORT ?? 8080))

// Redirects: answer 301/302/303/307/308 with a Location header.
// Run: node examples/redirect.js, then open http://localhost:8080/old
import { Router, createServer } from '@mummy/server'

const router = new Router()
router.get('/old', (request) => request.respond(301, { Location: '/new' }))
router.get('/new', (request) =>
  request.respond(200, { 'Content-Type': 'text/plain' }, 'you made it\n'),
)

await createServer(router).listen(Number(process.env.PORT ?? 8080))

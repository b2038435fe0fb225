// Custom 404 (and 405) handlers on the Router.
// Run: node examples/custom_404.js, then open http://localhost:8080/nope
import { Router, createServer } from '@mummy/server'

const router = new Router()
router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'home\n'))
router.notFoundHandler = (request) => {
  request.respond(404, { 'Content-Type': 'text/html' }, `<h1>Nothing at ${request.path}</h1>`)
}
router.methodNotAllowedHandler = (request, allowed) => {
  request.respond(
    405,
    { Allow: allowed.join(', '), 'Content-Type': 'text/plain' },
    `use ${allowed.join(' or ')}\n`,
  )
}

await createServer(router).listen(Number(process.env.PORT ?? 8080))

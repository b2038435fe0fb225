// Query parameters: request.query is a URLSearchParams over the query string.
// Run: node examples/query_params.js, then open http://localhost:8080/search?q=mummy&page=2
import { Router, createServer } from '@mummy/server'

const router = new Router()
router.get('/search', (request) => {
  const q = request.query.get('q') ?? ''
  const page = Number(request.query.get('page') ?? '1')
  request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({ q, page }))
})

await createServer(router).listen(Number(process.env.PORT ?? 8080))

// Blocking is fine: /slow burns 200 ms of synchronous CPU on its worker while /fast keeps answering.
// Run: node examples/blocking.js; then curl localhost:8080/slow & curl localhost:8080/fast (fast answers at once)
import { Router, createServer } from '@mummy/server'

function busyWait(ms) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // synchronous work: nothing else runs on this thread meanwhile
  }
}

const router = new Router()
router.get('/slow', (request) => {
  // 200 ms, or ?ms=… (at most 5 s)
  busyWait(Math.min(5000, Number(request.query.get('ms') ?? 200) || 200))
  request.respond(200, { 'Content-Type': 'text/plain' }, 'slow done\n')
})
router.get('/fast', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'fast\n'))

await createServer(router, { workers: 4 }).listen(Number(process.env.PORT ?? 8080))

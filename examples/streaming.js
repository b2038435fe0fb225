// Streamed responses: the head at once, the body in pieces from the handler (or any worker).
// Run: node examples/streaming.js, then: curl -N localhost:8080/count   and   curl -o /dev/null localhost:8080/download/64
import { Router, createServer } from '@mummy/server'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const router = new Router()

// A line every `delay` ms (chunked: curl -N shows each as it comes).
router.get('/count', async (request) => {
  const n = Math.min(Number(request.query.get('n') ?? 5), 1000)
  const delay = Math.min(Number(request.query.get('delay') ?? 500), 10_000)
  const stream = request.respondStream(200, { 'Content-Type': 'text/plain; charset=utf-8' })
  for (let i = 1; i <= n; i++) {
    // 'dropped': the client went away; stop working for it.
    if (stream.write(`${i}\n`) === 'dropped') return
    await sleep(delay)
  }
  stream.end('done\n')
})

// N MiB generated on the fly, paced on the client: memory stays flat however slow it reads.
router.get('/download/:mb', async (request) => {
  const mb = Math.min(Number(request.pathParams.mb) || 1, 1024)
  const stream = request.respondStream(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': `attachment; filename="${mb}mib.bin"`,
  })
  const chunk = Buffer.alloc(64 * 1024, 'mummy ')
  for (let i = 0; i < mb * 16; i++) {
    if (stream.write(chunk) !== 'sent' && !(await stream.drained(256 * 1024))) return
  }
  stream.end()
})

const server = createServer(router, { workers: 4, concurrency: 16 })
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving on ${server.url}`)

// Static files: serveStatic maps the URL under a folder — never outside it (no `..`, no symbolic
// link leading out), never a dotfile (.git/config, .env) — and answers with respondFile:
// Content-Length, ETag and Last-Modified (browsers revalidate with a 304), byte ranges
// (downloads and video seeking resume), `.gz` siblings for clients that take gzip, media types
// from the maintained mime-types table, and index.html for folders.
// Run: node examples/static.js, then: curl -i localhost:8080/static/README.md
//      curl -r 0-99 localhost:8080/static/README.md       (the first 100 bytes: 206)
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Router, createServer, serveStatic } from '@mummy/server'

const ROOT = path.resolve(process.env.STATIC_DIR ?? fileURLToPath(new URL('..', import.meta.url)))

const router = new Router()
const files = serveStatic(ROOT, {
  prefix: '/static',
  headers: { 'Cache-Control': 'public, max-age=60' },
})
// `**` matches one or more segments: the folder's own URLs (its index) are routed too.
for (const route of ['/static', '/static/', '/static/**']) router.get(route, files)

const server = createServer(router, { workers: 4 })
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving ${ROOT} on ${server.url}/static/`)

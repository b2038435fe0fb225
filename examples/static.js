// Static files: request.respondFile streams a file from disk with Content-Length, ETag and
// Last-Modified (so browsers revalidate with a 304), byte ranges (so downloads and video
// seeking resume) and `.gz` siblings for clients that take gzip. The handler's job is to map
// the URL to a path safely: never let `..` or an absolute path out of the folder, and never
// serve a dotfile (.git/config, .env).
// Run: node examples/static.js, then: curl -i localhost:8080/static/README.md
//      curl -r 0-99 localhost:8080/static/README.md       (the first 100 bytes: 206)
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Router, createServer } from '@mummy/server'

const ROOT = path.resolve(process.env.STATIC_DIR ?? fileURLToPath(new URL('..', import.meta.url)))

const router = new Router()
router.get('/static/**', (request) => {
  // request.path is decoded; resolve it under ROOT and refuse anything that ends up outside.
  const rest = request.path.slice('/static'.length)
  const file = path.resolve(ROOT, `.${rest}`)
  // Dotfiles and dot-folders (.git, .env) are never served.
  if (!file.startsWith(ROOT + path.sep) || rest.split('/').some((part) => part.startsWith('.'))) {
    request.respond(404, { 'Content-Type': 'text/plain' }, 'Not Found\n')
    return
  }
  return request.respondFile(file, {
    precompressed: true,
    headers: { 'Cache-Control': 'public, max-age=60' },
  })
})

const server = createServer(router, { workers: 4 })
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving ${ROOT} on ${server.url}/static/`)

// Uploads: multipart/form-data bodies go straight to disk while they arrive; the handler gets
// the files' paths (and the form's fields) and decides what to keep.
// Run: node examples/uploads.js, then: curl -F title=notes -F file=@README.md localhost:8080/upload
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Router, createServer } from '@mummy/server'

const keep = process.env.UPLOADS_DIR ?? path.join(os.tmpdir(), 'mummy-example-uploads')
fs.mkdirSync(keep, { recursive: true })

const router = new Router()
router.get('/', (request) =>
  request.respond(
    200,
    { 'Content-Type': 'text/html' },
    `<form method="post" action="/upload" enctype="multipart/form-data">
       <input name="title" placeholder="title"> <input type="file" name="file" multiple>
       <button>Upload</button>
     </form>`,
  ),
)
router.post('/upload', (request) => {
  // Blocking is fine on a worker: move each file where it belongs (what is not moved is
  // deleted when this handler returns).
  const saved = request.files.map((file) => {
    const name = `${Date.now()}-${path.basename(file.filename) || 'upload'}`
    fs.renameSync(file.path, path.join(keep, name))
    return { name, size: file.size, type: file.contentType }
  })
  request.respond(
    200,
    { 'Content-Type': 'application/json' },
    JSON.stringify({ title: request.fields.get('title'), saved }),
  )
})

const server = createServer(router, {
  workers: 4,
  // Files up to 100 MiB, 10 parts per request; the folder the uploads land in first.
  uploads: { maxFileSize: 100 * 1024 * 1024, maxParts: 10 },
})
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving on ${server.url}; kept files go to ${keep}`)

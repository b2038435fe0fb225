// Resumable uploads with the tus 1.0 protocol (https://tus.io): any tus client (tus-js-client
// in a browser or in Node, Uppy, tusd's clients, …) uploads to /files; an interrupted upload
// resumes where the server's disk left off. The bytes go to disk on the IO thread as they
// arrive; this handler decides who may upload and moves each finished file.
// Run: node examples/tus.js, then point a tus client at http://localhost:8080/files, or by hand:
//   curl -i -X POST localhost:8080/files -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 5'
//   curl -i -X PATCH localhost:8080/files/<id> -H 'Tus-Resumable: 1.0.0' \
//     -H 'Upload-Offset: 0' -H 'Content-Type: application/offset+octet-stream' --data-binary hello
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Router, createServer } from '@mummy/server'

const keep = process.env.UPLOADS_DIR ?? path.join(os.tmpdir(), 'mummy-example-tus')
fs.mkdirSync(keep, { recursive: true })

// Browsers upload from other origins: the tus headers must be visible to them.
const cors = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, HEAD, PATCH, DELETE, OPTIONS',
  'Access-Control-Allow-Headers':
    'Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset, Content-Type',
  'Access-Control-Expose-Headers':
    'Location, Tus-Resumable, Upload-Offset, Upload-Length, Upload-Expires',
}

function files(request) {
  // Your checks first (a token, a quota, …): the upload is only created if the handler says so.
  if (
    process.env.UPLOAD_TOKEN &&
    request.headers.get('authorization') !== `Bearer ${process.env.UPLOAD_TOKEN}`
  ) {
    request.respond(401, cors, 'unauthorized')
    return
  }
  const upload = request.tus({ headers: cors })
  if (upload === null) return // created, resumed, asked about, or deleted: answered
  // Complete: keep it under its (sanitised) file name.
  const name = `${upload.id}-${path.basename(upload.metadata.filename ?? 'upload')}`
  fs.renameSync(upload.path, path.join(keep, name))
}

const router = new Router()
router.all('/files', files)
router.all('/files/**', files)

const server = createServer(router, {
  workers: 4,
  // Uploads up to 10 GiB; an unfinished one is removed after a day.
  uploads: { tus: { maxSize: 10 * 1024 ** 3, expires: 24 * 60 * 60 * 1000 } },
})
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`tus endpoint: ${server.url}/files; finished files go to ${keep}`)

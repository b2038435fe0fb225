// json on raw uWebSockets.js: GET / → a ~10 KB JSON document, stringified per request and
// gzipped (level 6) with node:zlib's async gzip when the client accepts gzip.
import zlib from 'node:zlib'
import { HOST, PORT } from './lib/config.js'
import uWS, { listen } from './lib/uws.js'
import { GZIP_LEVEL, acceptsGzip, makeDocument } from './lib/work.js'

const document = makeDocument()
const GZIP_OPTIONS = { level: GZIP_LEVEL }

const app = uWS.App().get('/', (res, req) => {
  const body = JSON.stringify(document)
  if (!acceptsGzip(req.getHeader('accept-encoding'))) {
    res.cork(() =>
      res
        .writeHeader('Content-Type', 'application/json')
        .writeHeader('Vary', 'Accept-Encoding')
        .end(body),
    )
    return
  }
  let aborted = false
  res.onAborted(() => (aborted = true))
  zlib.gzip(body, GZIP_OPTIONS, (error, gzipped) => {
    if (aborted) return
    res.cork(() => {
      if (error) return res.writeStatus('500 Internal Server Error').end()
      res
        .writeHeader('Content-Type', 'application/json')
        .writeHeader('Content-Encoding', 'gzip')
        .writeHeader('Vary', 'Accept-Encoding')
        .end(gzipped)
    })
  })
})
await listen(app, HOST, PORT)

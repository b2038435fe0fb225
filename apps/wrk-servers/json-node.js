// json on node:http: GET / → a ~10 KB JSON document, stringified per request and gzipped
// (level 6) with node:zlib's async gzip (libuv's thread pool) when the client accepts gzip.
import http from 'node:http'
import zlib from 'node:zlib'
import { HOST, PORT } from './lib/config.js'
import { GZIP_LEVEL, acceptsGzip, makeDocument } from './lib/work.js'

const document = makeDocument()
const GZIP_OPTIONS = { level: GZIP_LEVEL }

http
  .createServer((req, res) => {
    const body = JSON.stringify(document)
    if (!acceptsGzip(req.headers['accept-encoding'])) {
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        Vary: 'Accept-Encoding',
      })
      res.end(body)
      return
    }
    zlib.gzip(body, GZIP_OPTIONS, (error, gzipped) => {
      if (error) {
        res.writeHead(500)
        res.end()
        return
      }
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
        'Content-Length': gzipped.length,
        Vary: 'Accept-Encoding',
      })
      res.end(gzipped)
    })
  })
  .listen(PORT, HOST)

// mixed on node:http: GET / answers "abcdefghijklmnopqrstuvwxyz" at once; GET /heavy hashes
// ~100 ms of SHA-256 and answers the digest — on the one thread every request shares.
import http from 'node:http'
import { HOST, PORT } from './lib/config.js'
import { HEAVY_BLOCKS, HELLO_BODY, hashWork } from './lib/work.js'

http
  .createServer((req, res) => {
    const body = req.url === '/heavy' ? hashWork(HEAVY_BLOCKS) : HELLO_BODY
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length })
    res.end(body)
  })
  .listen(PORT, HOST)

// cpu on node:http: every request hashes 1,800 KiB with SHA-256 (~1 ms of CPU) and answers the
// hex digest.
import http from 'node:http'
import { HOST, PORT } from './lib/config.js'
import { CPU_BLOCKS, hashWork } from './lib/work.js'

http
  .createServer((req, res) => {
    const body = hashWork(CPU_BLOCKS)
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length })
    res.end(body)
  })
  .listen(PORT, HOST)

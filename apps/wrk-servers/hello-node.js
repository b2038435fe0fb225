// hello on node:http: GET / → 200 text/plain "abcdefghijklmnopqrstuvwxyz".
import http from 'node:http'
import { HOST, PORT } from './lib/config.js'
import { HELLO_BODY } from './lib/work.js'

const HEADERS = { 'Content-Type': 'text/plain', 'Content-Length': HELLO_BODY.length }

http
  .createServer((req, res) => {
    res.writeHead(200, HEADERS)
    res.end(HELLO_BODY)
  })
  .listen(PORT, HOST)

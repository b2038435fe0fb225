// sleep10 on node:http: every request waits 10 ms on an async timer (Mummy's wrk_node.js does
// the same), then answers "abcdefghijklmnopqrstuvwxyz". A single thread cannot block, so this is
// how a Node server simulates a 10 ms database call.
import http from 'node:http'
import { HOST, PORT } from './lib/config.js'
import { HELLO_BODY, SLEEP_MS } from './lib/work.js'

const HEADERS = { 'Content-Type': 'text/plain', 'Content-Length': HELLO_BODY.length }

http
  .createServer((req, res) => {
    setTimeout(() => {
      res.writeHead(200, HEADERS)
      res.end(HELLO_BODY)
    }, SLEEP_MS)
  })
  .listen(PORT, HOST)

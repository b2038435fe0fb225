// hello: GET / → 200 text/plain "abcdefghijklmnopqrstuvwxyz" with node:http. PORT defaults to 8080.
import http from 'node:http'

const BODY = 'abcdefghijklmnopqrstuvwxyz'
http
  .createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length })
    res.end(BODY)
  })
  .listen(Number(process.env.PORT ?? 8080), '127.0.0.1')

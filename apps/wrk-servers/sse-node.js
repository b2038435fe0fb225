// SSE benchmark server, node:http by hand: same paths and behaviour as sse-mummy.js.
import http from 'node:http'

const fan = new Set()
const server = http.createServer((req, res) => {
  if (req.url === '/sse') {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
    })
    res.write(':\n\n')
    fan.add(res)
    res.on('close', () => fan.delete(res))
    return
  }
  const m = /^\/burst\/(\d+)$/.exec(req.url ?? '')
  if (m === null) {
    res.writeHead(404).end()
    return
  }
  for (let i = 0, n = Number(m[1]); i < n; i++) {
    const event = `data: ${i}\n\n`
    for (const client of fan) client.write(event)
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok')
})
server.listen(Number(process.env.PORT ?? 9400), '127.0.0.1', () =>
  process.stdout.write(`ready ${server.address().port}\n`),
)

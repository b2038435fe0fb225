// WebSocket benchmark server, `ws` on node:http: same paths and behaviour as ws-mummy.js.
import http from 'node:http'
import { WebSocketServer } from 'ws'

const server = http.createServer((req, res) => res.writeHead(404).end())
const wss = new WebSocketServer({ server, perMessageDeflate: false })
const fan = new Set()
wss.on('connection', (ws, req) => {
  if (req.url === '/sub') {
    fan.add(ws)
    ws.on('close', () => fan.delete(ws))
  }
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString()
    if (text !== null && text.startsWith('pub:')) {
      const payload = text.slice(4)
      for (const client of fan) if (client !== ws) client.send(payload)
    } else {
      ws.send(isBinary ? data : text)
    }
  })
})
server.listen(Number(process.env.PORT ?? 9400), '127.0.0.1', () =>
  process.stdout.write(`ready ${server.address().port}\n`),
)

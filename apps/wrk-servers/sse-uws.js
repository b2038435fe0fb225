// SSE benchmark server, raw uWebSockets.js (native build; exits 78 where it does not load):
// same paths and behaviour as sse-mummy.js.
import uWS from './lib/uws.js'

const fan = new Set()
uWS
  .App()
  .get('/sse', (res) => {
    fan.add(res)
    res.onAborted(() => fan.delete(res))
    res.cork(() => {
      res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8')
      res.writeHeader('Cache-Control', 'no-cache')
      res.write(':\n\n')
    })
  })
  .get('/burst/:n', (res, req) => {
    const n = Number(req.getParameter(0))
    for (let i = 0; i < n; i++) {
      const event = `data: ${i}\n\n`
      for (const client of fan) client.cork(() => client.write(event))
    }
    res.writeHeader('Content-Type', 'text/plain').end('ok')
  })
  .listen('127.0.0.1', Number(process.env.PORT ?? 9400), (token) => {
    if (!token) process.exit(1)
    process.stdout.write(`ready ${uWS.us_socket_local_port(token)}\n`)
  })

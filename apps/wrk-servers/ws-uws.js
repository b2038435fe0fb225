// WebSocket benchmark server, raw uWebSockets.js (native build; exits 78 where it does not load):
// same paths and behaviour as ws-mummy.js.
import uWS from './lib/uws.js'

const decoder = new TextDecoder()
const behaviour = (subscribe) => ({
  compression: uWS.DISABLED,
  maxPayloadLength: 16 * 1024 * 1024,
  maxBackpressure: 64 * 1024 * 1024,
  open: (ws) => subscribe && ws.subscribe('fan'),
  message: (ws, message, isBinary) => {
    if (!isBinary) {
      const text = decoder.decode(message)
      if (text.startsWith('pub:')) app.publish('fan', text.slice(4), false)
      else ws.send(text, false)
    } else ws.send(message, true)
  },
})
const app = uWS.App()
app
  .ws('/echo', behaviour(false))
  .ws('/sub', behaviour(true))
  .listen('127.0.0.1', Number(process.env.PORT ?? 9400), (token) => {
    if (!token) process.exit(1)
    process.stdout.write(`ready ${uWS.us_socket_local_port(token)}\n`)
  })

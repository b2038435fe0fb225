// hello on raw uWebSockets.js: GET / → 200 text/plain "abcdefghijklmnopqrstuvwxyz".
import { HOST, PORT } from './lib/config.js'
import uWS, { listen } from './lib/uws.js'
import { HELLO_BODY } from './lib/work.js'

const app = uWS.App().get('/', (res) => {
  res.cork(() => res.writeHeader('Content-Type', 'text/plain').end(HELLO_BODY))
})
await listen(app, HOST, PORT)

// sleep10 on raw uWebSockets.js: every request waits 10 ms on an async timer, then answers
// "abcdefghijklmnopqrstuvwxyz" (uWS rules: answer inside cork, never after onAborted).
import { HOST, PORT } from './lib/config.js'
import uWS, { listen } from './lib/uws.js'
import { HELLO_BODY, SLEEP_MS } from './lib/work.js'

const app = uWS.App().get('/', (res) => {
  let aborted = false
  res.onAborted(() => (aborted = true))
  setTimeout(() => {
    if (aborted) return
    res.cork(() => res.writeHeader('Content-Type', 'text/plain').end(HELLO_BODY))
  }, SLEEP_MS)
})
await listen(app, HOST, PORT)

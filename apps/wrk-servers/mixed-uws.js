// mixed on raw uWebSockets.js: GET / answers "abcdefghijklmnopqrstuvwxyz" at once; GET /heavy
// hashes ~100 ms of SHA-256 and answers the digest.
import { HOST, PORT } from './lib/config.js'
import uWS, { listen } from './lib/uws.js'
import { HEAVY_BLOCKS, HELLO_BODY, hashWork } from './lib/work.js'

const app = uWS
  .App()
  .get('/', (res) => {
    res.cork(() => res.writeHeader('Content-Type', 'text/plain').end(HELLO_BODY))
  })
  .get('/heavy', (res) => {
    const body = hashWork(HEAVY_BLOCKS)
    res.cork(() => res.writeHeader('Content-Type', 'text/plain').end(body))
  })
await listen(app, HOST, PORT)

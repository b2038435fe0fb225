// cpu on raw uWebSockets.js: every request hashes 1,800 KiB with SHA-256 (~1 ms of CPU) and
// answers the hex digest.
import { HOST, PORT } from './lib/config.js'
import uWS, { listen } from './lib/uws.js'
import { CPU_BLOCKS, hashWork } from './lib/work.js'

const app = uWS.App().get('/', (res) => {
  const body = hashWork(CPU_BLOCKS)
  res.cork(() => res.writeHeader('Content-Type', 'text/plain').end(body))
})
await listen(app, HOST, PORT)

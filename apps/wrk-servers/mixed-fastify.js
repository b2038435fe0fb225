// mixed on Fastify: GET / answers "abcdefghijklmnopqrstuvwxyz" at once; GET /heavy hashes
// ~100 ms of SHA-256 and answers the digest.
import Fastify from 'fastify'
import { HOST, PORT } from './lib/config.js'
import { HEAVY_BLOCKS, HELLO_BODY, hashWork } from './lib/work.js'

const app = Fastify({ logger: false })
app.get('/', (request, reply) => {
  reply.header('Content-Type', 'text/plain').send(HELLO_BODY)
})
app.get('/heavy', (request, reply) => {
  reply.header('Content-Type', 'text/plain').send(hashWork(HEAVY_BLOCKS))
})
await app.listen({ host: HOST, port: PORT })

// cpu on Fastify: every request hashes 1,800 KiB with SHA-256 (~1 ms of CPU) and answers the
// hex digest.
import Fastify from 'fastify'
import { HOST, PORT } from './lib/config.js'
import { CPU_BLOCKS, hashWork } from './lib/work.js'

const app = Fastify({ logger: false })
app.get('/', (request, reply) => {
  reply.header('Content-Type', 'text/plain').send(hashWork(CPU_BLOCKS))
})
await app.listen({ host: HOST, port: PORT })

// hello on Fastify: GET / → 200 text/plain "abcdefghijklmnopqrstuvwxyz".
import Fastify from 'fastify'
import { HOST, PORT } from './lib/config.js'
import { HELLO_BODY } from './lib/work.js'

const app = Fastify({ logger: false })
app.get('/', (request, reply) => {
  reply.header('Content-Type', 'text/plain').send(HELLO_BODY)
})
await app.listen({ host: HOST, port: PORT })
